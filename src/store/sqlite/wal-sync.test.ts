// WalSync: many concurrent commits share few fsyncs; a commit made while an fsync runs waits for the next.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { SqlDriver } from '../sql/driver.ts';
import { gatedReads, openSqlite } from './driver.ts';
import { newSyncState, settleAll, WalSync } from './wal-sync.ts';

test('concurrent commits are covered by few fsyncs, each waiter only after one that started after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-wal-'));
  const file = join(dir, 'x.db-wal');
  writeFileSync(file, 'frames');
  try {
    const w = new WalSync(file);
    const seqs = Array.from({ length: 50 }, () => w.commit());
    await Promise.all(seqs.map((s) => w.durable(s)));
    assert.equal(w.syncs, 1, 'fifty commits made before the sync share it');
    // A commit made while a sync is in flight is not covered by it.
    const a = w.commit();
    const pa = w.durable(a);
    const b = w.commit();
    await Promise.all([pa, w.durable(b)]);
    assert.ok(w.syncs >= 2 && w.syncs <= 3);
    // Already durable: resolves at once without another sync.
    const before = w.syncs;
    await w.durable(a);
    assert.equal(w.syncs, before);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a missing WAL file means nothing is pending; other errors fail the waiters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-wal-'));
  try {
    const gone = new WalSync(join(dir, 'absent-wal'));
    await gone.durable(gone.commit());
    const bad = new WalSync(join(dir, 'no-such-dir', 'x-wal', 'deeper'));
    await bad.durable(bad.commit()); // ENOENT through a missing directory is also "nothing pending"
    const notDir = join(dir, 'file');
    writeFileSync(notDir, '');
    const broken = new WalSync(join(notDir, 'child-wal'));
    await assert.rejects(broken.durable(broken.commit()), /ENOTDIR/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A writer connection and a gated reader on one fresh file, sharing their counters (as the two threads do). */
async function withPair(
  fn: (p: { writer: SqlDriver; reader: SqlDriver; state: SharedArrayBuffer }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-wal-'));
  const path = join(dir, 'x.db');
  const state = newSyncState();
  const writer = openSqlite({ path, syncState: state });
  const reader = gatedReads(openSqlite({ path, readonly: true }), state);
  try {
    await fn({ writer, reader, state });
  } finally {
    await reader.close();
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a gated read (the store's mailbox reads) is held until every commit counted when it ended is synced", async () => {
  await withPair(async ({ writer, reader, state }) => {
    await writer.exec('CREATE TABLE t (v INTEGER)');
    await writer.run('INSERT INTO t VALUES (1)');
    // Nothing pending: the read answers at once.
    assert.deepEqual(await reader.get('SELECT count(*) AS n FROM t'), { n: 1 });
    // A commit counted by "the writer thread" whose fsync has not finished (the counters are shared memory;
    // here the test plays the writer): the read runs but its answer waits for the fsync.
    const counts = new BigInt64Array(state);
    const seq = Atomics.add(counts, 0, 1n) + 1n;
    let answered = false;
    const read = reader.get('SELECT count(*) AS n FROM t').then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(answered, false, 'the answer waits while a counted commit is not durable');
    Atomics.store(counts, 1, seq);
    Atomics.notify(counts, 1);
    assert.deepEqual(await read, { n: 1 });
    // A write through the driver counts itself and settles: later reads do not wait.
    await writer.run('INSERT INTO t VALUES (2)');
    assert.equal(Atomics.load(counts, 0), Atomics.load(counts, 1));
    assert.deepEqual(await reader.get('SELECT count(*) AS n FROM t'), { n: 2 });
  });
});

test('a transaction whose COMMIT fails is settled too: reads do not wait for it forever', async () => {
  await withPair(async ({ writer, reader, state }) => {
    await writer.exec(
      'CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p INTEGER REFERENCES p(id) DEFERRABLE INITIALLY DEFERRED)',
    );
    // A deferred foreign key is checked at COMMIT, which therefore throws after the commit was counted.
    await assert.rejects(
      writer.transaction(async (tx) => void (await tx.run('INSERT INTO c VALUES (42)'))),
      /FOREIGN KEY/,
    );
    const counts = new BigInt64Array(state);
    assert.deepEqual(await reader.get('SELECT count(*) AS n FROM c'), { n: 0 });
    assert.equal(Atomics.load(counts, 0), Atomics.load(counts, 1));
  });
});

test('settleAll (the writer thread died) lets a waiting read through', async () => {
  await withPair(async ({ writer, reader, state }) => {
    await writer.exec('CREATE TABLE t (v INTEGER)');
    Atomics.add(new BigInt64Array(state), 0, 1n); // counted, never synced
    let answered = false;
    const read = reader.get('SELECT count(*) AS n FROM t').then((r) => {
      answered = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(answered, false);
    settleAll(state);
    assert.deepEqual(await read, { n: 0 });
  });
});

// Atomics.waitAsync does not keep the event loop alive. A read waiting for the writer thread's fsync while
// nothing else does (a CLI command reading right after a write whose COMMIT failed: its error is answered
// before the fsync that settles it) ended the process, exit 13, instead of answering. The settling here
// comes from a timer that does not keep the process alive either, as the writer thread's would not.
test('a process whose only work is a gated read waiting for an fsync stays alive until it is answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-wal-exit-'));
  const script = `
    const { gatedReads, openSqlite } = await import(${JSON.stringify(new URL('./driver.ts', import.meta.url).href)});
    const { newSyncState, settleAll } = await import(${JSON.stringify(new URL('./wal-sync.ts', import.meta.url).href)});
    const path = process.argv[2];
    const state = newSyncState();
    const writer = openSqlite({ path, syncState: state });
    await writer.exec('CREATE TABLE t (v INTEGER)');
    const reader = gatedReads(openSqlite({ path, readonly: true }), state);
    Atomics.add(new BigInt64Array(state), 0, 1n); // a commit counted, its fsync still to come
    setTimeout(() => settleAll(state), 50).unref();
    console.log(JSON.stringify(await reader.get('SELECT count(*) AS n FROM t')));`;
  try {
    // A file, not --eval, as the store's own test does.
    writeFileSync(join(dir, 'read.mjs'), script);
    const r = await new Promise<{ code: number; out: string; err: string }>((done) =>
      execFile(process.execPath, [join(dir, 'read.mjs'), join(dir, 'x.db')], { timeout: 60000 }, (e, out, err) =>
        done({ code: e ? ((e as { code?: number }).code ?? -1) : 0, out, err }),
      ),
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), '{"n":0}');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
