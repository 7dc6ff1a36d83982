// The MTA-STS policy cache part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

export function mtaStsTests(withStore: WithStore): void {
  withStore(
    'mta-sts: one cached policy per domain, replaced by the next fetch, seen by another connection',
    async (s, f) => {
      assert.equal(await s.mtaSts.get('example.com'), null);
      const first = { domain: 'example.com', id: 'a1', policy: '{"mode":"enforce"}', fetchedAt: 1000, expiresAt: 2000 };
      await s.mtaSts.put(first);
      await s.mtaSts.put({ ...first, domain: 'example.org', id: 'o1' });
      await s.mtaSts.put({ ...first, id: 'a2', policy: '{"mode":"none"}', fetchedAt: 3000, expiresAt: 9000 });
      const s2 = await f.openSecond();
      try {
        assert.deepEqual(await s2.mtaSts.get('example.com'), {
          domain: 'example.com',
          id: 'a2',
          policy: '{"mode":"none"}',
          fetchedAt: 3000,
          expiresAt: 9000,
        });
        assert.equal((await s2.mtaSts.get('example.org'))?.id, 'o1');
      } finally {
        await s2.close();
      }
    },
  );
}
