// Runs the store conformance suite against SQLite files, through the store the server uses: writes on
// the writer thread, reads on a read-only connection here. A write method missing from the writer's list
// fails here, since the read-only connection refuses it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
