// Runs the store conformance suite against SQLite files, through the store the server uses: writes on
// the writer thread, reads on a read-only connection here. A write method missing from the writer's list
// fails here, since the read-only connection refuses it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isPetrelError } from '../../core/errors.ts';
import { runStoreSuite } from '../conformance/suite.ts';
import { openSqliteStore } from './store.ts';

runStoreSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sqlite-'));
  const path = join(dir, 'petrel.db');
  return {
    open: () => openSqliteStore({ path }),
    openSecond: () => openSqliteStore({ path }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

test('the database, its WAL and SHM are 0600 in a directory others may read, whatever the umask', async () => {
  const old = process.umask(0o022);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sqlite-mode-'));
  chmodSync(dir, 0o755); // as a package, systemd's StateDirectory= or a volume makes it
  try {
    // A new file, and one of ours left 0644 (by an older version, or copied in) with its WAL.
    writeFileSync(join(dir, 'old.db'), '');
    writeFileSync(join(dir, 'old.db-wal'), '');
    chmodSync(join(dir, 'old.db'), 0o644);
    chmodSync(join(dir, 'old.db-wal'), 0o644);
    const open: Record<string, string> = {};
    for (const name of ['new.db', 'old.db']) {
      const store = await openSqliteStore({ path: join(dir, name) });
      try {
        // Opening migrates the schema: a write, so the WAL and its index (SHM) exist now.
        for (const f of [name, `${name}-wal`, `${name}-shm`])
          open[f] = (statSync(join(dir, f)).mode & 0o777).toString(8);
      } finally {
        await store.close();
      }
    }
    assert.deepEqual(open, {
      'new.db': '600',
      'new.db-wal': '600',
      'new.db-shm': '600',
      'old.db': '600',
      'old.db-wal': '600',
      'old.db-shm': '600',
    });
  } finally {
    process.umask(old);
    rmSync(dir, { recursive: true, force: true });
  }
});

// The POP3 maildrop lock is given back by a write nobody waits for, often while the server closes the store
// (shutdown past its grace). The writer used to close without waiting for that write's fsync, so its answer
// was lost (the worker terminated) or came after 'closed'.
test('close() settles every write: one sent before it is answered (durably), one sent after it is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sqlite-close-'));
  const path = join(dir, 'petrel.db');
  try {
    for (let round = 0; round < 5; round++) {
      const store = await openSqliteStore({ path });
      assert.equal(await store.leases.acquire('pop3:1', 'node/a', 60_000, Date.now()), true);
      // Not awaited before close(), as the POP3 session's release is not.
      const inFlight = store.leases.release('pop3:1', 'node/a');
      const closed = store.close();
      const late = store.leases.acquire('pop3:2', 'node/a', 60_000, Date.now());
      const [sent, after] = await Promise.allSettled([inFlight, late]);
      await closed;
      assert.equal(
        sent.status,
        'fulfilled',
        `the write sent before close(): ${sent.status === 'rejected' ? sent.reason : ''}`,
      );
      assert.equal(after.status, 'rejected');
      assert.ok(isPetrelError(after.reason, 'UNAVAILABLE'), String(after.reason));
      // What the store answered before it closed is there when it opens again.
      const again = await openSqliteStore({ path });
      try {
        assert.equal(await again.leases.acquire('pop3:1', 'node/b', 60_000, Date.now()), true, 'released');
        assert.equal(await again.leases.acquire('pop3:2', 'node/b', 60_000, Date.now()), true, 'never taken');
        await again.leases.release('pop3:1', 'node/b');
        await again.leases.release('pop3:2', 'node/b');
      } finally {
        await again.close();
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// What made `petrel serve` exit 13 ("unsettled top-level await") at shutdown: the answer to a write in flight
// came while close() waited for the writer, and the main thread stopped holding the writer thread on it;
// with nothing else alive the process ended with close() unsettled. Only a process of its own shows that
// (the test runner keeps its own event loop alive).
test('a process whose only work is the store ends normally when it closes the store with a write in flight', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sqlite-exit-'));
  const script = `
    const { openSqliteStore } = await import(${JSON.stringify(new URL('./store.ts', import.meta.url).href)});
    const path = process.argv[2];
    for (let round = 0; round < 5; round++) {
      const store = await openSqliteStore({ path });
      await store.leases.acquire('pop3:1', 'node/a', 60000, Date.now());
      const inFlight = store.leases.release('pop3:1', 'node/a');
      await store.close();
      await inFlight;
    }
    console.log('closed five times');`;
  try {
    // A file, not --eval: the writer thread would inherit --input-type and fail to start.
    writeFileSync(join(dir, 'close.mjs'), script);
    const r = await new Promise<{ code: number; out: string; err: string }>((done) =>
      execFile(process.execPath, [join(dir, 'close.mjs'), join(dir, 'petrel.db')], { timeout: 60000 }, (e, out, err) =>
        done({ code: e ? ((e as { code?: number }).code ?? -1) : 0, out, err }),
      ),
    );
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.trim(), 'closed five times');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
