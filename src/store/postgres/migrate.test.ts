// Nodes starting together on an empty PostgreSQL schema (replicas of one deployment) all run the
// migrations at once: each must start, none fail on another's CREATE TABLE (PETREL_TEST_PG_URL).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { MIGRATIONS, migrate } from '../sql/migrations.ts';
import { openPostgres } from './driver.ts';

const url = pgTestUrl();

test('migrations run at once by eight nodes on an empty schema: all succeed, each version applied once', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  // "CREATE TABLE IF NOT EXISTS" is no lock: two sessions creating one table together collide in the
  // catalogue (pg_type_typname_nsp_index). A few rounds, each on a fresh schema.
  for (let round = 0; round < 4; round++) {
    const schema = await freshPgSchema(url!);
    const dbs = Array.from({ length: 8 }, () => openPostgres({ url: schema.url }));
    try {
      const results = await Promise.allSettled(dbs.map((db) => migrate(db)));
      const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason));
      assert.deepEqual(failed, [], `round ${round}`);
      const applied = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []));
      assert.deepEqual(
        applied.sort((a, b) => a - b),
        MIGRATIONS.map((m) => m.version).sort((a, b) => a - b),
        'each version applied by exactly one node',
      );
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
      await schema.drop();
    }
  }
});
