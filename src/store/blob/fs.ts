// Filesystem blob store: content-addressed files under DIR/ab/<sha256>, written durably.
import { createHash, randomBytes } from 'node:crypto';
import { close, createReadStream, open as openCb, read as readCb, readFile as readFileCb } from 'node:fs';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { PetrelError } from '../../core/errors.ts';
import type { BlobStore } from '../../core/ports.ts';
import { BatchReader } from './fs-reader.ts';
import { BlobWriterPool } from './fs-writer.ts';

const HASH = /^[0-9a-f]{64}$/;
/** What a delete with `touched` renames a blob to while it decides (see delete). */
const ASIDE = /^\.gc-([0-9a-f]{64})-[0-9a-f]+$/;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

// Reads use the callback API: fs/promises costs noticeably more main-thread time per small file, and
// POP3 RETR and IMAP FETCH read many small blobs.

function readWhole(file: string): Promise<Buffer> {
  return new Promise((resolve, reject) => readFileCb(file, (e, data) => (e ? reject(e) : resolve(data))));
}

/**
 * Reads a blob whose size is known in open/read/close (no stat); null when the file is not that size
 * (the caller then reads it whole), so a wrong hint never returns wrong bytes.
 */
function readKnown(file: string, size: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    openCb(file, 'r', (e, fd) => {
      if (e) return reject(e);
      // One octet more than expected: reading it means the file is longer than the hint.
      const buf = Buffer.allocUnsafe(size + 1);
      readCb(fd, buf, 0, size + 1, 0, (e2, n) => {
        close(fd, () => {});
        if (e2) reject(e2);
        else resolve(n === size ? buf.subarray(0, n) : null);
      });
    });
  });
}

/** Removes a file; false when it was not there. */
async function unlinked(file: string): Promise<boolean> {
  try {
    await unlink(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/**
 * Renames a blob set aside back to its name, durably (the directory fsynced, as after a put): a put that wrote
 * the same content there meanwhile is replaced by identical bytes.
 */
async function putBack(aside: string, file: string): Promise<void> {
  await rename(aside, file);
  const dir = await open(dirname(file), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

export function fsBlobStore(root: string): BlobStore {
  const batch = new BatchReader();
  const writers = new BlobWriterPool();
  const pathOf = (hash: string) => {
    if (!HASH.test(hash)) throw new PetrelError('INVALID_ARGUMENT', 'bad blob id');
    // One level of 256 directories: a new message rarely needs a new directory (and its fsyncs), and
    // ext4/xfs directory indexes keep lookups fast at millions of files.
    return join(root, hash.slice(0, 2), hash);
  };
  return {
    inlineMax: 0,
    async put(data) {
      const hash = sha256(data);
      // Temp file, fsync, rename, fsync of the directory, on a writer thread: never a torn blob.
      await writers.put(pathOf(hash), data);
      return { hash, size: data.length };
    },
    async getMany(items) {
      if (items.length === 0) return [];
      const read = await batch.read(
        items.map((it) => pathOf(it.hash)),
        items.map((it) => it.size ?? null),
      );
      return read.map((r) =>
        r instanceof Error && r.code === 'ENOENT' ? new PetrelError('NOT_FOUND', 'no such blob') : r,
      );
    },
    async get(hash, size) {
      const file = pathOf(hash);
      try {
        return (size !== undefined && (await readKnown(file, size))) || (await readWhole(file));
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
    async touchedAt(hash) {
      try {
        return (await stat(pathOf(hash))).mtimeMs;
      } catch {
        return null;
      }
    },
    async has(hash) {
      try {
        await stat(pathOf(hash));
        return true;
      } catch {
        return false;
      }
    },
    async delete(hash, touched) {
      const file = pathOf(hash);
      if (touched === undefined) return unlinked(file);
      // Garbage collection: a put of this content either refreshes the file's mtime (fs-writer.ts utimes) or,
      // finding no file, writes it anew. Renamed aside first, the file can no longer be reused: an mtime still
      // the one collection saw means no put reused it, before or after; a changed one means a delivery may
      // have (and committed since), so the file goes back. (Until it is back, a read of it would fail: that
      // takes a put between the collection's look at the file and this rename, and a commit before the rename
      // back, a few microseconds.)
      const aside = join(dirname(file), `.gc-${hash}-${randomBytes(6).toString('hex')}`);
      try {
        await rename(file, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      // (Gone: another node's run put it back meanwhile; it stays.)
      const st = await stat(aside).catch(() => null);
      if (st?.mtimeMs === touched) return unlinked(aside);
      if (st) await putBack(aside, file);
      return false;
    },
    async sweepTemporary(before) {
      // fs-writer.ts writes each blob as .tmp-* first and renames it; a kill in between leaves that file.
      let removed = 0;
      for (const a of await readdir(root).catch(() => [] as string[])) {
        if (a.length !== 2) continue;
        for (const f of await readdir(join(root, a)).catch(() => [] as string[])) {
          // A delete killed while the blob was set aside (see delete): back it goes, the next run decides again.
          const set = ASIDE.exec(f);
          if (set) {
            await putBack(join(root, a, f), pathOf(set[1])).catch(() => {});
            continue;
          }
          if (!f.startsWith('.tmp-')) continue;
          const file = join(root, a, f);
          try {
            if ((await stat(file)).mtimeMs >= before) continue;
            await unlink(file);
            removed++;
          } catch {
            // Renamed or removed meanwhile.
          }
        }
      }
      return removed;
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
        for (const f of await readdir(join(root, a)).catch(() => [] as string[])) if (HASH.test(f)) yield f;
      }
    },
  };
}
