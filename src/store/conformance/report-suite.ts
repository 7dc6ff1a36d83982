// The aggregate report sub-stores' part of the store conformance suite (DMARC and TLS reporting share one
// implementation over their own tables): every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

export function reportTests(withStore: WithStore): void {
  withStore(
    'reports: outcomes counted per period and policy domain; due, report, remove; DMARC and TLS apart',
    async (s) => {
      const day1 = { begin: 86_400, policyDomain: 'example.com' };
      const day1b = { begin: 86_400, policyDomain: 'example.org' };
      const day2 = { begin: 2 * 86_400, policyDomain: 'example.com' };
      await s.dmarc.add(day1, '{"p":"none"}', 'a', '{"ip":"192.0.2.1"}');
      await s.dmarc.add(day1, '{"p":"reject"}', 'a', '{"ip":"192.0.2.1"}');
      await s.dmarc.add(day1, '{"p":"reject"}', 'b', '{"ip":"192.0.2.2"}');
      await s.dmarc.add(day1, '{"p":"reject"}', 'a', '{"ip":"192.0.2.1"}');
      await s.dmarc.add(day1b, '{"p":"none"}', 'a', '{"ip":"192.0.2.9"}');
      await s.dmarc.add(day2, '{"p":"reject"}', 'a', '{"ip":"192.0.2.1"}');
      // Only periods that began before the cut-off, oldest first, bounded.
      assert.deepEqual(await s.dmarc.due(2 * 86_400, 10), [day1, day1b]);
      assert.deepEqual(await s.dmarc.due(2 * 86_400, 1), [day1]);
      assert.deepEqual(await s.dmarc.due(3 * 86_400, 10), [day1, day1b, day2]);
      // The last policy seen; the most frequent outcome first; the row limit holds.
      assert.deepEqual(await s.dmarc.report(day1, 10), {
        policy: '{"p":"reject"}',
        rows: [
          { record: '{"ip":"192.0.2.1"}', count: 3 },
          { record: '{"ip":"192.0.2.2"}', count: 1 },
        ],
      });
      assert.equal((await s.dmarc.report(day1, 1))?.rows.length, 1);
      assert.equal(await s.dmarc.report({ begin: 5, policyDomain: 'example.com' }, 10), null);
      // Removing one period leaves the others.
      await s.dmarc.remove(day1);
      assert.equal(await s.dmarc.report(day1, 10), null);
      assert.deepEqual(await s.dmarc.due(3 * 86_400, 10), [day1b, day2]);
      assert.equal((await s.dmarc.report(day2, 10))?.rows[0].count, 1);
      // The TLS reporting tables are their own.
      assert.deepEqual(await s.tlsReports.due(3 * 86_400, 10), []);
      await s.tlsReports.add(day1, '{}', 'ok', '{"ok":true}');
      await s.tlsReports.add(day1, '{}', 'ok', '{"ok":true}');
      assert.deepEqual(await s.tlsReports.report(day1, 10), {
        policy: '{}',
        rows: [{ record: '{"ok":true}', count: 2 }],
      });
      assert.deepEqual(await s.dmarc.due(3 * 86_400, 10), [day1b, day2]);
      await s.tlsReports.remove(day1);
      assert.deepEqual(await s.tlsReports.due(3 * 86_400, 10), []);
    },
  );
}
