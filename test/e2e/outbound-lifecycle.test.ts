// The queue across restarts, on SQLite and PostgreSQL: mail queued before a stop is delivered after the
// next start; a stop lets deliveries in flight finish within the grace period, or releases them for retry.
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
  return {
    port,
    boot,
    mta,
    open: () => openApp(config, silentLogger),
    async cleanup() {
      await dns.stop();
      await schema?.drop();
      rmSync(dataDir, { recursive: true, force: true });
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
