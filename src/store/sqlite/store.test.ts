// Runs the store conformance suite against SQLite files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreSuite } from '../conformance/suite.ts';
import { openSqlStore } from '../sql/store.ts';
import { openSqlite } from './driver.ts';

runStoreSuite('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sqlite-'));
  const path = join(dir, 'petrel.db');
  return {
    open: () => openSqlStore(openSqlite({ path })),
    openSecond: () => openSqlStore(openSqlite({ path })),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
