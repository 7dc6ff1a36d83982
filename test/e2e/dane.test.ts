// DANE on the way out (RFC 7672): the test's own DNS server plays a DNSSEC-validating resolver on
// 127.0.0.1 (signed names answered with the AD bit), recipient MX hosts are fake MTAs on 127.0.0.2 and
// 127.0.0.3 with certificates no CA the queue knows has issued. Where the MX and TLSA records are secure,
// mail goes only over STARTTLS to a server whose certificate matches them; elsewhere nothing changes.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Config } from '../../src/config/schema.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import { issuedCert, selfSignedCert } from '../helpers/certs.ts';
import type { Zone } from '../helpers/dns-server.ts';
import { deferredReply, type OutboundFixture, startOutbound, tlsReportRows, waitFor } from '../helpers/outbound.ts';

type Pair = { cert: string; key: string };
let own: Pair; // mx1's self-signed certificate, named for nothing in particular
let stranger: Pair; // another key (an attacker's, or a rotated one nobody published)
let ca: Pair; // a private CA for DANE-TA
let byCa: Pair & { leaf: string }; // issued by it to mx1.<domain> names
let byCaWrongName: Pair & { leaf: string };

const spkiSha256 = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }) as Buffer)
    .digest();
const certSha256 = (pem: string) => createHash('sha256').update(new X509Certificate(pem).raw).digest();
const eeTlsa = (pem: string) => ({ usage: 3, selector: 1, matchingType: 1, certificate: spkiSha256(pem) });

before(async () => {
  own = await selfSignedCert(['some-box.invalid']);
  stranger = await selfSignedCert(['attacker.invalid']);
  ca = await selfSignedCert(['Example DANE CA']);
  byCa = await issuedCert(['mx1.ta.test'], ca);
  byCaWrongName = await issuedCert(['mx1.elsewhere.test'], ca);
});

/**
 * A queue whose resolver sees `domain` with MX hosts mx1 (127.0.0.2) and mx2 (127.0.0.3), all signed
 * unless `unsigned`; `tlsa` maps a host label ("mx1") to its TLSA records.
 */
async function start(
  domain: string,
  tlsa: Record<string, Zone['TLSA']>,
  opts: { unsigned?: boolean; oneMx?: boolean; configure?: (c: Config) => void } = {},
): Promise<OutboundFixture> {
  const signed = !opts.unsigned;
  const zones: Record<string, Zone> = {
    [domain]: {
      MX: [
        { preference: 10, exchange: `mx1.${domain}` },
        ...(opts.oneMx ? [] : [{ preference: 20, exchange: `mx2.${domain}` }]),
      ],
      signed,
    },
    [`mx1.${domain}`]: { A: ['127.0.0.2'], signed },
    [`mx2.${domain}`]: { A: ['127.0.0.3'], signed },
  };
  const f = await startOutbound({
    zones,
    configure(c) {
      c.queue.tls_reports.enabled = true;
      c.queue.tls_reports.from = 'tlsrpt@example.com';
      opts.configure?.(c);
    },
  });
  // The TLSA name carries the port mail goes to (section 2.2.3): here the test MTAs' port, not 25.
  for (const [label, records] of Object.entries(tlsa))
    f.dns.set(`_${f.port}._tcp.${label}.${domain}`, { TLSA: records, signed });
  return f;
}

test('DANE-EE: a self-signed certificate matching the TLSA record is authenticated; delivered over TLS', async () => {
  const f = await start('ee.test', { mx1: [eeTlsa(own.cert)] });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: own });
    await f.send(['bob@ee.test'], { subject: 'dane ee' });
    const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'delivery');
    assert.equal(m.tls, true);
    assert.ok(f.dns.queries.includes(`TLSA _${f.port}._tcp.mx1.ee.test`), f.dns.queries.join(', '));
    assert.ok(f.dns.adAnswers > 0, 'the resolver was asked for DNSSEC status');
    assert.deepEqual(await tlsReportRows(f, 'ee.test'), [['tlsa', 'ok']]);
    // The day's TLS report says so under policy type "tlsa" with the host's record (RFC 8460 section 4.4).
    f.dns.set('_smtp._tls.ee.test', { TXT: [['v=TLSRPTv1; rua=mailto:tls@ee.test']] });
    assert.equal(await f.app.queue.tlsReports.runOnce(Date.now() + 86_400_000), 1);
    const [, r] = await waitFor(() => mx1.received().length === 2 && mx1.received(), 8000, 'the report');
    const part = parseMessage(r.data).root.children.find((x) => x.subtype === 'tlsrpt+gzip');
    assert.ok(part);
    const report = JSON.parse(
      gunzipSync(Buffer.from(r.data.subarray(part.bodyStart, part.bodyEnd).toString('latin1'), 'base64')).toString(),
    );
    assert.deepEqual(report.policies, [
      {
        policy: {
          'policy-type': 'tlsa',
          'policy-string': [`3 1 1 ${spkiSha256(own.cert).toString('hex')}`],
          'policy-domain': 'ee.test',
        },
        summary: { 'total-successful-session-count': 1, 'total-failure-session-count': 0 },
      },
    ]);
  } finally {
    await f.stop();
  }
});

test('DANE-EE mismatch: that MX is skipped for the next one; with no other, the mail waits (4.7.5), never in clear', async () => {
  const f = await start('mismatch.test', { mx1: [eeTlsa(own.cert)], mx2: [eeTlsa(own.cert)] });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: stranger }); // a man in the middle with his own key
    const mx2 = await f.mta('127.0.0.3', { tls: own });
    await f.send(['bob@mismatch.test'], { subject: 'next mx' });
    await waitFor(() => mx2.received().length === 1, 8000, 'delivery via mx2');
    assert.ok(!mx1.sessions.some((s) => s.commands.some((c) => c.startsWith('MAIL'))), 'nothing given to mx1');
    assert.deepEqual(await tlsReportRows(f, 'mismatch.test'), [
      ['tlsa', 'ok'],
      ['tlsa', 'tlsa-invalid'],
    ]);
    await mx2.stop();
    const mx2b = await f.mta('127.0.0.3', { tls: stranger });
    const id = await f.send(['bob@mismatch.test'], { subject: 'waits' });
    const w = await deferredReply(f, id);
    assert.equal(w.status, '4.7.5');
    assert.match(w.reply, /DANE: mx\d\.mismatch\.test\[127\.0\.0\.\d\]: no TLSA record matches/);
    assert.equal(mx2b.received().length, 0);
  } finally {
    await f.stop();
  }
});

test('secure TLSA records promise STARTTLS: a server without it gets nothing, even with queue.starttls off', async () => {
  const f = await start(
    'notls.test',
    { mx1: [eeTlsa(own.cert)] },
    { oneMx: true, configure: (c) => (c.queue.starttls = false) },
  );
  try {
    const mx1 = await f.mta('127.0.0.2'); // no STARTTLS offered (stripped by an attacker, say)
    const id = await f.send(['bob@notls.test'], { subject: 'downgrade' });
    const w = await deferredReply(f, id);
    assert.match(w.reply, /DANE: mx1\.notls\.test\[127\.0\.0\.2\]: the server offered no STARTTLS/);
    assert.equal(mx1.received().length, 0);
    assert.deepEqual(await tlsReportRows(f, 'notls.test'), [['tlsa', 'starttls-not-supported']]);
    // The same server with TLS and the right key: delivered although queue.starttls is off.
    await mx1.stop();
    const fixed = await f.mta('127.0.0.2', { tls: own });
    await f.app.store.queue.retryNow(id, Date.now());
    const [m] = await waitFor(() => fixed.received().length === 1 && fixed.received(), 8000, 'delivery');
    assert.equal(m.tls, true);
  } finally {
    await f.stop();
  }
});

test('DANE-TA: a private CA sent in the chain, the certificate naming the MX host; another name is refused', async () => {
  const ta = { usage: 2, selector: 0, matchingType: 1, certificate: certSha256(ca.cert) };
  const f = await start('ta.test', { mx1: [ta] }, { oneMx: true });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: byCaWrongName });
    const id = await f.send(['bob@ta.test'], { subject: 'ta' });
    const w = await deferredReply(f, id);
    assert.match(w.reply, /certificate names none of mx1\.ta\.test, ta\.test/);
    assert.equal(mx1.received().length, 0);
    await mx1.stop();
    const good = await f.mta('127.0.0.2', { tls: byCa });
    await f.app.store.queue.retryNow(id, Date.now());
    await waitFor(() => good.received().length === 1, 8000, 'delivery');
    assert.deepEqual(await tlsReportRows(f, 'ta.test'), [
      ['tlsa', 'certificate-host-mismatch'],
      ['tlsa', 'ok'],
    ]);
  } finally {
    await f.stop();
  }
});

test('a failed TLSA lookup makes the host unusable (4.4.3), not DANE-free', async () => {
  const f = await start('servfail.test', {}, { oneMx: true });
  f.dns.failing.add(`_${f.port}._tcp.mx1.servfail.test`);
  try {
    const mx1 = await f.mta('127.0.0.2');
    const id = await f.send(['bob@servfail.test'], { subject: 'bogus tlsa' });
    const w = await deferredReply(f, id);
    assert.equal(w.status, '4.4.3');
    assert.match(w.reply, /DANE: mx1\.servfail\.test: TLSA lookup failed/);
    assert.equal(mx1.sessions.length, 0, 'not even contacted');
    // The zone is fixed (secure denial of TLSA): opportunistic TLS as before, here plaintext.
    f.dns.failing.delete(`_${f.port}._tcp.mx1.servfail.test`);
    await f.app.store.queue.retryNow(id, Date.now());
    await waitFor(() => mx1.received().length === 1, 8000, 'delivery');
  } finally {
    await f.stop();
  }
});

test('unsigned zones: the same mismatching TLSA records change nothing (opportunistic TLS, plaintext allowed)', async () => {
  const f = await start('unsigned.test', { mx1: [eeTlsa(own.cert)] }, { unsigned: true, oneMx: true });
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: stranger });
    await f.send(['bob@unsigned.test'], { subject: 'unsigned' });
    const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'delivery');
    assert.equal(m.tls, true);
    // MX insecure: the host's TLSA is not even looked up (section 2.2.1).
    assert.ok(!f.dns.queries.some((q) => q.startsWith('TLSA')), f.dns.queries.join(', '));
  } finally {
    await f.stop();
  }
});

test('a DANE-authenticated session carries REQUIRETLS mail though no CA vouches for the server', async () => {
  const f = await start('rtls.test', { mx1: [eeTlsa(own.cert)] }, { oneMx: true });
  try {
    const caps = ['PIPELINING', '8BITMIME', 'ENHANCEDSTATUSCODES', 'REQUIRETLS'];
    const mx1 = await f.mta('127.0.0.2', { tls: own, capabilities: caps });
    await f.send(['bob@rtls.test'], { subject: 'requiretls', requireTls: true });
    const [m] = await waitFor(() => mx1.received().length === 1 && mx1.received(), 8000, 'delivery');
    assert.match(m.mailLine, /REQUIRETLS/);
  } finally {
    await f.stop();
  }
});

test('queue.dane = false: TLSA records are not consulted', async () => {
  const f = await start(
    'off.test',
    { mx1: [eeTlsa(own.cert)] },
    { oneMx: true, configure: (c) => (c.queue.dane = false) },
  );
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: stranger });
    await f.send(['bob@off.test'], { subject: 'dane off' });
    await waitFor(() => mx1.received().length === 1, 8000, 'delivery');
    assert.ok(!f.dns.queries.some((q) => q.startsWith('TLSA')));
  } finally {
    await f.stop();
  }
});

test('queue.dane_required: no signed MX, or an MX without usable TLSA, and the mail waits (4.7.5); a match delivers', async () => {
  const f = await start(
    'must.test',
    { mx2: [eeTlsa(own.cert)] },
    {
      configure: (c) => (c.queue.dane_required = ['must.test', 'unsigned-must.test']),
    },
  );
  try {
    const mx1 = await f.mta('127.0.0.2', { tls: own }); // signed, but publishes no TLSA: skipped
    const mx2 = await f.mta('127.0.0.3', { tls: own });
    await f.send(['bob@must.test'], { subject: 'mandatory' });
    await waitFor(() => mx2.received().length === 1, 8000, 'delivery via mx2');
    assert.equal(mx1.sessions.length, 0, 'the MX without TLSA records is not contacted');
    assert.deepEqual(await tlsReportRows(f, 'must.test'), [
      ['no-policy-found', 'dane-required'],
      ['tlsa', 'ok'],
    ]);
    // A required destination whose zone is not signed: nothing is sent anywhere.
    f.dns.set('unsigned-must.test', { MX: [{ preference: 10, exchange: 'mx1.must.test' }] });
    const id = await f.send(['bob@unsigned-must.test'], { subject: 'not signed' });
    const w = await deferredReply(f, id);
    assert.equal(w.status, '4.7.5');
    assert.match(w.reply, /DANE: unsigned-must\.test: DANE is required .* not DNSSEC-signed/);
    assert.equal(mx1.sessions.length, 0);
  } finally {
    await f.stop();
  }
});

test('an MX host that is a secure CNAME: the TLSA base is the expanded name, and it is the SNI sent', async () => {
  const f = await start('alias.test', {}, { oneMx: true });
  try {
    // mx1.alias.test -> box.hoster.test, whose TLSA records are the ones that count (section 2.2.3).
    f.dns.set('mx1.alias.test', { CNAME: 'box.hoster.test', signed: true });
    f.dns.set('box.hoster.test', { A: ['127.0.0.2'], signed: true });
    f.dns.set(`_${f.port}._tcp.box.hoster.test`, { TLSA: [eeTlsa(own.cert)], signed: true });
    const mx1 = await f.mta('127.0.0.2', { tls: own });
    await f.send(['bob@alias.test'], { subject: 'via an alias' });
    await waitFor(() => mx1.received().length === 1, 8000, 'delivery');
    assert.equal(mx1.sessions.find((s) => s.tls)?.servername, 'box.hoster.test');
  } finally {
    await f.stop();
  }
});
