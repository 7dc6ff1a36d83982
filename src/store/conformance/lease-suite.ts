// The leases sub-store part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

export function leaseTests(withStore: WithStore): void {
  withStore('leases: one owner at a time across two connections; renewal, expiry and release', async (s, f) => {
    const s2 = await f.openSecond();
    try {
      const now = 1_000_000;
      assert.equal(await s.leases.acquire('pop3:1', 'node-a', 60_000, now), true);
      // Another node is refused while the lease lives; the owner may take it again.
      assert.equal(await s2.leases.acquire('pop3:1', 'node-b', 60_000, now + 1000), false);
      assert.equal(await s.leases.acquire('pop3:1', 'node-a', 60_000, now + 1000), true);
      // Other names are independent.
      assert.equal(await s2.leases.acquire('pop3:2', 'node-b', 60_000, now), true);
      // Renewal keeps it past its first expiry; only the owner's names count.
      assert.equal(await s.leases.renew(['pop3:1', 'pop3:2'], 'node-a', 60_000, now + 50_000), 1);
      assert.equal(await s2.leases.acquire('pop3:1', 'node-b', 60_000, now + 70_000), false);
      // Unrenewed, it lapses (a crashed node) and the other node takes it over.
      assert.equal(await s2.leases.acquire('pop3:1', 'node-b', 60_000, now + 110_000), true);
      assert.equal(await s.leases.renew(['pop3:1'], 'node-a', 60_000, now + 110_001), 0);
      // Releasing someone else's lease does nothing; the owner's release frees it at once.
      await s.leases.release('pop3:1', 'node-a');
      assert.equal(await s.leases.acquire('pop3:1', 'node-a', 60_000, now + 110_002), false);
      await s2.leases.release('pop3:1', 'node-b');
      assert.equal(await s.leases.acquire('pop3:1', 'node-a', 60_000, now + 110_003), true);
      // Racing for a free name: exactly one wins.
      const wins = await Promise.all([
        s.leases.acquire('pop3:3', 'node-a', 60_000, now),
        s2.leases.acquire('pop3:3', 'node-b', 60_000, now),
      ]);
      assert.equal(wins.filter(Boolean).length, 1);
      // A node back from a crash takes its dead run's lease at once (same node id, another incarnation of the
      // same length); another node, or a node id that merely begins with it, does not.
      assert.equal(await s.leases.acquire('pop3:4', 'n1/aaaa', 60_000, now), true);
      assert.equal(await s2.leases.acquire('pop3:4', 'n1x/bbbb', 60_000, now, 'n1x/'), false);
      assert.equal(await s2.leases.acquire('pop3:4', 'n1/b/bbbb', 60_000, now, 'n1/b/'), false);
      assert.equal(await s2.leases.acquire('pop3:4', 'n1/bbbbb', 60_000, now, 'n1/'), false);
      assert.equal(await s2.leases.acquire('pop3:4', 'n1/bbbb', 60_000, now), false);
      assert.equal(await s2.leases.acquire('pop3:4', 'n1/bbbb', 60_000, now, 'n1/'), true);
      assert.equal(await s.leases.acquire('pop3:4', 'n1/aaaa', 60_000, now), false);
    } finally {
      await s2.close();
    }
  });
}
