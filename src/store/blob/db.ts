// Database blob store: raw messages in the blob_data table of the same SQL store (one backup, one place).
import { Readable } from 'node:stream';
import { PetrelError } from '../../core/errors.ts';
import type { BlobStore } from '../../core/ports.ts';
import type { SqlDriver } from '../sql/driver.ts';
import { UPSERT_BLOB_DATA } from '../sql/messages.ts';
import { sha256 } from './fs.ts';

export function dbBlobStore(db: SqlDriver): BlobStore {
  const get = async (hash: string): Promise<Buffer> => {
    const r = await db.get<{ data: Buffer | Uint8Array }>('SELECT data FROM blob_data WHERE hash = ?', [hash]);
    if (!r) throw new PetrelError('NOT_FOUND', 'no such blob');
    return Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
  };
  return {
    // Everything here is in the database already; there is nothing to inline.
    inlineMax: 0,
    async put(data) {
      const hash = sha256(data);
      // A committed INSERT is durable in both backends (synchronous=FULL / synchronous_commit). `touched` is
      // the blob's age for garbage collection (gc.ts), refreshed when the content is there already.
      await db.run(UPSERT_BLOB_DATA, [hash, data, Date.now()]);
      return { hash, size: data.length };
    },
    get,
    async getMany(items) {
      const found = new Map<string, Buffer>();
      const hashes = [...new Set(items.map((it) => it.hash))];
      for (let i = 0; i < hashes.length; i += 500) {
        const part = hashes.slice(i, i + 500);
        const rows = await db.all<{ hash: string; data: Buffer | Uint8Array }>(
          `SELECT hash, data FROM blob_data WHERE hash IN (${part.map(() => '?').join(',')})`,
          part,
        );
        for (const r of rows) found.set(r.hash, Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data));
      }
      return items.map((it) => found.get(it.hash) ?? new PetrelError('NOT_FOUND', 'no such blob'));
    },
    async stream(hash, start = 0, end?: number) {
      if (end === undefined) {
        const data = await get(hash);
        return Readable.from([data.subarray(start)]);
      }
      // A bounded range is read as that range (substr counts the octets of a BLOB and a bytea alike, from 1),
      // so POP3 TOP of a large message reads its header and first lines, not the message: PostgreSQL fetches
      // only the TOAST chunks the range covers. SQLite still pages through the whole value inside the engine
      // (better-sqlite3 has no incremental blob reads), but only the range crosses into the process.
      const r = await db.get<{ data: Buffer | Uint8Array | null }>(
        'SELECT substr(data, ?, ?) AS data FROM blob_data WHERE hash = ?',
        [start + 1, Math.max(0, end - start), hash],
      );
      if (!r) throw new PetrelError('NOT_FOUND', 'no such blob');
      const data = r.data === null ? Buffer.alloc(0) : Buffer.isBuffer(r.data) ? r.data : Buffer.from(r.data);
      return Readable.from(data.length ? [data] : []);
    },
    async has(hash) {
      return !!(await db.get('SELECT 1 AS one FROM blob_data WHERE hash = ?', [hash]));
    },
    async touchedAt(hash) {
      const r = await db.get<{ touched: number }>('SELECT touched FROM blob_data WHERE hash = ?', [hash]);
      return r ? Number(r.touched) : null;
    },
    async delete(hash, touched) {
      // With `touched`: only the row as garbage collection saw it (see UPSERT_BLOB_DATA, store/sql/messages.ts), in one statement.
      if (touched === undefined) return (await db.run('DELETE FROM blob_data WHERE hash = ?', [hash])) > 0;
      return (await db.run('DELETE FROM blob_data WHERE hash = ? AND touched = ?', [hash, touched])) > 0;
    },
    async *list() {
      // In pages, by key: a store of millions of messages is never listed into memory at once.
      let after = '';
      for (;;) {
        const rows = await db.all<{ hash: string }>(
          'SELECT hash FROM blob_data WHERE hash > ? ORDER BY hash LIMIT 1000',
          [after],
        );
        for (const r of rows) yield r.hash;
        if (rows.length < 1000) return;
        after = rows[rows.length - 1].hash;
      }
    },
  };
}
