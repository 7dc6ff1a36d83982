// Runs the store conformance suite against SQLite files, through the store the server uses: writes on
// the writer thread, reads on a read-only connection here. A write method missing from the writer's list
// fails here, since the read-only connection refuses it.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
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
