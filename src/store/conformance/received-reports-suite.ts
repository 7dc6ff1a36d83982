// The received-reports part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

export function receivedReportTests(withStore: WithStore): void {
  withStore('received reports: kept once per kind, org and id; listed newest first, filtered; pruned', async (s) => {
    const base = {
      kind: 'dmarc' as const,
      domain: 'example.com',
      org: 'google.com',
      reportId: 'r1',
      begin: 1000,
      end: 2000,
      receivedAt: 5000,
      summary: '{"records":[]}',
    };
    assert.equal(await s.receivedReports.add(base), true);
    assert.equal(await s.receivedReports.add({ ...base, summary: '{}' }), false, 'the same report again');
    assert.equal(await s.receivedReports.add({ ...base, org: 'yahoo.com', end: 3000 }), true);
    assert.equal(await s.receivedReports.add({ ...base, kind: 'tls', end: 2500, receivedAt: 9000 }), true);
    assert.equal(await s.receivedReports.add({ ...base, domain: 'example.org', reportId: 'r2', end: 100 }), true);
    const all = await s.receivedReports.list({ limit: 10 });
    assert.deepEqual(
      all.map((r) => [r.kind, r.org, r.domain, r.end]),
      [
        ['dmarc', 'yahoo.com', 'example.com', 3000],
        ['tls', 'google.com', 'example.com', 2500],
        ['dmarc', 'google.com', 'example.com', 2000],
        ['dmarc', 'google.com', 'example.org', 100],
      ],
    );
    assert.equal(all[2].summary, '{"records":[]}', 'the first copy kept');
    assert.deepEqual(
      (await s.receivedReports.list({ kind: 'dmarc', domain: 'example.com', limit: 10 })).map((r) => r.org),
      ['yahoo.com', 'google.com'],
    );
    assert.equal((await s.receivedReports.list({ limit: 1 })).length, 1);
    const one = await s.receivedReports.get(all[1].id);
    assert.deepEqual(one, all[1]);
    assert.equal(await s.receivedReports.get(999_999), null);
    assert.equal(await s.receivedReports.prune(6000), 3);
    assert.deepEqual(
      (await s.receivedReports.list({ limit: 10 })).map((r) => r.kind),
      ['tls'],
    );
  });
}
