// The queue across restarts, on SQLite and PostgreSQL: mail queued before a stop is delivered after the
// next start; a stop lets deliveries in flight finish within the grace period, or releases them for retry;
// after a SIGKILL the node takes back the work its dead run had leased; a second node leaves it alone.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { openApp } from '../../src/server/app.ts';
import { serve } from '../../src/server/serve.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, type FakeMtaOptions, startFakeMta } from '../helpers/fake-mta.ts';
import { waitFor } from '../helpers/outbound.ts';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { testConfig } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { outboundEnv, startPetrel, stopPetrel } from './petrel-process.ts';

const RAW = Buffer.from('From: alice@example.com\r\nSubject: across restarts\r\n\r\nstill here\r\n');

/** One data directory (and PostgreSQL schema) that several server lifetimes share. */
async function world(backend: 'sqlite' | 'postgres') {
  const dns: DnsServer = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  const dataDir = mkdtempSync(join(tmpdir(), 'petrel-restart-'));
  const schema = backend === 'postgres' ? await freshPgSchema(pgTestUrl()!) : null;
  const config: Config = testConfig(dataDir);
  for (const l of Object.values(config.listeners)) l.enabled = false;
  config.dns.nameservers = [dns.address];
  config.dns.timeout_ms = 500;
  config.queue.remote_port = port;
  config.queue.retry_schedule = ['500ms'];
  config.queue.poll_interval = '200ms';
  if (schema) {
    config.store.backend = 'postgres';
    config.store.postgres_url = schema.url;
  }
  const boot = async (graceMs = 2000) => {
    config.server.shutdown_grace_ms = graceMs;
    const app = await openApp(config, silentLogger);
    const server = await serve(app);
    return { app, server };
  };
  const mta = (o: Omit<FakeMtaOptions, 'host' | 'port'> = {}) => startFakeMta({ host: '127.0.0.2', port, ...o });
  const peerDirs: string[] = [];
  return {
    port,
    boot,
    /** Another node on the same PostgreSQL store, with a data directory (and so a node id) of its own. */
    async bootPeer() {
      const peer: Config = structuredClone(config);
      peer.server.data_dir = mkdtempSync(join(tmpdir(), 'petrel-peer-'));
      peerDirs.push(peer.server.data_dir);
      const app = await openApp(peer, silentLogger);
      return { app, server: await serve(app) };
    },
    mta,
    open: () => openApp(config, silentLogger),
    async cleanup() {
      await dns.stop();
      await schema?.drop();
      for (const d of [dataDir, ...peerDirs]) rmSync(d, { recursive: true, force: true });
    },
  };
}

for (const backend of ['sqlite', 'postgres'] as const) {
  const skip = backend === 'postgres' && !pgTestUrl() ? PG_SKIP_REASON : undefined;
  describe(`queue across restarts (${backend})`, { skip }, () => {
    test('queued, server stopped, started again: delivered', async () => {
      const w = await world(backend);
      try {
        // First life: nobody listens at the MX yet, so the attempt fails and the message stays queued.
        const one = await w.boot();
        await one.app.directory.addDomain('example.com');
        const id = await one.app.outbound.enqueue({
          from: 'alice@example.com',
          recipients: [{ address: 'bob@remote.test' }],
          raw: RAW,
        });
        await waitFor(async () => (await one.app.store.queue.get(id))?.recipients[0].attempts === 1, 5000, 'attempt 1');
        await one.server.stop();
        const mta = await w.mta();
        try {
          const two = await w.boot();
          try {
            const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 8000, 'delivery');
            assert.ok(m.data.equals(RAW));
            await waitFor(async () => (await two.app.store.queue.get(id)) === undefined, 5000, 'done');
          } finally {
            await two.server.stop();
          }
        } finally {
          await mta.stop();
        }
      } finally {
        await w.cleanup();
      }
    });

    test('stop during a slow delivery: past the grace period it is released, not counted, and sent later', async () => {
      const w = await world(backend);
      try {
        const slow = await w.mta({ dataDelayMs: 4000 });
        const one = await w.boot(300);
        const id = await one.app.outbound.enqueue({
          from: '',
          recipients: [{ address: 'bob@remote.test' }],
          raw: RAW,
        });
        await waitFor(() => slow.sessions[0]?.commands.includes('DATA'), 5000, 'DATA in flight');
        const t0 = Date.now();
        await one.server.stop();
        // Against the slow server's minutes, not a speed claim: a loaded machine may take seconds.
        assert.ok(Date.now() - t0 < 60_000, 'the stop did not wait for the slow server');
        await slow.stop();
        // Before the next start: the recipient is queued, unleased, and the cut attempt was not counted.
        const peek = await w.open();
        const r = (await peek.store.queue.get(id))!.recipients[0];
        await peek.close();
        assert.equal(r.status, 'queued');
        assert.equal(r.attempts, 0);
        assert.equal(r.leaseOwner, null);
        const fast = await w.mta();
        try {
          const again = await w.boot();
          try {
            const [m] = await waitFor(() => fast.received().length === 1 && fast.received(), 8000, 'delivery');
            assert.ok(m.data.equals(RAW));
          } finally {
            await again.server.stop();
          }
        } finally {
          await fast.stop();
        }
      } finally {
        await w.cleanup();
      }
    });

    test('stop while a server never greets: the stop does not wait for the five-minute timeout', async () => {
      const w = await world(backend);
      const silent = createServer(() => {});
      await new Promise<void>((r) => silent.listen(w.port, '127.0.0.2', () => r()));
      try {
        const one = await w.boot(300);
        const id = await one.app.outbound.enqueue({ from: '', recipients: [{ address: 'bob@remote.test' }], raw: RAW });
        await new Promise((r) => setTimeout(r, 300));
        const t0 = Date.now();
        await one.server.stop();
        // Against the five-minute greeting timeout, not a speed claim: a loaded machine may take seconds.
        assert.ok(Date.now() - t0 < 60_000, `stopped in ${Date.now() - t0} ms`);
        const peek = await w.open();
        const r = (await peek.store.queue.get(id))!.recipients[0];
        await peek.close();
        assert.deepEqual([r.status, r.attempts, r.leaseOwner], ['queued', 0, null]);
      } finally {
        silent.close();
        await w.cleanup();
      }
    });

    // Several nodes on one PostgreSQL: each data directory has its own node id, and a node starting takes
    // back only the leases of its own id, never those of a live peer (with the same host name here).
    if (backend === 'postgres')
      test("a second node starting leaves the first node's delivery in flight alone: one session, one copy", async () => {
        const w = await world(backend);
        const mta = await w.mta({ dataDelayMs: 3000 });
        try {
          const one = await w.boot();
          try {
            const id = await one.app.outbound.enqueue({
              from: '',
              recipients: [{ address: 'bob@remote.test' }],
              raw: RAW,
            });
            await waitFor(() => mta.sessions[0]?.commands.includes('DATA'), 5000, 'DATA in flight');
            const two = await w.bootPeer();
            try {
              await waitFor(async () => (await one.app.store.queue.get(id)) === undefined, 15000, 'the delivery');
              assert.equal(mta.sessions.length, 1, 'the second node sent the message again');
              assert.equal(mta.received().length, 1);
            } finally {
              await two.server.stop();
            }
          } finally {
            await one.server.stop();
          }
        } finally {
          await mta.stop();
          await w.cleanup();
        }
      });

    test('stop during a delivery that finishes within the grace period: recorded as sent', async () => {
      const w = await world(backend);
      try {
        const mta = await w.mta({ dataDelayMs: 400 });
        const one = await w.boot(5000);
        const id = await one.app.outbound.enqueue({ from: '', recipients: [{ address: 'bob@remote.test' }], raw: RAW });
        await waitFor(() => mta.sessions[0]?.commands.includes('DATA'), 5000, 'DATA in flight');
        await one.server.stop();
        assert.equal(mta.received().length, 1);
        const again = await w.boot();
        try {
          assert.equal(
            await again.app.store.queue.get(id),
            undefined,
            'the outcome was recorded before the stop ended',
          );
        } finally {
          await again.server.stop();
        }
        assert.equal(mta.received().length, 1, 'not sent twice');
        await mta.stop();
      } finally {
        await w.cleanup();
      }
    });
  });
}

// A node's lease owner is its node id (<data_dir>/node-id), the same after a restart: the leases of a
// killed run are released at start, so its mail goes out on the retry schedule, not after queue.lease.
test('SIGKILL with deliveries in flight: on restart the queued mail goes out on the retry schedule, not after queue.lease', {
  timeout: 120000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-queue-kill-'));
  const dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
  });
  const port = await commonPort(['127.0.0.2']);
  let accept = false;
  // Deferring at first: every message stays queued, and is leased again and again (1 s retries).
  const mta = await startFakeMta({
    host: '127.0.0.2',
    port,
    script: (c) => (!accept && c.startsWith('RCPT') ? '451 4.3.0 try later' : undefined),
  });
  const env = {
    ...outboundEnv({ dns: dns.address, port }),
    // queue.lease keeps its default (15m).
  };
  const N = 20;
  let p = await startPetrel(dir, env);
  try {
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    for (let i = 0; i < N; i++) {
      await c.expect(250, 'MAIL FROM:<load@client.test>');
      await c.expect(250, 'RCPT TO:<bob@remote.test>');
      await c.expect(354, 'DATA');
      await c.expect(250, `Subject: m${i}\r\nMessage-ID: <m${i}@client.test>\r\n\r\nbody ${i}\r\n.`);
    }
    c.close();
    await stopPetrel(p.child, 'SIGKILL');
    accept = true;
    p = await startPetrel(dir, env);
    // 30 s: thirty retry intervals, and a thirtieth of queue.lease.
    await waitFor(() => mta.received().length >= N, 30000, 'every acknowledged message').catch(() => {});
    const ids = new Set(mta.received().map((m) => /Message-ID: <([^>]+)>/.exec(m.data.toString())?.[1]));
    assert.equal(ids.size, N, `${N - ids.size} of ${N} messages are still leased by the killed run`);
  } finally {
    await stopPetrel(p.child, 'SIGKILL');
    await mta.stop();
    await dns.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
