// Filesystem blob store: content-addressed files under DIR/ab/cd/<sha256>, written durably.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { PetrelError } from '../../core/errors.ts';
import type { BlobStore } from '../../core/ports.ts';

const HASH = /^[0-9a-f]{64}$/;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** fsync a directory so a rename in it survives a crash. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export function fsBlobStore(root: string): BlobStore {
  const knownDirs = new Set<string>();
  const pathOf = (hash: string) => {
    if (!HASH.test(hash)) throw new PetrelError('INVALID_ARGUMENT', 'bad blob id');
    return join(root, hash.slice(0, 2), hash.slice(2, 4), hash);
  };
  const ensureDir = async (dir: string) => {
    if (knownDirs.has(dir)) return;
    // The new directory entries themselves must be durable before a file in them is acknowledged; mkdir
    // says which level it created first (undefined: both existed), and only those parents need a sync.
    const created = await mkdir(dir, { recursive: true });
    if (created === dir) await syncDir(join(dir, '..'));
    else if (created !== undefined) await Promise.all([syncDir(join(dir, '..')), syncDir(join(dir, '..', '..'))]);
    knownDirs.add(dir);
  };

  return {
    async put(data) {
      const hash = sha256(data);
      const file = pathOf(hash);
      const dir = join(file, '..');
      try {
        // Same content already stored: refresh its time so garbage collection's grace period restarts.
        const now = new Date();
        await utimes(file, now, now);
        return { hash, size: data.length };
      } catch {}
      await ensureDir(dir);
      // Write to a temporary name, fsync, rename into place, fsync the directory: never a torn blob.
      const tmp = join(dir, `.tmp-${hash.slice(0, 8)}-${randomBytes(6).toString('hex')}`);
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, file);
      await syncDir(dir);
      return { hash, size: data.length };
    },
    async get(hash) {
      try {
        return await readFile(pathOf(hash));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new PetrelError('NOT_FOUND', 'no such blob');
        throw e;
      }
    },
    async stream(hash, start = 0, end?: number): Promise<Readable> {
      const file = pathOf(hash);
      if (end !== undefined && end <= start) {
        const p = new PassThrough();
        p.end();
        return p;
      }
      try {
        await stat(file);
      } catch {
        throw new PetrelError('NOT_FOUND', 'no such blob');
      }
      return createReadStream(file, { start, end: end === undefined ? undefined : end - 1, highWaterMark: 64 * 1024 });
    },
    async has(hash) {
      try {
        await stat(pathOf(hash));
        return true;
      } catch {
        return false;
      }
    },
    async delete(hash) {
      try {
        await unlink(pathOf(hash));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    },
    async *list() {
      let tops: string[];
      try {
        tops = await readdir(root);
      } catch {
        return;
      }
      for (const a of tops) {
        if (a.length !== 2) continue;
        for (const b of await readdir(join(root, a)).catch(() => [] as string[]))
          for (const f of await readdir(join(root, a, b)).catch(() => [] as string[])) if (HASH.test(f)) yield f;
      }
    },
  };
}
