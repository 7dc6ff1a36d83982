// Blob garbage collection against a whole server: messages APPENDed and expunged over IMAP leave their
// content unreferenced; a collection removes it, and never the content of a message a client can still FETCH.
// Small messages live in the database (blobs.inline_max), large ones in files, or everything in the
// database (blobs.backend = database); SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import type { BlobStore } from '../../src/core/ports.ts';
import { collectBlobs } from '../../src/store/blob/gc.ts';
import type { RawImap } from '../helpers/imap-client.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

const HOUR = 3_600_000;
const pgUrl = pgTestUrl();
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
/** Over blobs.inline_max (128 KiB): a file with the fs backend. */
const big = (subject: string) => msg(subject, 'x'.repeat(998).concat('\r\n').repeat(200));

const setups: { name: string; backend: 'sqlite' | 'postgres'; blobs: 'fs' | 'database' }[] = [
  { name: 'SQLite, files and inline rows', backend: 'sqlite', blobs: 'fs' },
  { name: 'PostgreSQL, files and inline rows', backend: 'postgres', blobs: 'fs' },
  { name: 'SQLite, database blobs', backend: 'sqlite', blobs: 'database' },
  { name: 'PostgreSQL, database blobs', backend: 'postgres', blobs: 'database' },
];

async function fixture(s: (typeof setups)[number]): Promise<ImapFixture> {
  return imapFixture({
    backend: s.backend,
    pgUrl,
    configure: (c) => {
      c.blobs.backend = s.blobs;
    },
  });
}

/** APPENDs to INBOX (selected); the new message's UID. */
async function append(c: RawImap, message: string): Promise<number> {
  const r = await c.cmd(appendCmd('INBOX', message), 15000);
  const m = /APPENDUID \d+ (\d+)/.exec(r.tagged);
  assert.ok(m, r.tagged);
  return Number(m[1]);
}

async function expunge(c: RawImap, uid: number): Promise<void> {
  assert.match((await c.cmd(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`)).tagged, /OK/);
  assert.match((await c.cmd(`UID EXPUNGE ${uid}`)).tagged, /OK/);
}

async function fetchBody(c: RawImap, uid: number): Promise<string> {
  const r = await c.cmd(`UID FETCH ${uid} BODY.PEEK[]`, 15000);
  assert.match(r.tagged, /OK/, `${r.raw.slice(0, 300)}`);
  const m = /BODY\[\] \{\d+\}\r\n([\s\S]*)\)$/.exec(r.lines[0] ?? '');
  assert.ok(m, r.raw.slice(0, 300));
  return m[1];
}

for (const s of setups) {
  const skip = s.backend === 'postgres' && !pgUrl ? PG_SKIP_REASON : undefined;
  describe(`blob garbage collection: ${s.name}`, { skip }, () => {
    // What a first pass saw was kept in the memory of the process, and only a second pass an hour later removed
    // it: a server restarted more often than that never collected anything. A blob's age is stored with it.
    test("a process's first collection removes content unreferenced for longer than the grace", async () => {
      const f = await fixture(s);
      try {
        const c = await f.login();
        assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
        const keep = [msg('gc kept small'), big('gc kept large')];
        const gone = [msg('gc gone small'), big('gc gone large')];
        const kept = [];
        for (const m of keep) kept.push(await append(c, m));
        for (const m of gone) await expunge(c, await append(c, m));
        const { app } = f.srv;
        for (const m of gone) assert.equal(await app.blobs.has(sha(m)), true);
        // Within the grace period, nothing goes.
        assert.equal((await collectBlobs(app.db, app.blobs, { graceMs: HOUR })).removed, 0);
        // Two hours on, as a fresh process's first pass (the server restarted meanwhile).
        const r = await collectBlobs(app.db, app.blobs, { graceMs: HOUR, now: Date.now() + 2 * HOUR });
        assert.equal(r.removed, 2);
        for (const m of gone) assert.equal(await app.blobs.has(sha(m)), false);
        for (const [i, uid] of kept.entries()) assert.equal(await fetchBody(c, uid), keep[i]);
      } finally {
        await f.stop();
      }
    });

    // The collection found the content unreferenced and old, then deleted it in a later step; a client that
    // APPENDed the same bytes in between had its store reuse the blob (written once per SHA-256) and was told
    // OK, and then its message had no content: lost mail. Here the second APPEND runs at the last moment
    // there is, when the collection asks the blob store to delete.
    test('content APPENDed again while a collection is deleting it stays whole', async () => {
      const f = await fixture(s);
      try {
        const c = await f.login();
        assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
        const again = [msg('gc again small'), big('gc again large')];
        const other = msg('gc other');
        for (const m of [...again, other]) await expunge(c, await append(c, m));
        const { app } = f.srv;
        const uids = new Map<string, number>();
        const blobs: BlobStore = {
          ...app.blobs,
          async delete(hash, ...rest) {
            const m = again.find((x) => sha(x) === hash);
            if (m && !uids.has(m)) uids.set(m, await append(c, m));
            return app.blobs.delete(hash, ...rest);
          },
        };
        const r = await collectBlobs(app.db, blobs, { graceMs: HOUR, now: Date.now() + 2 * HOUR });
        assert.equal(uids.size, 2, 'both were appended again during the collection');
        for (const m of again) assert.equal(await fetchBody(c, uids.get(m)!), m);
        assert.equal(await app.blobs.has(sha(other)), false, 'the other garbage went');
        assert.equal(r.removed, 1);
        // And the next collection knows they are referenced.
        assert.equal((await collectBlobs(app.db, app.blobs, { graceMs: HOUR, now: Date.now() + 2 * HOUR })).removed, 0);
        for (const m of again) assert.equal(await fetchBody(c, uids.get(m)!), m);
      } finally {
        await f.stop();
      }
    });
  });
}

// The server's own collector: the same pass, by one node of a cluster at a time (the others find the lease taken).
test("the server's collector collects, and skips its run while another node holds the lease", async () => {
  const f = await fixture(setups[0]);
  try {
    const c = await f.login();
    assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
    const gone = msg('gc by the collector');
    await expunge(c, await append(c, gone));
    const { app } = f.srv;
    const later = Date.now() + 2 * HOUR;
    assert.ok(await app.store.leases.acquire('blob-gc', 'another node', 60_000, Date.now()));
    assert.equal(await app.blobGc.run(later), null);
    assert.equal(await app.blobs.has(sha(gone)), true);
    await app.store.leases.release('blob-gc', 'another node');
    assert.equal((await app.blobGc.run(later))?.removed, 1);
    assert.equal(await app.blobs.has(sha(gone)), false);
  } finally {
    await f.stop();
  }
});

// SQLite is read on the event loop (synchronously): a collection that looked blob after blob, two queries
// each, never gave the loop back, and on a store of millions held every connection of every protocol for
// the whole pass. It reads pages of blobs with one query each and lets the loop run between them.
test('a collection over many blobs lets an IMAP session be answered while it runs (SQLite)', async () => {
  const f = await fixture(setups[0]);
  try {
    const c = await f.login();
    const { app } = f.srv;
    const n = 30_000;
    // Stored just now (nothing for the collection to remove: it only looks at each).
    await app.db.run(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${n})
       INSERT INTO blob_data (hash, data, touched) SELECT printf('%064x', i), x'00', ? FROM n`,
      [Date.now()],
    );
    // A NOOP sent once the collection has started listing; how far it has listed when the NOOP is answered.
    let listed = 0;
    let noop: Promise<number> | null = null;
    const blobs: BlobStore = {
      ...app.blobs,
      async *list() {
        for await (const hash of app.blobs.list()) {
          if (listed++ === 0) noop = c.cmd('NOOP').then(() => listed);
          yield hash;
        }
      },
    };
    assert.deepEqual(await collectBlobs(app.db, blobs, { graceMs: HOUR }), { examined: n, removed: 0, temporary: 0 });
    assert.ok(noop, 'the collection listed');
    const at = await (noop as Promise<number>);
    assert.ok(at < n, `the NOOP waited for the collection to look at all ${n} blobs (answered at ${at})`);
  } finally {
    await f.stop();
  }
});
