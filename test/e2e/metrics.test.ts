// Prometheus metrics at /metrics ([metrics]): after real SMTP and IMAP traffic (Python smtplib and
// imaplib), curl reads the counters and histograms the protocol code records; without a token only
// clients on this host may read them, with one only a scraper that sends it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import type { Config } from '../../src/config/schema.ts';
import { metricsRoute } from '../../src/telemetry/export.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, type FakeMta, startFakeMta } from '../helpers/fake-mta.ts';
import { waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const curl = peer('curl', 'curl');
const python = peer('python3', 'python3');
const run = promisify(execFile);
let open: TestServer;
let guarded: TestServer | undefined; // stopped by the last test
let dns: DnsServer;
let mta: FakeMta;

before(async () => {
  // far.test's MX answers on no port: mail to it waits in the queue (the queue gauge); near.test's is a
  // fake MTA on 127.0.0.2 with STARTTLS (the outbound session counter).
  const port = await commonPort(['127.0.0.2', '127.0.0.9']);
  mta = await startFakeMta({ host: '127.0.0.2', port, tls: await selfSignedCert(['mx.near.test']) });
  dns = await startDnsServer({
    'far.test': { MX: [{ preference: 10, exchange: 'mx.far.test' }] },
    'mx.far.test': { A: ['127.0.0.9'] },
    'near.test': { MX: [{ preference: 10, exchange: 'mx.near.test' }] },
    'mx.near.test': { A: ['127.0.0.2'] },
  });
  const base = (c: Config) => {
    c.metrics.enabled = true;
    c.listeners.smtp.enabled = true;
    c.listeners.http.enabled = true;
  };
  open = await startTestServer({
    configure(c) {
      base(c);
      c.dns.nameservers = [dns.address];
      c.queue.remote_port = port;
    },
    async beforeServe(app) {
      await app.directory.addDomain('metrics.test');
      await app.directory.addAccount('ann@metrics.test', 'ann-secret-pw');
    },
  });
  guarded = await startTestServer({
    configure(c) {
      base(c);
      c.metrics.token = 'scrape-me-0123456789';
    },
  });
});
after(async () => {
  await open?.stop();
  await guarded?.stop();
  await dns?.stop();
  await mta?.stop();
});

/** curl's status line and body (asynchronous: the server runs in this process). */
async function get(port: number, headers: string[] = []): Promise<{ status: number; body: string }> {
  const args = [
    '-s',
    '-o',
    '-',
    '-w',
    '\n%{http_code}',
    ...headers.flatMap((h) => ['-H', h]),
    `http://127.0.0.1:${port}/metrics`,
  ];
  const out = (await run(curl.path!, args, { timeout: 20000 })).stdout;
  const i = out.lastIndexOf('\n');
  return { status: Number(out.slice(i + 1)), body: out.slice(0, i) };
}

/** The value of the first sample of `name` whose labels include every `labels` pair, or null. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const l = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return null;
}

test('traffic shows in the counters and histograms curl reads from /metrics', {
  skip: curl.skip ?? python.skip,
}, async () => {
  const py = `import smtplib, imaplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.sendmail('someone@remote.test', ['ann@metrics.test'], b'From: someone@remote.test\\r\\nTo: ann@metrics.test\\r\\nSubject: hi\\r\\nMessage-ID: <m1@remote.test>\\r\\nDate: Sun, 6 Dec 2026 12:00:00 +0000\\r\\n\\r\\nhello\\r\\n')
s.quit()
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[2]))
try:
    M.login('ann@metrics.test', 'wrong password')
except imaplib.IMAP4.error:
    pass
M.logout()`;
  await run(python.path!, ['-c', py, String(open.ports.smtp), String(open.ports.imap)], { timeout: 30000 });
  const r = await get(open.ports.http!);
  assert.equal(r.status, 200);
  assert.ok((sample(r.body, 'petrel_connections_total', { listener: 'smtp' }) ?? 0) >= 1, r.body.slice(0, 3000));
  assert.ok((sample(r.body, 'petrel_connections_total', { listener: 'imap' }) ?? 0) >= 1);
  assert.ok((sample(r.body, 'petrel_deliveries_total', { outcome: 'delivered' }) ?? 0) >= 1);
  assert.ok((sample(r.body, 'petrel_commands_total', { protocol: 'smtp', command: 'DATA' }) ?? 0) >= 1);
  assert.ok((sample(r.body, 'petrel_auth_attempts_total', { protocol: 'imap', outcome: 'failure' }) ?? 0) >= 1);
  // Latencies as histograms: a count per command, buckets for the scraper's quantiles.
  assert.ok((sample(r.body, 'petrel_command_duration_count', { command: 'EHLO' }) ?? 0) >= 1);
  assert.match(r.body, /^petrel_command_duration_bucket\{[^}]*le="\+Inf"\} \d+$/m);
  assert.match(r.body, /^# TYPE petrel_connections_total counter$/m);
});

test('outbound sessions are counted by TLS state, policy and result', { skip: curl.skip }, async () => {
  await open.app.outbound.enqueue({
    from: 'ann@metrics.test',
    recipients: [{ address: 'bob@near.test' }],
    raw: Buffer.from('From: ann@metrics.test\r\nTo: bob@near.test\r\nSubject: out\r\n\r\nhi\r\n'),
  });
  await waitFor(() => mta.received().length === 1, 10000, 'delivery to near.test');
  const r = await get(open.ports.http!);
  // A self-signed certificate no CA vouches for: encrypted, unverified; no MTA-STS or DANE policy.
  assert.equal(
    sample(r.body, 'petrel_outbound_sessions_total', { tls: 'unverified', policy: 'none', result: 'ok' }),
    1,
  );
});

test('a token makes /metrics answer only the scraper that sends it', { skip: curl.skip }, async () => {
  assert.equal((await get(guarded!.ports.http!)).status, 401);
  assert.equal((await get(guarded!.ports.http!, ['Authorization: Bearer wrong-token-0123456'])).status, 401);
  const ok = await get(guarded!.ports.http!, ['Authorization: Bearer scrape-me-0123456789']);
  assert.equal(ok.status, 200);
  assert.match(ok.body, /^# TYPE petrel_connections_total counter$/m);
});

test('without a token, a client that is not on this host is refused (403)', () => {
  let status = 0;
  const res = {
    writeHead(s: number) {
      status = s;
      return { end() {} };
    },
  } as unknown as ServerResponse;
  const req = (ip: string) =>
    ({ method: 'GET', headers: {}, socket: { remoteAddress: ip } }) as unknown as IncomingMessage;
  let served = 0;
  const route = metricsRoute('', () => served++);
  route(req('192.0.2.7'), res);
  assert.equal(status, 403);
  route(req('::ffff:127.0.0.1'), res);
  route(req('::1'), res);
  assert.equal(served, 2);
  // Behind a trusted proxy the forwarded client counts, and the socket must still be on this host: a client
  // that reaches the listener directly cannot name 127.0.0.1 itself.
  const proxied = metricsRoute('', () => served++, true);
  const fwd = (ip: string, xff: string) =>
    ({
      method: 'GET',
      headers: { 'x-forwarded-for': xff },
      socket: { remoteAddress: ip },
    }) as unknown as IncomingMessage;
  status = 0;
  proxied(fwd('127.0.0.1', '198.51.100.4'), res);
  assert.equal(status, 403);
  status = 0;
  proxied(fwd('192.0.2.7', '127.0.0.1'), res);
  assert.equal(status, 403);
  proxied(fwd('127.0.0.1', '::1'), res);
  assert.equal(served, 3);
});

test('behind a trusted reverse proxy, only clients the proxy names as on this host may read /metrics without a token', {
  skip: curl.skip,
}, async () => {
  // oauth.trust_proxy: a proxy on this host forwards every request, so each comes from 127.0.0.1.
  const proxied = await startTestServer({
    configure(c) {
      c.metrics.enabled = true;
      c.oauth.trust_proxy = true;
      c.listeners.http.enabled = true;
    },
  });
  try {
    const port = proxied.ports.http!;
    // What the proxy sends for a client on the internet (it appends the address it saw).
    assert.equal((await get(port, ['X-Forwarded-For: 203.0.113.9'])).status, 403);
    assert.equal((await get(port, ['X-Forwarded-For: 127.0.0.1, 203.0.113.9'])).status, 403);
    // A scraper on this host, through the proxy or straight to the listener.
    assert.equal((await get(port, ['X-Forwarded-For: 127.0.0.1'])).status, 200);
    assert.equal((await get(port)).status, 200);
  } finally {
    await proxied.stop();
  }
});

test('the queue gauge counts recipients waiting, new and deferred', { skip: curl.skip }, async () => {
  // One server per process in production; here the other's empty queue would report over this one's.
  await guarded?.stop();
  guarded = undefined;
  await open.app.outbound.enqueue({
    from: 'ann@metrics.test',
    recipients: [{ address: 'x@far.test' }, { address: 'y@far.test' }],
    raw: Buffer.from('From: ann@metrics.test\r\nTo: x@far.test\r\nSubject: waits\r\n\r\nhi\r\n'),
  });
  const deferred = await waitFor(
    async () => {
      const r = await get(open.ports.http!);
      return (sample(r.body, 'petrel_queue_recipients', { state: 'deferred' }) ?? 0) >= 2 && r.body;
    },
    10000,
    'two deferred recipients in the gauge',
  );
  assert.equal(sample(deferred, 'petrel_queue_recipients', { state: 'new' }), 0);
});
