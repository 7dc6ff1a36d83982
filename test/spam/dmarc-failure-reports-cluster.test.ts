// DMARC failure reports from two Petrel nodes on one PostgreSQL database, as stateless replicas run: the
// hourly budget per policy domain and the one-report-per-source rule are counted in the store, so forged
// mail reaching either node spends one budget. Without that, each node would send its own reports.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { FakeMta } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { awayFromHourBoundary, message, send, startSpamWorld } from './fixture.ts';

const url = pgTestUrl();
const skip = url ? undefined : PG_SKIP_REASON;
let a: OutboundFixture;
let b: TestServer;
let owner: FakeMta;

before(async () => {
  if (skip) return;
  a = await startSpamWorld({
    backend: 'postgres',
    pgUrl: url,
    hosts: ['127.0.0.2'],
    zones: {
      'victim.test': {
        TXT: [['v=spf1 ip4:127.0.0.5 -all']],
        MX: [{ preference: 10, exchange: 'mx.victim.test' }],
      },
      'mx.victim.test': { A: ['127.0.0.2'] },
      '_dmarc.victim.test': { TXT: [['v=DMARC1; p=none; fo=1; ruf=mailto:forensic@victim.test']] },
    },
    configure(c) {
      c.spam.dmarc_failure_reports.enabled = true;
      c.spam.dmarc_failure_reports.from = 'dmarc-reports@example.com';
      c.spam.dmarc_failure_reports.max_per_hour = 2;
    },
  });
  owner = await a.mta('127.0.0.2');
  // The second node: the same database, DNS and settings, its own process state and queue.
  const first = a.app.config;
  b = await startTestServer({
    configure(c) {
      for (const [name, l] of Object.entries(c.listeners)) l.enabled = name === 'smtp';
      c.store.backend = 'postgres';
      c.store.postgres_url = first.store.postgres_url;
      c.dns = { ...first.dns };
      c.queue = { ...first.queue };
      c.spam = { ...first.spam };
    },
  });
});

after(async () => {
  await b?.stop();
  await a?.stop();
});

const forge = (node: { server: { ports: Record<string, number> } }, ip: string) =>
  send(node as OutboundFixture, {
    ip,
    helo: 'evil.example',
    from: 'x@other.example',
    raw: message('CEO <ceo@victim.test>', `forged from ${ip}`),
  });

test('two nodes share one failure-report budget and one report per source', { skip, timeout: 60000 }, async () => {
  await awayFromHourBoundary();
  const nodeB = { server: b };
  assert.ok((await forge(a, '127.0.0.9')).ok);
  await waitFor(() => owner.received().length >= 1, 15000, 'the first report');
  // The same source through the other node: reported already this hour.
  assert.ok((await forge(nodeB, '127.0.0.9')).ok);
  // A new source through the other node: the second and last report of the hour.
  assert.ok((await forge(nodeB, '127.0.0.10')).ok);
  await waitFor(() => owner.received().length >= 2, 15000, 'the second report, from node b');
  // A third source through the first node: the shared budget is spent.
  assert.ok((await forge(a, '127.0.0.11')).ok);
  await new Promise((r) => setTimeout(r, 1500));
  const sources = owner.received().map((m) => /^Source-IP: (\S+)/m.exec(m.data.toString('latin1'))?.[1]);
  assert.deepEqual(sources, ['127.0.0.9', '127.0.0.10']);
});
