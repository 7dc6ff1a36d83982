// WalSync: many concurrent commits share few fsyncs; a commit made while an fsync runs waits for the next.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { WalSync } from './wal-sync.ts';

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
