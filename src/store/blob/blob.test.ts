// Blob stores (filesystem, SQLite rows, PostgreSQL rows): content addressing, ranges, dedupe, deletion.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import type { BlobStore } from '../../core/ports.ts';
import { openPostgres } from '../postgres/driver.ts';
import { UPSERT_BLOB_DATA } from '../sql/messages.ts';
import { migrate } from '../sql/migrations.ts';
import { openSqlite } from '../sqlite/driver.ts';
import { dbBlobStore } from './db.ts';
import { fsBlobStore } from './fs.ts';

async function collect(s: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts);
}

function suite(name: string, make: () => Promise<{ blobs: BlobStore; done: () => Promise<void> }>, skip?: string) {
  describe(`blob store: ${name}`, () => {
    it('put returns the SHA-256; get, ranges, has, delete, list', { skip }, async () => {
      const { blobs, done } = await make();
      try {
        const data = Buffer.from('Subject: hi\r\n\r\nhello world\r\n');
        const { hash, size } = await blobs.put(data);
        assert.equal(hash, createHash('sha256').update(data).digest('hex'));
        assert.equal(size, data.length);
        assert.deepEqual(await blobs.get(hash), data);
        assert.deepEqual(await blobs.get(hash, data.length), data, 'with its size known');
        assert.deepEqual(await blobs.get(hash, data.length - 1), data, 'a wrong size hint still reads it all');
        assert.deepEqual(await blobs.get(hash, data.length + 5), data);
        const other = Buffer.alloc(70000, 'x');
        const h2 = (await blobs.put(other)).hash;
        const many = await blobs.getMany([
          { hash, size: data.length },
          { hash: h2 },
          { hash: 'f'.repeat(64) },
          { hash: h2, size: 3 },
        ]);
        assert.deepEqual(many.slice(0, 2), [data, other]);
        assert.ok(many[2] instanceof Error && /no such blob/.test(many[2].message), 'a missing blob is its own error');
        assert.deepEqual(many[3], other, 'a wrong size hint still reads it all');
        await blobs.delete(h2);
        assert.equal((await collect(await blobs.stream(hash, 15, 20))).toString(), 'hello');
        assert.equal((await collect(await blobs.stream(hash, 15))).toString(), 'hello world\r\n');
        assert.equal((await collect(await blobs.stream(hash, 5, 5))).length, 0);
        assert.equal(
          (await collect(await blobs.stream(hash, 21, 1000))).toString(),
          'world\r\n',
          'a range past the end',
        );
        assert.equal((await collect(await blobs.stream(hash, 1000, 2000))).length, 0);
        await assert.rejects(async () => collect(await blobs.stream('e'.repeat(64), 0, 10)), /no such blob/);
        assert.equal(await blobs.has(hash), true);
        assert.equal((await blobs.put(data)).hash, hash, 'storing the same content again is a no-op');
        const listed: string[] = [];
        for await (const h of blobs.list()) listed.push(h);
        assert.deepEqual(listed, [hash]);
        await blobs.delete(hash);
        assert.equal(await blobs.has(hash), false);
        await assert.rejects(blobs.get(hash), /no such blob/);
        await assert.rejects(blobs.get(hash, data.length), /no such blob/);
        await assert.rejects(blobs.get('../../etc/passwd'), /bad blob id|no such blob/);
      } finally {
        await done();
      }
    });
  });
}

suite('filesystem', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-blobs-'));
  return {
    blobs: fsBlobStore(dir),
    done: async () => {
      // No temporary files are left behind after a put.
      const stray = readdirSync(dir, { recursive: true }).filter((f) => String(f).includes('.tmp-'));
      assert.deepEqual(stray, []);
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

suite('sqlite rows', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-blobs-'));
  const db = openSqlite({ path: join(dir, 'b.db') });
  await migrate(db);
  return {
    blobs: dbBlobStore(db),
    done: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const url = pgTestUrl();
suite(
  'postgres rows',
  async () => {
    const schema = await freshPgSchema(url!);
    const db = openPostgres({ url: schema.url });
    await migrate(db);
    return {
      blobs: dbBlobStore(db),
      done: async () => {
        await db.close();
        await schema.drop();
      },
    };
  },
  url ? undefined : PG_SKIP_REASON,
);

// Garbage collection deletes a database blob only as it saw it (delete with `touched`). A delivery reusing the
// content refreshes the row in its own transaction: on PostgreSQL (read committed) the delete then waits for
// that transaction and, once it commits, finds the row changed and leaves it; with ON CONFLICT DO NOTHING it
// took no lock, and the delete removed content the delivery was about to commit a reference to.
it('postgres rows: a delete naming the time it saw waits for a delivery refreshing the row, and leaves it', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(url!);
  const db = openPostgres({ url: schema.url });
  try {
    await migrate(db);
    const blobs = dbBlobStore(db);
    const data = Buffer.from('Subject: again\r\n\r\nthe same bytes\r\n');
    const { hash } = await blobs.put(data);
    const seen = (await blobs.touchedAt(hash))!;
    let commit = () => {};
    let refreshed = () => {};
    const inFlight = new Promise<void>((r) => {
      refreshed = r;
    });
    const delivery = db.transaction(async (tx) => {
      await tx.run(UPSERT_BLOB_DATA, [hash, data, seen]);
      refreshed();
      await new Promise<void>((r) => {
        commit = r;
      });
    });
    await inFlight;
    const deleting = blobs.delete(hash, seen);
    // Committed only once the delete waits for the row: the interleaving is the one under test.
    for (let i = 0; ; i++) {
      const w = await db.get<{ n: number }>(
        "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM blob_data%'",
      );
      if (w?.n === 1) break;
      assert.ok(i < 500, 'the delete never waited for the row');
      await new Promise((r) => setTimeout(r, 10));
    }
    commit();
    await delivery;
    assert.equal(await deleting, false);
    assert.deepEqual(await blobs.get(hash), data);
    assert.notEqual(await blobs.touchedAt(hash), seen, 'a put of the same time still changes it');
    assert.equal(await blobs.delete(hash, (await blobs.touchedAt(hash))!), true);
  } finally {
    await db.close();
    await schema.drop();
  }
});
