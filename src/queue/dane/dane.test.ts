// DANE parts on their own: TLSA matching (RFC 7672 section 3, RFC 6698 section 2.1), the DNSSEC-status
// lookups against a DNS server of the test's own (AD bit, TCP after truncation, failures), and which
// TLSA records apply to a host (section 2.2).
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, before, test } from 'node:test';
import dnsPacket from 'dns-packet';
import { issuedCert, selfSignedCert } from '../../../test/helpers/certs.ts';
import { type DnsServer, startDnsServer } from '../../../test/helpers/dns-server.ts';
import { defaults } from '../../config/load.ts';
import { isDnsError } from '../../dns/resolver.ts';
import { adTrusted, createSecureLookup, parseNameserver } from '../../dns/secure.ts';
import { queuePolicy } from '../service.ts';
import { hostPolicy, mxSecure, type TlsaRecord, tlsaString } from './lookup.ts';
import { daneVerify, usableTlsa } from './verify.ts';

const der = (pem: string) => new X509Certificate(pem).raw;
const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }) as Buffer;
const sha = (alg: string, b: Buffer) => createHash(alg).update(b).digest();
const rec = (usage: number, selector: number, matchingType: number, data: Buffer): TlsaRecord => ({
  usage,
  selector,
  matchingType,
  data,
});

let ca: { cert: string; key: string };
let other: { cert: string; key: string };
let leaf: { cert: string; key: string; leaf: string };

before(async () => {
  ca = await selfSignedCert(['DANE Test CA']);
  other = await selfSignedCert(['Some Other CA']);
  leaf = await issuedCert(['mx1.dane.test', '*.wild.test'], ca);
});

/** The chain a server sends: its certificate, then the CA. */
const chain = () => [der(leaf.leaf), der(ca.cert)];

test('DANE-EE(3): the server certificate or its key, by full value, SHA-256 or SHA-512; names and dates ignored', async () => {
  const names = ['not-the-name.test'];
  for (const r of [
    rec(3, 1, 1, sha('sha256', spki(leaf.leaf))),
    rec(3, 0, 1, sha('sha256', der(leaf.leaf))),
    rec(3, 1, 2, sha('sha512', spki(leaf.leaf))),
    rec(3, 0, 0, der(leaf.leaf)),
    rec(3, 1, 0, spki(leaf.leaf)),
  ])
    assert.deepEqual(daneVerify(chain(), [r], names), { ok: true, usage: 'DANE-EE' }, tlsaString(r).slice(0, 12));
  // Expired certificate: section 3.1.1, the TLSA record's signature decides how long the binding holds.
  const expired = await issuedCert(['mx1.dane.test'], ca, -2);
  assert.equal(daneVerify([der(expired.leaf)], [rec(3, 1, 1, sha('sha256', spki(expired.leaf)))], names).ok, true);
  // Another key, or the CA's key under usage 3: no match.
  const miss = daneVerify(
    chain(),
    [rec(3, 1, 1, sha('sha256', spki(other.cert))), rec(3, 1, 1, sha('sha256', spki(ca.cert)))],
    names,
  );
  assert.equal(miss.ok, false);
  assert.equal(!miss.ok && miss.type, 'tlsa-invalid');
  assert.equal(daneVerify([], [rec(3, 1, 1, sha('sha256', spki(leaf.leaf)))], names).ok, false, 'no certificate');
});

test('DANE-TA(2): a CA in the chain, the chain verified up to it, and the certificate must name the host', async () => {
  const ta = rec(2, 0, 1, sha('sha256', der(ca.cert)));
  assert.deepEqual(daneVerify(chain(), [ta], ['mx1.dane.test']), { ok: true, usage: 'DANE-TA' });
  assert.deepEqual(daneVerify(chain(), [rec(2, 1, 1, sha('sha256', spki(ca.cert)))], ['x.test', 'mx1.dane.test']), {
    ok: true,
    usage: 'DANE-TA',
  });
  // A wildcard covers one first label only (section 3.2.3).
  assert.equal(daneVerify(chain(), [ta], ['mx.wild.test']).ok, true);
  assert.equal(daneVerify(chain(), [ta], ['a.b.wild.test']).ok, false);
  const wrong = daneVerify(chain(), [ta], ['mx2.dane.test', 'dane.test']);
  assert.equal(!wrong.ok && wrong.type, 'certificate-host-mismatch');
  // The trust anchor must have been sent: a chain of the leaf alone does not reach it.
  assert.equal(daneVerify([der(leaf.leaf)], [ta], ['mx1.dane.test']).ok, false);
  // The leaf itself named as a trust anchor is not DANE-EE.
  assert.equal(daneVerify(chain(), [rec(2, 0, 1, sha('sha256', der(leaf.leaf)))], ['mx1.dane.test']).ok, false);
  // A CA that did not issue the certificate, though sent along: the chain does not verify.
  const forged = daneVerify(
    [der(leaf.leaf), der(other.cert)],
    [rec(2, 0, 1, sha('sha256', der(other.cert)))],
    ['mx1.dane.test'],
  );
  assert.equal(forged.ok, false);
  // An expired certificate under DANE-TA is refused (PKIX rules below the trust anchor).
  const expired = await issuedCert(['mx1.dane.test'], ca, -2);
  const e = daneVerify([der(expired.leaf), der(ca.cert)], [ta], ['mx1.dane.test']);
  assert.equal(!e.ok && e.type, 'certificate-expired');
});

test('usable records: DANE-TA and DANE-EE with known selectors and matching types; PKIX usages are not', () => {
  assert.equal(usableTlsa(rec(3, 1, 1, Buffer.alloc(32))), true);
  assert.equal(usableTlsa(rec(2, 0, 2, Buffer.alloc(64))), true);
  assert.equal(usableTlsa(rec(1, 1, 1, Buffer.alloc(32))), false);
  assert.equal(usableTlsa(rec(0, 0, 1, Buffer.alloc(32))), false);
  assert.equal(usableTlsa(rec(3, 2, 1, Buffer.alloc(32))), false);
  assert.equal(usableTlsa(rec(3, 1, 3, Buffer.alloc(32))), false);
  // Only unusable records: the matcher finds nothing to authenticate with.
  assert.equal(daneVerify(chain(), [rec(1, 1, 1, sha('sha256', spki(leaf.leaf)))], ['mx1.dane.test']).ok, false);
});

test('the AD bit is believed from a resolver on this host, from others only with dns.trust_ad', () => {
  assert.equal(adTrusted(['127.0.0.1'], false), true);
  assert.equal(adTrusted(['127.0.0.53:53', '[::1]:5353'], false), true);
  assert.equal(adTrusted(['192.0.2.53'], false), false);
  assert.equal(adTrusted(['127.0.0.1', '9.9.9.9'], false), false, 'every server must be local');
  assert.equal(adTrusted(['9.9.9.9'], true), true);
  assert.deepEqual(parseNameserver('[2001:db8::1]:5300'), { host: '2001:db8::1', port: 5300 });
  assert.deepEqual(parseNameserver('2001:db8::1'), { host: '2001:db8::1', port: 53 });
  assert.deepEqual(parseNameserver('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
});

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer();
});
after(async () => {
  await dns.stop();
});

const lookupVia = (trustAd = false) =>
  createSecureLookup({ nameservers: [dns.address], timeoutMs: 500, tries: 1, trustAd });

test('secure lookups: AD read from the answer, denials are answers, SERVFAIL and silence are failures', async () => {
  dns.set('signed.test', { MX: [{ preference: 10, exchange: 'mx.signed.test' }], signed: true });
  dns.set('unsigned.test', { MX: [{ preference: 10, exchange: 'mx.unsigned.test' }] });
  dns.set('nomx.signed.test', { A: ['127.0.0.9'], signed: true });
  const lookup = lookupVia();
  const s = await lookup('signed.test', 'MX');
  assert.equal(s.secure, true);
  assert.deepEqual(
    s.records.map((r) => [r.type, (r.data as { exchange: string }).exchange]),
    [['MX', 'mx.signed.test']],
  );
  assert.equal((await lookup('unsigned.test', 'MX')).secure, false);
  // A signed name without MX: a secure denial (the domain is its own server).
  const denial = await lookup('nomx.signed.test', 'MX');
  assert.deepEqual([denial.rcode, denial.secure, denial.records.length], ['NOERROR', true, 0]);
  assert.equal((await lookup('nowhere.test', 'A')).rcode, 'NXDOMAIN');
  assert.equal(await mxSecure(lookup, 'signed.test'), true);
  assert.equal(await mxSecure(lookup, 'unsigned.test'), false);
  dns.failing.add('bogus.test');
  dns.silent.add('silent.test');
  for (const n of ['bogus.test', 'silent.test'])
    await assert.rejects(lookup(n, 'MX'), (e) => isDnsError(e, 'TEMPFAIL'), n);
});

test('a long answer truncated over UDP is asked again over TCP', async () => {
  const records = Array.from({ length: 20 }, (_, i) => ({
    usage: 3,
    selector: 0,
    matchingType: 0,
    certificate: Buffer.alloc(100, i),
  }));
  dns.set('_25._tcp.big.signed.test', { TLSA: records, signed: true });
  const before = dns.tcpQueries;
  const a = await lookupVia()('_25._tcp.big.signed.test', 'TLSA');
  assert.equal(a.records.length, 20);
  assert.equal(a.secure, true);
  assert.ok(dns.tcpQueries > before);
});

test('which TLSA records apply to a host (RFC 7672 section 2.2.2 and 2.2.3)', async () => {
  const t = { usage: 3, selector: 1, matchingType: 1, certificate: Buffer.alloc(32, 7) };
  const t2 = { usage: 2, selector: 0, matchingType: 1, certificate: Buffer.alloc(32, 9) };
  dns.set('mx.h.test', { A: ['127.0.0.2'], signed: true });
  dns.set('_25._tcp.mx.h.test', { TLSA: [t], signed: true });
  const lookup = lookupVia();
  const p = await hostPolicy(lookup, 'H.test', 'MX.h.test', 25);
  assert.deepEqual(p?.names, ['mx.h.test', 'h.test']);
  assert.deepEqual(p?.records.map(tlsaString), [`3 1 1 ${'07'.repeat(32)}`]);
  // Another port, another name.
  assert.equal(await hostPolicy(lookup, 'h.test', 'mx.h.test', 2525), null);
  // Unsigned addresses: TLSA is not even asked.
  dns.set('mx.u.test', { A: ['127.0.0.2'] });
  dns.set('_25._tcp.mx.u.test', { TLSA: [t], signed: true });
  dns.queries.length = 0;
  assert.equal(await hostPolicy(lookup, 'u.test', 'mx.u.test', 25), null);
  assert.ok(!dns.queries.some((q) => q.startsWith('TLSA')), dns.queries.join(', '));
  // Unsigned TLSA records do not count.
  dns.set('mx.v.test', { A: ['127.0.0.2'], signed: true });
  dns.set('_25._tcp.mx.v.test', { TLSA: [t] });
  assert.equal(await hostPolicy(lookup, 'v.test', 'mx.v.test', 25), null);
  // A secure CNAME: the expanded name first, the alias second; the TLSA name's own CNAME keeps the base.
  dns.set('alias.c.test', { CNAME: 'real.c.test', signed: true });
  dns.set('real.c.test', { A: ['127.0.0.3'], signed: true });
  dns.set('_25._tcp.alias.c.test', { TLSA: [t], signed: true });
  const viaAlias = await hostPolicy(lookup, 'c.test', 'alias.c.test', 25);
  assert.equal(viaAlias?.base, 'alias.c.test', 'the expanded name has none: the alias');
  dns.set('_25._tcp.real.c.test', { CNAME: 'shared._dane.c.test', signed: true });
  dns.set('shared._dane.c.test', { TLSA: [t2], signed: true });
  const expanded = await hostPolicy(lookup, 'c.test', 'alias.c.test', 25);
  assert.equal(expanded?.base, 'real.c.test');
  assert.deepEqual(expanded?.names, ['real.c.test', 'alias.c.test', 'c.test']);
  assert.equal(expanded?.records[0].usage, 2);
  // A failed TLSA lookup is a failure, not "no DANE" (section 2.1.2).
  dns.set('mx.f.test', { A: ['127.0.0.2'], signed: true });
  dns.failing.add('_25._tcp.mx.f.test');
  await assert.rejects(hostPolicy(lookup, 'f.test', 'mx.f.test', 25), (e) => isDnsError(e, 'TEMPFAIL'));
});

test('queue.dane_required without queue.dane is refused (mail for those domains would go without DANE)', () => {
  const c = defaults();
  c.queue.dane_required = ['bank.example'];
  assert.doesNotThrow(() => queuePolicy(c));
  c.queue.dane = false;
  assert.throws(() => queuePolicy(c), /queue\.dane_required: needs queue\.dane = true/);
});

test('a datagram that answers another question is ignored; the real answer is still taken', async () => {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const port = sock.address().port;
  sock.on('message', (msg, from) => {
    const q = dnsPacket.decode(msg);
    const reply = (name: string, ad: boolean) =>
      dnsPacket.encode({
        id: q.id,
        type: 'response',
        flags: dnsPacket.RECURSION_AVAILABLE | (ad ? dnsPacket.AUTHENTIC_DATA : 0),
        questions: [{ type: 'MX', name, class: 'IN' }],
        answers: [{ type: 'MX', name, ttl: 60, class: 'IN', data: { preference: 1, exchange: `mx.${name}` } }],
      });
    // First a forged answer with the right id for another name, then the true one.
    sock.send(reply('evil.test', true), from.port, from.address);
    setTimeout(() => sock.send(reply('good.test', false), from.port, from.address), 30);
  });
  try {
    const a = await createSecureLookup({
      nameservers: [`127.0.0.1:${port}`],
      timeoutMs: 1000,
      tries: 1,
      trustAd: false,
    })('good.test', 'MX');
    assert.deepEqual(
      a.records.map((r) => (r.data as { exchange: string }).exchange),
      ['mx.good.test'],
    );
    assert.equal(a.secure, false, 'the forged AD bit did not count');
  } finally {
    sock.close();
  }
});
