// The default blob store: small messages live in the metadata database (written in the very transaction
// that references them, so one commit and one fsync make a delivery durable), large ones in files. Reads
// look in the database first, then in the files. Most mail is small: at 10 KB, a file costs two fsyncs and
// a thread hand-off per message, a row costs nothing extra.
import { isPetrelError } from '../../core/errors.ts';
import type { BlobStore } from '../../core/ports.ts';

export function tieredBlobStore(db: BlobStore, files: BlobStore, inlineMax: number): BlobStore {
  const inDbFirst = async <T>(_hash: string, fromDb: () => Promise<T>, fromFiles: () => Promise<T>): Promise<T> => {
    try {
      return await fromDb();
    } catch (e) {
      if (!isPetrelError(e, 'NOT_FOUND')) throw e;
      return fromFiles();
    }
  };
  return {
    inlineMax,
    put: (data) => (data.length <= inlineMax ? db.put(data) : files.put(data)),
    get: (hash, size) =>
      inDbFirst(
        hash,
        () => db.get(hash, size),
        () => files.get(hash, size),
      ),
    async getMany(items) {
      const fromDb = await db.getMany(items);
      const missing = items.filter((_, i) => fromDb[i] instanceof Error);
      const fromFiles = missing.length ? await files.getMany(missing) : [];
      let j = 0;
      return fromDb.map((r) => (r instanceof Error ? fromFiles[j++] : r));
    },
    stream: (hash, start, end) =>
      inDbFirst(
        hash,
        () => db.stream(hash, start, end),
        () => files.stream(hash, start, end),
      ),
    async has(hash) {
      return (await db.has(hash)) || (await files.has(hash));
    },
    async delete(hash, touched) {
      if (touched === undefined) {
        const inDb = await db.delete(hash);
        return (await files.delete(hash)) || inDb;
      }
      // The tier whose time touchedAt answered (the database first, as there); a time the other tier's
      // blob does not have never removes it.
      return (await db.touchedAt(hash)) !== null ? db.delete(hash, touched) : files.delete(hash, touched);
    },
    async *list() {
      yield* db.list();
      yield* files.list();
    },
    sweepTemporary: (before) => files.sweepTemporary?.(before) ?? Promise.resolve(0),
    async touchedAt(hash) {
      return (await db.touchedAt(hash)) ?? (await files.touchedAt(hash));
    },
  };
}
