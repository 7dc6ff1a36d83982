// Replicas of a deployment start together: three `petrel serve` processes started at once on an empty
// PostgreSQL schema (PETREL_TEST_PG_URL) all start, and the first start's domain and administrator are
// made once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openPostgres } from '../../src/store/postgres/driver.ts';
import { openSqlStore } from '../../src/store/sql/store.ts';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const url = pgTestUrl();

test('three nodes started at once on an empty database all start; one first domain and administrator', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  // Bounded: 3 rounds (the race is lost in most of them without the fix).
  for (let round = 0; round < 3; round++) {
    const schema = await freshPgSchema(url!);
    const dirs = [0, 1, 2].map(() => mkdtempSync(join(tmpdir(), 'petrel-start-')));
    const env = { PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: schema.url };
    const started = await Promise.allSettled(dirs.map((d) => startPetrel(d, env)));
    const running = started
      .filter((r) => r.status === 'fulfilled')
      .map((r) => (r as PromiseFulfilledResult<PetrelProcess>).value);
    try {
      const failed = started
        .filter((r) => r.status === 'rejected')
        .map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, []);
      const store = await openSqlStore(openPostgres({ url: schema.url }), { migrate: false });
      try {
        assert.deepEqual(
          (await store.listDomains()).map((d) => d.name),
          ['localhost'],
        );
        assert.ok(await store.getAccount('admin@localhost'));
      } finally {
        await store.close();
      }
    } finally {
      for (const p of running) await stopPetrel(p.child, 'SIGKILL');
      await schema.drop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }
});
