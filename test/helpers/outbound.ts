// A whole Petrel pointed at a DNS server of the test's own, sending to SMTP servers on other loopback
// addresses (127.0.0.2, 127.0.0.3, ...) that all listen on one port, the configured queue.remote_port.

import assert from 'node:assert/strict';
import type { Writable } from 'node:stream';
import type { Config } from '../../src/config/schema.ts';
import type { OutboundMessage } from '../../src/core/ports.ts';
import type { App } from '../../src/server/app.ts';
import { type DnsServer, startDnsServer, type Zone } from './dns-server.ts';
import { commonPort, type FakeMta, type FakeMtaOptions, startFakeMta } from './fake-mta.ts';
import { startTestServer, type TestServer } from './server.ts';

export interface OutboundFixture {
  dns: DnsServer;
  /** The remote SMTP port every test MTA listens on. */
  port: number;
  server: TestServer;
  app: App;
  /** Starts a scripted MTA on host:port. */
  mta(host: string, opts?: Omit<FakeMtaOptions, 'host' | 'port'>): Promise<FakeMta>;
  /** Queues a message from alice@example.com (a local account) through app.outbound. */
  send(to: string[], extra?: Partial<OutboundMessage> & { subject?: string; body?: string }): Promise<string>;
  /** Raw messages in a local account's INBOX, oldest first. */
  inbox(address: string): Promise<string[]>;
  stop(): Promise<void>;
}

export function testMessage(to: string[], subject: string, body = 'Hello from Petrel.\r\n'): Buffer {
  return Buffer.from(
    'From: Alice <alice@example.com>\r\n' +
      `To: ${to.join(', ')}\r\n` +
      `Subject: ${subject}\r\n` +
      'Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n' +
      `Message-ID: <${subject.replace(/\W/g, '')}.${Math.random().toString(36).slice(2)}@example.com>\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n' +
      body,
  );
}

/** Polls until fn returns a truthy value or the time is up. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 10000,
  what = 'condition',
): Promise<Exclude<T, false | null | undefined | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as Exclude<T, false | null | undefined | 0 | ''>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * The first recorded attempt of a message's first recipient, which must have left it queued (deferred):
 * neither sent nor bounced. Polls up to `timeoutMs` (bounded by the test's own timeout too).
 */
export async function firstDeferral(f: OutboundFixture, id: string, timeoutMs = 60000) {
  const r = await waitFor(
    async () => {
      const e = await f.app.store.queue.get(id);
      return e === undefined ? 'gone' : e.recipients[0].attempts >= 1 && e.recipients[0];
    },
    timeoutMs,
    'the first attempt',
  );
  assert.notEqual(r, 'gone', 'recorded as done (sent or bounced) instead of deferred');
  if (r === 'gone') throw new Error('unreachable');
  assert.equal(r.status, 'queued');
  return r;
}

export async function startOutbound(
  opts: {
    zones?: Record<string, Zone>;
    /** Loopback addresses the test MTAs use (for picking a common port). */
    hosts?: string[];
    configure?: (c: Config) => void;
    backend?: 'sqlite' | 'postgres';
    pgUrl?: string;
    beforeServe?: (app: App) => Promise<void>;
    port?: number;
    /** Log here (JSON lines at info): for tests that read what the server logs. */
    logTo?: Writable;
  } = {},
): Promise<OutboundFixture> {
  const dns = await startDnsServer(opts.zones ?? {});
  const port = opts.port ?? (await commonPort(opts.hosts ?? ['127.0.0.2', '127.0.0.3']));
  const mtas: FakeMta[] = [];
  const server = await startTestServer({
    backend: opts.backend,
    pgUrl: opts.pgUrl,
    logTo: opts.logTo,
    configure(c) {
      c.dns.nameservers = [dns.address];
      c.dns.timeout_ms = 500;
      c.dns.tries = 2;
      c.queue.remote_port = port;
      c.queue.retry_schedule = ['1s'];
      c.queue.poll_interval = '200ms';
      c.queue.connect_timeout_ms = 2000;
      c.queue.command_timeout_ms = 5000;
      for (const l of Object.values(c.listeners)) l.enabled = false;
      opts.configure?.(c);
    },
    async beforeServe(app) {
      await app.directory.addDomain('example.com');
      await app.directory.addAccount('alice@example.com', 'secret-pw');
      await opts.beforeServe?.(app);
    },
  });
  const app = server.app;
  return {
    dns,
    port,
    server,
    app,
    async mta(host, o = {}) {
      const m = await startFakeMta({ host, port, ...o });
      mtas.push(m);
      return m;
    },
    send(to, extra = {}) {
      const { subject, body, ...rest } = extra;
      return app.outbound.enqueue({
        from: 'alice@example.com',
        recipients: to.map((address) => ({ address })),
        raw: testMessage(to, subject ?? 'test', body),
        ...rest,
      });
    },
    async inbox(address) {
      const acc = await app.store.getAccount(address);
      const mb = await app.store.getMailbox(acc!.id, 'INBOX');
      const msgs = await app.store.listMessages(mb!.id);
      return Promise.all(msgs.map(async (m) => (await (await app.mail.source(m)).read()).toString('utf8')));
    },
    async stop() {
      await server.stop();
      await Promise.all(mtas.map((m) => m.stop()));
      await dns.stop();
    },
  };
}

/** Waits for the first recorded attempt of a queued message; asserts it is still queued (deferred, not
 *  bounced) and returns its recipient's last reply and status. */
export async function deferredReply(f: OutboundFixture, id: string): Promise<{ reply: string; status: string }> {
  const e = await waitFor(
    async () => {
      const x = await f.app.store.queue.get(id);
      return x?.recipients[0].lastReply && x;
    },
    8000,
    'a recorded attempt',
  );
  if (e.recipients[0].status !== 'queued') throw new Error(`expected a deferral, got ${e.recipients[0].status}`);
  return { reply: e.recipients[0].lastReply ?? '', status: e.recipients[0].lastStatus ?? '' };
}

/** The TLS-report rows counted today for `domain`, as [policy-type, result-type or "ok"], sorted. */
export async function tlsReportRows(f: OutboundFixture, domain: string): Promise<string[][]> {
  const data = await f.app.store.tlsReports.report(
    { begin: f.app.queue.tlsReports.periodOf(Date.now()), policyDomain: domain },
    100,
  );
  return (data?.rows ?? [])
    .map((r) => JSON.parse(r.record))
    .map((r) => [r.policy.type, r.failure?.type ?? 'ok'])
    .sort();
}
