// The outbound queue of two `petrel serve` processes on one PostgreSQL (PETREL_TEST_PG_URL): both runners
// take work from the shared queue and each message reaches the remote server once; a node killed with
// messages leased leaves them to the other node once its leases expire. The remote is an SMTP server of
// the test's own on 127.0.0.2. queue.destination_concurrency holds for the cluster: two nodes together
// never open more sessions to one domain than it says.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { App } from '../../src/server/app.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, type FakeMta, startFakeMta } from '../helpers/fake-mta.ts';
import { testMessage, waitFor } from '../helpers/outbound.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { type Cluster, startCluster } from './cluster.ts';
import { stopPetrel } from './petrel-process.ts';

const url = pgTestUrl();
let dns: DnsServer;
let port: number;

before(async () => {
  if (!url) return;
  dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  port = await commonPort(['127.0.0.2']);
});
after(() => dns?.stop());

function cluster(n: number, env: Record<string, string> = {}): Promise<Cluster> {
  return startCluster(url!, n, {
    env: {
      PETREL_DNS_NAMESERVERS: dns.address,
      PETREL_QUEUE_REMOTE_PORT: String(port),
      PETREL_QUEUE_POLL_INTERVAL: '200ms',
      PETREL_QUEUE_LEASE: '3s',
      PETREL_QUEUE_RETRY_SCHEDULE: '500ms',
      ...env,
    },
    seed: (app) => app.directory.addDomain('example.com').then(() => {}),
  });
}

/** Queues n messages (from the test's own view of the store: no runner of its own). */
async function enqueue(app: App, n: number, tag: string): Promise<string[]> {
  const subjects: string[] = [];
  for (let i = 0; i < n; i++) {
    subjects.push(`${tag}-${i}`);
    await app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: `bob${i}@remote.test` }],
      raw: testMessage([`bob${i}@remote.test`], `${tag}-${i}`),
    });
  }
  return subjects;
}

const subjectsOf = (mta: FakeMta) => mta.received().map((m) => /^Subject: (.*)$/m.exec(m.data.toString())![1].trim());

describe('outbound queue on two nodes', { skip: url ? undefined : PG_SKIP_REASON }, () => {
  test('two runners on one queue: every message sent once', async () => {
    const cl = await cluster(2);
    const mta = await startFakeMta({ host: '127.0.0.2', port });
    try {
      const subjects = await enqueue(cl.app, 30, 'once');
      await waitFor(async () => (await cl.app.store.queue.list()).length === 0, 30000, 'an empty queue');
      assert.deepEqual(subjectsOf(mta).sort(), subjects.sort());
    } finally {
      await mta.stop();
      await cl.stop();
    }
  });

  test('a node killed with messages leased: the other node sends them once the leases expire', async () => {
    const cl = await cluster(1);
    // Holds every end of data: the first node's deliveries hang, leased, until it is killed.
    const slow = await startFakeMta({ host: '127.0.0.2', port, dataDelayMs: 15_000 });
    let mta: FakeMta | null = null;
    try {
      const subjects = await enqueue(cl.app, 4, 'killed');
      await waitFor(
        () => slow.sessions.filter((s) => s.commands.includes('DATA')).length >= 1,
        30000,
        'a delivery in flight',
      );
      const leased = await waitFor(async () => {
        const rows = await cl.app.store.queue.list();
        return rows.some((m) => m.recipients.some((r) => r.leaseOwner)) && rows;
      });
      assert.ok(leased.length === 4);
      await stopPetrel(cl.nodes[0].child, 'SIGKILL');
      await slow.stop();
      mta = await startFakeMta({ host: '127.0.0.2', port });
      await cl.add();
      await waitFor(
        async () => (await cl.app.store.queue.list()).length === 0,
        60000,
        'the queue sent by the second node',
      );
      assert.deepEqual(subjectsOf(mta).sort(), subjects.sort());
    } finally {
      await mta?.stop();
      await slow.stop().catch(() => {});
      await cl.stop();
    }
  });

  test('destination_concurrency=2 on two nodes: the remote never sees more than two sessions at once', async () => {
    const cl = await cluster(2, { PETREL_QUEUE_DESTINATION_CONCURRENCY: '2' });
    // Slow to take each message, so sessions stay open while more mail is queued.
    const mta = await startFakeMta({ host: '127.0.0.2', port, dataDelayMs: 400 });
    try {
      const subjects = await enqueue(cl.app, 12, 'first');
      // A node that has its two sessions open takes no more for remote.test: the second wave is left to
      // the other node, which must see the first node's sessions and wait for one of them to end.
      await waitFor(() => mta.maxOpen >= 2, 30000, 'two sessions open');
      subjects.push(...(await enqueue(cl.app, 12, 'second')));
      await waitFor(async () => (await cl.app.store.queue.list()).length === 0, 60000, 'an empty queue');
      assert.deepEqual(subjectsOf(mta).sort(), subjects.sort(), 'every message delivered exactly once');
      assert.ok(mta.maxOpen <= 2, `${mta.maxOpen} sessions to remote.test were open at once`);
    } finally {
      await mta.stop();
      await cl.stop();
    }
  });
});
