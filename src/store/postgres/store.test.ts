// Runs the store conformance suite against PostgreSQL (PETREL_TEST_PG_URL); fails if it is set but down.
// Then what is the PostgreSQL driver's own: a transaction that lost a deadlock runs again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { runStoreSuite } from '../conformance/suite.ts';
import { openSqlStore } from '../sql/store.ts';
import { openPostgres } from './driver.ts';

const url = pgTestUrl();
runStoreSuite(
  'postgres',
  async () => {
    const schema = await freshPgSchema(url!);
    return {
      open: () => openSqlStore(openPostgres({ url: schema.url })),
      openSecond: () => openSqlStore(openPostgres({ url: schema.url })),
      cleanup: () => schema.drop(),
    };
  },
  url ? undefined : PG_SKIP_REASON,
);

test('a transaction PostgreSQL aborts as a deadlock victim (40P01) is run again and commits', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(url!);
  const db = openPostgres({ url: schema.url });
  try {
    await db.exec('CREATE TABLE pair (id INT PRIMARY KEY, v INT NOT NULL)');
    await db.run('INSERT INTO pair (id, v) VALUES (1, 0), (2, 0)');
    // Two transactions lock the two rows in opposite orders, each waiting until the other holds its first.
    let holding = 0;
    let bothHold!: () => void;
    const both = new Promise<void>((r) => {
      bothHold = r;
    });
    const bump = (first: number, second: number) =>
      db.transaction(async (tx) => {
        await tx.run('UPDATE pair SET v = v + 1 WHERE id = ?', [first]);
        if (++holding === 2) bothHold();
        await both;
        await tx.run('UPDATE pair SET v = v + 1 WHERE id = ?', [second]);
      });
    await Promise.all([bump(1, 2), bump(2, 1)]);
    assert.deepEqual(
      (await db.all<{ v: number }>('SELECT v FROM pair ORDER BY id')).map((r) => r.v),
      [2, 2],
    );
  } finally {
    await db.close();
    await schema.drop();
  }
});
