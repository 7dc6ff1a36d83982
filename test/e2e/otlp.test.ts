// OpenTelemetry export over OTLP/HTTP ([otlp]): a collector of the test's own on 127.0.0.1 receives the
// spans of real SMTP sessions (Python smtplib) and the pushed metrics, with the configured header and the
// service's resource attributes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { waitFor } from '../helpers/outbound.ts';
import { freePort, peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const python = peer('python3', 'python3');
const received: { path: string; headers: Record<string, unknown>; body: Record<string, unknown> }[] = [];
let collector: Server;
let srv: TestServer;

before(async () => {
  const port = await freePort();
  collector = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      let raw = Buffer.concat(parts);
      if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
      try {
        received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(raw.toString()) });
      } catch {
        received.push({ path: req.url ?? '', headers: req.headers, body: { unparsed: req.headers['content-type'] } });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(port, '127.0.0.1', r));
  srv = await startTestServer({
    configure(c) {
      c.server.hostname = 'mx.otlp.test';
      c.listeners.smtp.enabled = true;
      c.otlp.endpoint = `http://127.0.0.1:${port}/`;
      c.otlp.headers = ['X-Api-Key: collector-key-1'];
      c.otlp.interval = '300ms';
    },
    async beforeServe(app) {
      await app.directory.addDomain('otlp.test');
      await app.directory.addAccount('ann@otlp.test', 'ann-secret-pw');
    },
  });
});

after(async () => {
  await srv?.stop();
  await new Promise((r) => collector?.close(r));
});

type Attr = { key: string; value: { stringValue?: string } };
const attr = (attrs: Attr[] | undefined, key: string) => attrs?.find((a) => a.key === key)?.value.stringValue;

test('spans of SMTP sessions and the metrics reach the collector', { skip: python.skip }, async () => {
  const py = `import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.sendmail('someone@remote.test', ['ann@otlp.test'], b'From: someone@remote.test\\r\\nTo: ann@otlp.test\\r\\nSubject: hi\\r\\nMessage-ID: <o1@remote.test>\\r\\nDate: Sun, 6 Dec 2026 12:00:00 +0000\\r\\n\\r\\nhello\\r\\n')
s.quit()`;
  await promisify(execFile)(python.path!, ['-c', py, String(srv.ports.smtp)], { timeout: 30000 });
  type Spans = { resourceSpans: { resource: { attributes: Attr[] }; scopeSpans: { spans: { name: string }[] }[] }[] };
  const spanNames = () =>
    received
      .filter((r) => r.path === '/v1/traces')
      .flatMap((r) => (r.body as unknown as Spans).resourceSpans ?? [])
      .flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans.map((x) => x.name)));
  // The connection span ends at QUIT, after the others: it may come in a later export batch.
  const expected = ['smtp.data', 'smtp.connection', 'smtp.ehlo', 'smtp.mail', 'smtp.rcpt'];
  await waitFor(() => expected.every((n) => spanNames().includes(n)), 15000, 'the spans of the session').catch(
    () => {},
  );
  for (const n of expected) assert.ok(spanNames().includes(n), `${n} in ${spanNames().join(', ')}`);
  type Metrics = {
    resourceMetrics: { resource: { attributes: Attr[] }; scopeMetrics: { metrics: { name: string }[] }[] }[];
  };
  const metricNames = () =>
    received
      .filter((r) => r.path === '/v1/metrics')
      .flatMap((r) => (r.body as unknown as Metrics).resourceMetrics ?? [])
      .flatMap((rm) => rm.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)));
  await waitFor(() => metricNames().includes('petrel.deliveries'), 15000, 'pushed metrics');
  assert.ok(metricNames().includes('petrel.connections'));
  const first = received.find((r) => r.path === '/v1/traces')!;
  assert.equal(first.headers['x-api-key'], 'collector-key-1');
  const resource = (first.body as unknown as Spans).resourceSpans[0].resource.attributes;
  assert.equal(attr(resource, 'service.name'), 'petrel');
  assert.equal(attr(resource, 'host.name'), 'mx.otlp.test');
});
