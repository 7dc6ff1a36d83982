// The Bayes tables on both backends: counts and totals, idempotent learning by digest, relearning as the
// other class, unlearning, scopes kept apart. SQLite goes through the writer thread the server uses.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import type { Store } from '../../core/ports.ts';
import { openPostgres } from '../postgres/driver.ts';
import { openSqliteStore } from '../sqlite/store.ts';
import { openSqlStore } from './store.ts';

type Opened = { store: Store; cleanup: () => Promise<void> };

const backends: [string, () => Promise<Opened>, string | undefined][] = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'petrel-bayes-'));
      const store = await openSqliteStore({ path: join(dir, 'petrel.db') });
      return { store, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    undefined,
  ],
  [
    'postgres',
    async () => {
      const schema = await freshPgSchema(pgTestUrl()!);
      const store = await openSqlStore(openPostgres({ url: schema.url }));
      return { store, cleanup: () => schema.drop() };
    },
    pgTestUrl() ? undefined : PG_SKIP_REASON,
  ],
];

// Ids near 2^52 check that large hashes survive both drivers exactly.
const BIG = 2 ** 52 - 3;

for (const [name, open, skip] of backends) {
  describe(`bayes store (${name})`, { skip }, () => {
    test('learns, counts, stays idempotent, relearns and unlearns', async () => {
      const { store, cleanup } = await open();
      try {
        const b = store.bayes;
        assert.deepEqual(await b.totals(0), { spam: 0, ham: 0, version: 0 });
        const out = await b.learn(
          0,
          [
            { digest: 'm1', class: 'spam', tokens: [1, 2, BIG] },
            { digest: 'm2', class: 'spam', tokens: [2, 3] },
            { digest: 'm3', class: 'ham', tokens: [3, 4] },
            { digest: 'm1', class: 'spam', tokens: [1, 2, BIG] },
          ],
          1000,
        );
        assert.deepEqual(out, ['learned', 'learned', 'learned', 'unchanged']);
        assert.deepEqual(await b.totals(0), { spam: 2, ham: 1, version: 1 });
        const c = await b.counts(0, [1, 2, 3, 4, 5, BIG]);
        assert.deepEqual(c.get(2), { spam: 2, ham: 0 });
        assert.deepEqual(c.get(3), { spam: 1, ham: 1 });
        assert.deepEqual(c.get(BIG), { spam: 1, ham: 0 });
        assert.equal(c.has(5), false);
        assert.equal(await b.learnedAs(0, 'm1'), 'spam');

        // The same message again: nothing changes.
        assert.deepEqual(await b.learn(0, [{ digest: 'm2', class: 'spam', tokens: [2, 3] }], 2000), ['unchanged']);
        assert.equal((await b.totals(0)).version, 1, 'nothing changed, same version');
        assert.deepEqual((await b.counts(0, [2])).get(2), { spam: 2, ham: 0 });

        // Spam -> ham: the spam counts are taken back first.
        assert.deepEqual(await b.learn(0, [{ digest: 'm2', class: 'ham', tokens: [2, 3] }], 3000), ['relearned']);
        assert.deepEqual(await b.totals(0), { spam: 1, ham: 2, version: 2 });
        const c2 = await b.counts(0, [2, 3]);
        assert.deepEqual(c2.get(2), { spam: 1, ham: 1 });
        assert.deepEqual(c2.get(3), { spam: 0, ham: 2 });
        assert.equal(await b.learnedAs(0, 'm2'), 'ham');

        // Unlearning removes the counts, deletes emptied rows, forgets the digest.
        assert.equal(await b.unlearn(0, 'm3', [3, 4]), true);
        assert.equal(await b.unlearn(0, 'm3', [3, 4]), false);
        const c3 = await b.counts(0, [3, 4]);
        assert.deepEqual(c3.get(3), { spam: 0, ham: 1 });
        assert.equal(c3.has(4), false);
        assert.deepEqual(await b.totals(0), { spam: 1, ham: 1, version: 3 });
        assert.equal(await b.learnedAs(0, 'm3'), null);
      } finally {
        await store.close();
        await cleanup();
      }
    });

    test('expiry drops the least recently learned tokens, bumps the version, and unlearning still works', async () => {
      const { store, cleanup } = await open();
      try {
        const b = store.bayes;
        const DAY = 86_400_000;
        // Day 1: tokens 1-4; day 5: 3-6 (3 and 4 learned again); day 9: 7-8.
        await b.learn(0, [{ digest: 'old', class: 'spam', tokens: [1, 2, 3, 4] }], 1 * DAY);
        await b.learn(0, [{ digest: 'mid', class: 'ham', tokens: [3, 4, 5, 6] }], 5 * DAY + 10);
        await b.learn(0, [{ digest: 'new', class: 'spam', tokens: [7, 8] }], 9 * DAY);
        await b.learn(3, [{ digest: 'other', class: 'spam', tokens: [1, 2] }], 1 * DAY);
        const before = (await b.totals(0)).version;
        assert.equal(await b.expire(0, 100), 0, 'under the limit: nothing');
        assert.equal((await b.totals(0)).version, before);
        // 8 tokens, keep 6: the two learned only on day 1 (1 and 2) go.
        assert.equal(await b.expire(0, 6), 2);
        const left = await b.counts(0, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert.deepEqual([...left.keys()].sort(), [3, 4, 5, 6, 7, 8]);
        assert.deepEqual(left.get(3), { spam: 1, ham: 1 });
        assert.equal((await b.totals(0)).version, before + 1, 'caches must see the change');
        assert.deepEqual(await b.totals(0), { spam: 2, ham: 1, version: before + 1 }, 'message totals stay');
        // Other scopes are untouched.
        assert.equal((await b.counts(3, [1, 2])).size, 2);
        // Unlearning a message whose tokens partly expired: the rest is taken back, nothing goes negative.
        assert.equal(await b.unlearn(0, 'old', [1, 2, 3, 4]), true);
        const after = await b.counts(0, [1, 2, 3, 4]);
        assert.deepEqual([...after.keys()].sort(), [3, 4]);
        assert.deepEqual(after.get(3), { spam: 0, ham: 1 });
        // One day over the limit on its own: its tokens seen once go, those seen twice stay.
        await b.learn(5, [{ digest: 'a', class: 'spam', tokens: [1, 2, 3] }], 2 * DAY);
        await b.learn(5, [{ digest: 'b', class: 'ham', tokens: [3, 4] }], 2 * DAY);
        assert.equal(await b.expire(5, 2), 3);
        assert.deepEqual([...(await b.counts(5, [1, 2, 3, 4])).keys()], [3]);
      } finally {
        await store.close();
        await cleanup();
      }
    });

    test('scopes are separate tables', async () => {
      const { store, cleanup } = await open();
      try {
        const b = store.bayes;
        await b.learn(7, [{ digest: 'x', class: 'spam', tokens: [10, 11] }], 1);
        await b.learn(0, [{ digest: 'x', class: 'ham', tokens: [10] }], 1);
        assert.deepEqual(await b.totals(7), { spam: 1, ham: 0, version: 1 });
        assert.deepEqual(await b.totals(0), { spam: 0, ham: 1, version: 1 });
        assert.deepEqual((await b.counts(7, [10])).get(10), { spam: 1, ham: 0 });
        assert.deepEqual((await b.counts(0, [10])).get(10), { spam: 0, ham: 1 });
        assert.equal(await b.learnedAs(8, 'x'), null);
        // A big batch crosses the statement chunk size.
        const tokens = Array.from({ length: 1234 }, (_, i) => 1000 + i);
        await b.learn(0, [{ digest: 'big', class: 'spam', tokens }], 2);
        assert.equal((await b.counts(0, tokens)).size, 1234);
      } finally {
        await store.close();
        await cleanup();
      }
    });
  });
}
