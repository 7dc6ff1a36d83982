// MTA-STS on the way out (RFC 8461) and SMTP TLS reporting (RFC 8460): recipient domains publish "_mta-sts" TXT records in the test's own DNS
// and serve policy files from an HTTPS server of the test's own (127.0.0.4, a certificate for
// mta-sts.<domain> from a CA the queue trusts via queue.tls_ca); their MX hosts are fake MTAs on 127.0.0.2
// and 127.0.0.3. Under "enforce" mail goes only to policy MX hosts with verified STARTTLS, else it waits.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Config } from '../../src/config/schema.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { type OutboundFixture, startOutbound, waitFor } from '../helpers/outbound.ts';
import { freePort } from '../helpers/peers.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

type Answer = { status?: number; type?: string; body: string; location?: string };

/** Domains whose policy is built to make a backtracking parser stall the event loop. */
const HOSTILE = Array.from({ length: 10 }, (_, i) => `hostile${i}`);

let trusted: { cert: string; key: string };
let untrusted: { cert: string; key: string };
/** What the queue trusts (queue.tls_ca): the MX hosts' CA and the policy server's. */
let caBundle: string;
let web: Server;
let webPort: number;
/** Host header -> what the policy server answers; absent: 404. */
const answers = new Map<string, Answer>();
const fetched: string[] = [];
const posts: { url: string; type: string; body: Buffer }[] = [];
/** TLS-RPT POSTs the endpoint answers 503 to (and does not keep), before it takes them again. */
let refusePosts = 0;

const policy = (mode: string, mx: string[], maxAge = 86400) =>
  `version: STSv1\r\nmode: ${mode}\r\n${mx.map((m) => `mx: ${m}\r\n`).join('')}max_age: ${maxAge}\r\n`;

before(async () => {
  // One certificate names every host a test connects to; the "untrusted" one is from a CA nobody trusts.
  const names = ['mx1.sts.test', 'mx2.sts.test', '*.sts.test', 'mta-sts.sts.test'];
  for (const d of ['testing', 'cached', 'redirect', 'html', 'wrongname', 'scope', 'rpt', 'rptweb', ...HOSTILE])
    names.push(`mta-sts.${d}.test`, `mx1.${d}.test`);
  trusted = await selfSignedCert(names);
  untrusted = await selfSignedCert(names);
  // The policy server's certificate names no "mta-sts.wrongname.test".
  // (Its own subject name: two CAs with one subject would be confused by the verifier.)
  const webCert = await selfSignedCert(['policy-server.test', ...names.filter((n) => n !== 'mta-sts.wrongname.test')]);
  caBundle = `${trusted.cert.trim()}\n${webCert.cert.trim()}\n`;
  webPort = await freePort('127.0.0.4');
  web = createServer({ cert: webCert.cert, key: webCert.key }, (req, res) => {
    const host = String(req.headers.host ?? '');
    if (req.method === 'POST') {
      // A TLS-RPT HTTPS endpoint (RFC 8460 section 5.4).
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        if (refusePosts > 0) {
          refusePosts--;
          res.writeHead(503).end();
          return;
        }
        posts.push({ url: `${host}${req.url}`, type: String(req.headers['content-type']), body: Buffer.concat(parts) });
        res.writeHead(201).end();
      });
      return;
    }
    fetched.push(`${host}${req.url}`);
    const a = req.url === '/.well-known/mta-sts.txt' ? answers.get(host) : undefined;
    if (!a) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(a.status ?? 200, {
      'content-type': a.type ?? 'text/plain; charset=utf-8',
      ...(a.location ? { location: a.location } : {}),
    });
    res.end(a.body);
  });
  await new Promise<void>((r) => web.listen(webPort, '127.0.0.4', r));
});

after(async () => {
  await new Promise((r) => web?.close(r));
});

/** A queue trusting `trusted`, with `domain`'s MX hosts mx1 (127.0.0.2) and mx2 (127.0.0.3). */
async function start(domains: string[], configure?: (c: Config) => void): Promise<OutboundFixture> {
  const zones: Record<string, object> = {};
  for (const d of domains) {
    zones[d] = {
      MX: [
        { preference: 10, exchange: `mx1.${d}` },
        { preference: 20, exchange: `mx2.${d}` },
      ],
    };
    zones[`mx1.${d}`] = { A: ['127.0.0.2'] };
    zones[`mx2.${d}`] = { A: ['127.0.0.3'] };
    zones[`mta-sts.${d}`] = { A: ['127.0.0.4'] };
  }
  return startOutbound({
    zones,
    configure(c) {
      const ca = join(c.server.data_dir, 'ca.pem');
      writeFileSync(ca, caBundle);
      c.queue.tls_ca = ca;
      c.queue.mta_sts_port = webPort;
      configure?.(c);
    },
  });
}

/** The queued recipient's last reply (the reason it waits). */
async function lastReply(f: OutboundFixture, queueId: string): Promise<string> {
  const e = await waitFor(
    async () => {
      const x = await f.app.store.queue.get(queueId);
      return x?.recipients[0].lastReply && x;
    },
    8000,
    'a recorded attempt',
  );
  return e.recipients[0].lastReply ?? '';
}

test('enforce: mail goes only to an MX with verified STARTTLS; one without TLS is skipped; the policy is cached in the store', async () => {
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test', '*.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=20261206a;']] });
  try {
    const mx1 = await f.mta('127.0.0.2'); // no STARTTLS at all
    const mx2 = await f.mta('127.0.0.3', { tls: trusted });
    await f.send(['bob@sts.test'], { subject: 'enforced' });
    const [m] = await waitFor(() => mx2.received().length === 1 && mx2.received(), 8000, 'delivery via mx2');
    assert.equal(m.tls, true);
    assert.equal(mx1.received().length, 0);
    assert.ok(!mx1.sessions.some((s) => s.commands.some((c) => c.startsWith('MAIL'))), 'nothing sent in plaintext');
    const cached = await f.app.store.mtaSts.get('sts.test');
    assert.equal(cached?.id, '20261206a');
    assert.equal(JSON.parse(cached!.policy).mode, 'enforce');
  } finally {
    await f.stop();
  }
});

test('enforce: an unverifiable certificate or an MX outside the policy is never used; the message waits (4.7.5)', async () => {
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx2.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=b2']] });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: trusted }); // verified, but not in the policy
    const mx2 = await f.mta('127.0.0.3', { tls: untrusted }); // in the policy, certificate not trusted
    const id = await f.send(['bob@sts.test'], { subject: 'waits' });
    const reply = await lastReply(f, id);
    assert.match(reply, /MTA-STS: mx2\.sts\.test\[127\.0\.0\.3\]: certificate not verified/);
    const e = await f.app.store.queue.get(id);
    assert.equal(e?.recipients[0].status, 'queued', 'deferred, never bounced by the policy');
    assert.equal(e?.recipients[0].lastStatus, '4.7.5');
    assert.equal(mx1.sessions.length, 0, 'the MX outside the policy is not even contacted');
    assert.equal(mx2.received().length, 0);
    // The domain fixes its certificate: the next attempt delivers.
    await mx2.stop();
    const fixed = await f.mta('127.0.0.3', { tls: trusted });
    await f.app.store.queue.retryNow(id, Date.now());
    await waitFor(() => fixed.received().length === 1, 8000, 'delivery after the fix');
  } finally {
    await f.stop();
  }
});

test('enforce: a STARTTLS whose handshake fails is not retried in plaintext; the message waits', async () => {
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=hs1']] });
  try {
    // Says yes to STARTTLS, then speaks no TLS at all.
    const mx1 = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'STARTTLS'],
      script: (cmd) => (cmd === 'STARTTLS' ? '220 2.0.0 go ahead' : undefined),
    });
    const id = await f.send(['bob@sts.test'], { subject: 'no fallback' });
    assert.match(await lastReply(f, id), /TLS handshake/);
    assert.equal((await f.app.store.queue.get(id))?.recipients[0].status, 'queued');
    assert.equal(mx1.sessions.length, 1, 'no second, plaintext session');
    assert.equal(mx1.received().length, 0);
  } finally {
    await f.stop();
  }
});

test('testing mode, or no policy: delivered as before (opportunistic TLS, plaintext allowed)', async () => {
  answers.set('mta-sts.testing.test', { body: policy('testing', ['mx9.testing.test']) });
  const f = await start(['testing.test', 'plain.test'], (c) => {
    c.queue.tls_reports.enabled = true;
  });
  f.dns.set('_mta-sts.testing.test', { TXT: [['v=STSv1; id=t1']] });
  try {
    const mx1 = await f.mta('127.0.0.2'); // no TLS, not in the policy
    await f.send(['bob@testing.test'], { subject: 'testing mode' });
    await f.send(['bob@plain.test'], { subject: 'no policy' });
    await waitFor(() => mx1.received().length === 2, 8000, 'both delivered');
    assert.ok(mx1.received().every((m) => !m.tls));
    assert.equal((await f.app.store.mtaSts.get('testing.test'))?.id, 't1');
    assert.equal(await f.app.store.mtaSts.get('plain.test'), null);
    // For TLS reporting: the MX outside the testing policy, and the session without STARTTLS.
    const data = await f.app.store.tlsReports.report(
      { begin: f.app.queue.tlsReports.periodOf(Date.now()), policyDomain: 'testing.test' },
      10,
    );
    assert.deepEqual(data?.rows.map((r) => JSON.parse(r.record).failure?.type).sort(), [
      'starttls-not-supported',
      'validation-failure',
    ]);
  } finally {
    await f.stop();
  }
});

test('a cached policy holds when the TXT record and the policy host vanish; a new id fetches the new policy', async () => {
  answers.set('mta-sts.cached.test', { body: policy('enforce', ['mx1.cached.test']) });
  const f = await start(['cached.test']);
  f.dns.set('_mta-sts.cached.test', { TXT: [['v=STSv1; id=c1']] });
  try {
    let mx1 = await f.mta('127.0.0.2', { tls: trusted });
    await f.send(['bob@cached.test'], { subject: 'first' });
    await waitFor(() => mx1.received().length === 1, 8000, 'first delivery');
    // An attacker strips the TXT record and blocks the policy host, and offers a plaintext MX.
    f.dns.zones.delete('_mta-sts.cached.test');
    answers.delete('mta-sts.cached.test');
    await mx1.stop();
    mx1 = await f.mta('127.0.0.2');
    const id = await f.send(['bob@cached.test'], { subject: 'second' });
    assert.match(await lastReply(f, id), /MTA-STS: mx1\.cached\.test\[127\.0\.0\.2\]: the server offered no STARTTLS/);
    assert.equal(mx1.received().length, 0);
    // The domain publishes a new policy (mode none, to retire MTA-STS): delivered in plaintext.
    answers.set('mta-sts.cached.test', { body: 'version: STSv1\nmode: none\nmax_age: 86400\n' });
    f.dns.set('_mta-sts.cached.test', { TXT: [['v=STSv1; id=c2']] });
    await f.app.store.queue.retryNow(id, Date.now());
    await waitFor(() => mx1.received().length === 1, 8000, 'delivery under the new policy');
    assert.equal((await f.app.store.mtaSts.get('cached.test'))?.id, 'c2');
  } finally {
    await f.stop();
  }
});

test('policies that do not count: a redirect, text/html, a certificate for another name', async () => {
  answers.set('mta-sts.redirect.test', {
    status: 301,
    location: 'https://mta-sts.sts.test/.well-known/mta-sts.txt',
    body: policy('enforce', ['mx9.redirect.test']),
  });
  answers.set('mta-sts.html.test', { type: 'text/html', body: policy('enforce', ['mx9.html.test']) });
  answers.set('mta-sts.wrongname.test', { body: policy('enforce', ['mx9.wrongname.test']) });
  const f = await start(['redirect.test', 'html.test', 'wrongname.test'], (c) => {
    c.queue.tls_reports.enabled = true;
  });
  for (const d of ['redirect', 'html', 'wrongname']) f.dns.set(`_mta-sts.${d}.test`, { TXT: [['v=STSv1; id=x1']] });
  try {
    const mx1 = await f.mta('127.0.0.2'); // plaintext: had any of these policies counted, nothing would arrive
    fetched.length = 0;
    await f.send(['a@redirect.test'], { subject: 'redirect' });
    await f.send(['a@html.test'], { subject: 'html' });
    await f.send(['a@wrongname.test'], { subject: 'wrong name' });
    await waitFor(() => mx1.received().length === 3, 8000, 'all three delivered as without a policy');
    for (const d of ['redirect', 'html', 'wrongname']) assert.equal(await f.app.store.mtaSts.get(`${d}.test`), null);
    // The redirect was not followed; the wrong certificate got no request through.
    assert.ok(fetched.includes('mta-sts.redirect.test/.well-known/mta-sts.txt'));
    assert.ok(!fetched.some((x) => x.startsWith('mta-sts.sts.test')));
    assert.ok(!fetched.some((x) => x.startsWith('mta-sts.wrongname.test')));
    // Counted for TLS reporting with their result types (RFC 8460 section 4.3.2.2).
    const period = f.app.queue.tlsReports.periodOf(Date.now());
    const failures = async (domain: string) =>
      ((await f.app.store.tlsReports.report({ begin: period, policyDomain: domain }, 10))?.rows ?? [])
        .map((r) => JSON.parse(r.record).failure?.type)
        .filter(Boolean);
    // (beside each one's plaintext session without a policy: starttls-not-supported)
    const both = (t: string) => ['starttls-not-supported', t];
    assert.deepEqual((await failures('redirect.test')).sort(), both('sts-policy-fetch-error'));
    assert.deepEqual((await failures('html.test')).sort(), both('sts-policy-invalid'));
    assert.deepEqual((await failures('wrongname.test')).sort(), both('sts-webpki-invalid'));
  } finally {
    await f.stop();
  }
});

test('"TLS-Required: No" (RFC 8689): delivered without the domain\'s policy while other mail waits', async () => {
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=r1']] });
  try {
    const mx1 = await f.mta('127.0.0.2'); // no STARTTLS: fails the policy
    const raw = (subject: string, extra = '') =>
      Buffer.from(`From: alice@example.com\r\nTo: bob@sts.test\r\nSubject: ${subject}\r\n${extra}\r\nbody\r\n`);
    const held = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@sts.test' }],
      raw: raw('held'),
    });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@sts.test' }],
      raw: raw('report about your broken TLS', 'TLS-Required:\r\n No\r\n'),
    });
    const [m] = await waitFor(
      () => mx1.received().length === 1 && mx1.received(),
      8000,
      'the TLS-Required: No message',
    );
    assert.match(m.data.toString(), /Subject: report about your broken TLS/);
    assert.match(await lastReply(f, held), /MTA-STS: .*offered no STARTTLS/);
    assert.equal(mx1.received().length, 1, 'the other message still waits');
  } finally {
    await f.stop();
  }
});

test('TLS reporting (RFC 8460): session results per domain, a daily JSON report by mail (TLS-Required: No) and HTTPS', async () => {
  answers.set('mta-sts.rpt.test', { body: policy('enforce', ['mx1.rpt.test']) });
  const f = await start(['rpt.test', 'quiet.test'], (c) => {
    c.queue.tls_reports.enabled = true;
    c.queue.tls_reports.from = 'tlsrpt@example.com';
    c.queue.tls_reports.org_name = 'Petrel Test';
  });
  f.dns.set('_mta-sts.rpt.test', { TXT: [['v=STSv1; id=p1']] });
  f.dns.set('_smtp._tls.rpt.test', {
    TXT: [[`v=TLSRPTv1; rua=mailto:tls@rpt.test,https://mta-sts.rpt.test:${webPort}/report`]],
  });
  try {
    // 1: verified TLS to the policy's MX: a success.
    let mx1 = await f.mta('127.0.0.2', { tls: trusted });
    await f.send(['bob@rpt.test'], { subject: 'ok' });
    await waitFor(() => mx1.received().length === 1, 8000, 'first delivery');
    // 2: a certificate nobody vouches for: certificate-not-trusted, the message waits.
    await mx1.stop();
    mx1 = await f.mta('127.0.0.2', { tls: untrusted });
    const id = await f.send(['bob@rpt.test'], { subject: 'waits' });
    await lastReply(f, id);
    // 3: no STARTTLS at all: starttls-not-supported.
    await mx1.stop();
    mx1 = await f.mta('127.0.0.2');
    await f.app.store.queue.retryNow(id, Date.now());
    await waitFor(async () => /no STARTTLS/.test(await lastReply(f, id)), 8000, 'the plaintext attempt');
    await f.app.store.queue.delete(id);
    // quiet.test publishes no _smtp._tls record: counted, then dropped without a report.
    const quiet = await f.mta('127.0.0.3');
    f.dns.set('quiet.test', { MX: [{ preference: 10, exchange: 'mx2.quiet.test' }] });
    await f.send(['a@quiet.test'], { subject: 'quiet' });
    await waitFor(() => quiet.received().length === 1, 8000, 'quiet delivery');

    const reporter = f.app.queue.tlsReports;
    const later = Date.now() + 86_400_000;
    const period = reporter.periodOf(Date.now());
    assert.deepEqual(
      (await f.app.store.tlsReports.due(period + 86_400, 10)).map((p) => p.policyDomain),
      ['quiet.test', 'rpt.test'],
    );
    assert.equal(await reporter.runOnce(later), 1);
    // By mail to mx1, which offers no TLS: allowed only because the report says TLS-Required: No.
    const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'the report by mail');
    assert.deepEqual(m.rcpts, ['tls@rpt.test']);
    const text = m.data.toString('latin1');
    assert.match(text, /^TLS-Report-Domain: rpt\.test\r$/m);
    assert.match(text, /^TLS-Report-Submitter: example\.com\r$/m);
    assert.match(text, /^TLS-Required: No\r$/m);
    assert.match(text, /^Content-Type: multipart\/report; report-type="tlsrpt"; boundary=/m);
    assert.match(
      text,
      new RegExp(
        `^Subject: Report Domain: rpt\\.test Submitter: example\\.com Report-ID: <${period}\\.rpt\\.test@example\\.com>\\r$`,
        'm',
      ),
    );
    const part = parseMessage(m.data).root.children.find((x) => x.subtype === 'tlsrpt+gzip');
    assert.ok(part, 'an application/tlsrpt+gzip part');
    assert.equal(part.disposition?.params.filename, `example.com!rpt.test!${period}!${period + 86_400}.json.gz`);
    const report = JSON.parse(
      gunzipSync(Buffer.from(m.data.subarray(part.bodyStart, part.bodyEnd).toString('latin1'), 'base64')).toString(),
    );
    assert.equal(report['organization-name'], 'Petrel Test');
    assert.equal(report['contact-info'], 'tlsrpt@example.com');
    assert.equal(report['date-range']['start-datetime'], new Date(period * 1000).toISOString().replace('.000Z', 'Z'));
    assert.equal(report.policies.length, 1);
    const [p0] = report.policies;
    assert.deepEqual(p0.policy, {
      'policy-type': 'sts',
      'policy-string': ['version: STSv1', 'mode: enforce', 'mx: mx1.rpt.test', 'max_age: 86400'],
      'policy-domain': 'rpt.test',
      'mx-host': ['mx1.rpt.test'],
    });
    assert.equal(p0.summary['total-successful-session-count'], 1);
    const types = new Map<string, { count: number; detail: Record<string, unknown> }>();
    for (const d of p0['failure-details']) types.set(d['result-type'], { count: d['failed-session-count'], detail: d });
    assert.ok(types.get('certificate-not-trusted')!.count >= 1);
    assert.ok(types.get('starttls-not-supported')!.count >= 1);
    assert.equal(
      p0.summary['total-failure-session-count'],
      [...types.values()].reduce((n, t) => n + t.count, 0),
    );
    assert.deepEqual(
      {
        mx: types.get('starttls-not-supported')!.detail['receiving-mx-hostname'],
        ip: types.get('starttls-not-supported')!.detail['receiving-ip'],
        from: types.get('starttls-not-supported')!.detail['sending-mta-ip'],
      },
      { mx: 'mx1.rpt.test', ip: '127.0.0.2', from: '127.0.0.1' },
    );
    // The same report by HTTPS POST.
    const post = posts.find((x) => x.url === `mta-sts.rpt.test:${webPort}/report`);
    assert.ok(post, 'the HTTPS endpoint got the report');
    assert.equal(post.type, 'application/tlsrpt+gzip');
    assert.deepEqual(JSON.parse(gunzipSync(post.body).toString()), report);
    // Both periods' data is gone, and the report's own session was not counted (section 3).
    assert.deepEqual(await f.app.store.tlsReports.due(period + 10 * 86_400, 10), []);
  } finally {
    await f.stop();
  }
});

test('a TLS report whose only endpoint (HTTPS) fails for now is kept and sent at a later check (RFC 8460 section 5.5)', async () => {
  const f = await start(['rptweb.test'], (c) => {
    c.queue.tls_reports.enabled = true;
    c.queue.tls_reports.from = 'tlsrpt@example.com';
  });
  f.dns.set('_smtp._tls.rptweb.test', {
    TXT: [[`v=TLSRPTv1; rua=https://mta-sts.rptweb.test:${webPort}/report`]],
  });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: trusted });
    await f.send(['bob@rptweb.test'], { subject: 'ok' });
    await waitFor(() => mx1.received().length === 1, 8000, 'the delivery');
    const reporter = f.app.queue.tlsReports;
    const period = reporter.periodOf(Date.now());
    const later = Date.now() + 86_400_000;
    // The endpoint answers 503: nothing was delivered, so the report stays for the next check.
    refusePosts = 1;
    assert.equal(await reporter.runOnce(later), 0);
    assert.equal(refusePosts, 0, 'the endpoint was tried');
    assert.deepEqual(
      (await f.app.store.tlsReports.due(period + 86_400, 10)).map((p) => p.policyDomain),
      ['rptweb.test'],
    );
    // Six hours later it takes it.
    assert.equal(await reporter.runOnce(later + 6 * 3600_000), 1);
    const post = posts.find((x) => x.url === `mta-sts.rptweb.test:${webPort}/report`);
    assert.ok(post, 'the HTTPS endpoint got the report');
    const report = JSON.parse(gunzipSync(post.body).toString());
    assert.equal(report.policies[0].policy['policy-domain'], 'rptweb.test');
    assert.equal(report.policies[0].summary['total-successful-session-count'], 1);
    assert.deepEqual(await f.app.store.tlsReports.due(period + 10 * 86_400, 10), []);
  } finally {
    refusePosts = 0;
    await f.stop();
  }
});

test('a cached policy a day old is fetched again in the background while its id stays published', async () => {
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=d1']] });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: trusted });
    await f.send(['bob@sts.test'], { subject: 'first' });
    await waitFor(() => mx1.received().length === 1, 8000, 'first delivery');
    const row = (await f.app.store.mtaSts.get('sts.test'))!;
    // A day and more later (the row's fetch time moved back), the host serves a longer-lived policy.
    await f.app.store.mtaSts.put({ ...row, fetchedAt: row.fetchedAt - 25 * 3600_000 });
    answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test', 'mx2.sts.test'], 172800) });
    await f.send(['bob@sts.test'], { subject: 'second' });
    await waitFor(() => mx1.received().length === 2, 8000, 'second delivery, under the cached policy');
    const fresh = await waitFor(
      async () => {
        const r = await f.app.store.mtaSts.get('sts.test');
        return r && r.fetchedAt > row.fetchedAt - 1000 && r;
      },
      8000,
      'the refreshed policy',
    );
    assert.equal(fresh.id, 'd1');
    assert.deepEqual(JSON.parse(fresh.policy).mx, ['mx1.sts.test', 'mx2.sts.test']);
    assert.equal(fresh.expiresAt - fresh.fetchedAt, 172800_000);
  } finally {
    await f.stop();
  }
});

test('deliveries to one domain at once share one fetch of its new policy', async () => {
  const { MtaSts } = await import('../../src/queue/mta-sts/service.ts');
  const { silentLogger } = await import('../../src/telemetry/log.ts');
  answers.set('mta-sts.sts.test', { body: policy('enforce', ['mx1.sts.test']) });
  const f = await start(['sts.test']);
  f.dns.set('_mta-sts.sts.test', { TXT: [['v=STSv1; id=once1']] });
  try {
    const sts = new MtaSts({
      store: f.app.store,
      resolver: f.app.resolver,
      fetch: {
        port: webPort,
        ca: caBundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!,
        timeoutMs: 5000,
      },
      log: silentLogger,
    });
    fetched.length = 0;
    const all = await Promise.all(Array.from({ length: 8 }, () => sts.policyFor('sts.test')));
    assert.ok(all.every((p) => p?.mode === 'enforce'));
    assert.equal(fetched.filter((x) => x.startsWith('mta-sts.sts.test')).length, 1);
  } finally {
    await f.stop();
  }
});

// A policy line of 65,000 tabs then "x" (under the 64 KiB cap) made /[ \t]+$/ retry from every tab: about
// 4 s of event loop per policy, so ten such domains held every listener for some 40 s. The test's own
// timeout is the bound: fixed, the policies are refused at once and SMTP answers meanwhile.
test('a policy built to backtrack does not stall the server: SMTP still answers while it is fetched', {
  timeout: 15_000,
}, async () => {
  const body = `version: STSv1\r\n${'\t'.repeat(65_000)}x\r\nmode: enforce\r\nmx: mx1.example\r\nmax_age: 86400\r\n`;
  const domains = HOSTILE.map((d) => `${d}.test`);
  for (const d of domains) answers.set(`mta-sts.${d}`, { body });
  // This fixture turns listeners off; SMTP is the other request that must still be answered.
  const f = await start(domains, (c) => {
    c.listeners.smtp.enabled = true;
  });
  for (const d of domains) f.dns.set(`_mta-sts.${d}`, { TXT: [['v=STSv1; id=1;']] });
  try {
    await f.send(
      domains.map((d) => `bob@${d}`),
      { subject: 'hostile policies' },
    );
    await waitFor(() => fetched.some((u) => u.startsWith('mta-sts.hostile')), 8000, 'a policy fetch');
    const c = await RawSmtp.open(f.server.ports.smtp);
    assert.equal((await c.read(60_000)).code, 220);
    assert.equal((await c.cmd('EHLO client.test', 60_000)).code, 250);
    await c.cmd('QUIT', 60_000);
  } finally {
    await f.stop();
  }
});
