// The resolver against a real DNS server on 127.0.0.1 (UDP, and TCP when an answer is truncated).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type DnsServer, startDnsServer } from '../../test/helpers/dns-server.ts';
import { createResolver, DnsError, isDnsError, nodeStyleResolver, reverseNameAddress } from './resolver.ts';
import { createSecureLookup } from './secure.ts';

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer({
    'example.test': {
      MX: [
        { preference: 20, exchange: 'mx2.example.test' },
        { preference: 10, exchange: 'MX1.example.test.' },
      ],
      A: ['127.0.0.2'],
      AAAA: ['::1'],
      TXT: [['v=spf1 ', '-all']],
    },
    'null.test': { MX: [{ preference: 0, exchange: '.' }] },
    'big.test': { TXT: [['x'.repeat(250), 'y'.repeat(250)], ['z'.repeat(200)]] },
    'xn--bcher-kva.test': { A: ['127.0.0.9'] },
    'a+b=c._spf.example.test': { A: ['127.0.0.10'], TXT: [['v=spf1 -all']] },
    'x%2by._spf.example.test': { A: ['127.0.0.11'] },
    '2.0.0.127.in-addr.arpa': { PTR: ['mx1.example.test'] },
    [`1.${'0.'.repeat(31)}ip6.arpa`]: { PTR: ['six.example.test'] },
  });
});
after(() => dns.stop());

const resolver = () => createResolver({ nameservers: [dns.address], timeoutMs: 1000, tries: 1 });

test('MX, A, AAAA, TXT and PTR answers come from the configured nameserver', async () => {
  const r = resolver();
  const mx = await r.mx('Example.TEST');
  assert.deepEqual(
    mx.sort((a, b) => a.priority - b.priority),
    [
      { exchange: 'mx1.example.test', priority: 10 },
      { exchange: 'mx2.example.test', priority: 20 },
    ],
  );
  assert.deepEqual(await r.a('example.test'), ['127.0.0.2']);
  assert.deepEqual(await r.aaaa('example.test'), ['::1']);
  assert.deepEqual(await r.txt('example.test'), [['v=spf1 ', '-all']]);
  assert.deepEqual(await r.ptr('127.0.0.2'), ['mx1.example.test']);
  assert.ok(dns.queries.includes('MX example.test'));
});

test('a name without records of the type answers []; a missing name is NXDOMAIN', async () => {
  const r = resolver();
  assert.deepEqual(await r.mx('big.test'), []);
  await assert.rejects(r.a('nowhere.test'), (e: unknown) => isDnsError(e, 'NXDOMAIN'));
});

test('a null MX (RFC 7505) reads as one record with an empty exchange', async () => {
  assert.deepEqual(await resolver().mx('null.test'), [{ exchange: '', priority: 0 }]);
});

test('IDN names are asked as A-labels', async () => {
  assert.deepEqual(await resolver().a('bücher.test'), ['127.0.0.9']);
  assert.ok(dns.queries.includes('A xn--bcher-kva.test'));
});

test('names c-ares refuses ("+", "=", "%": SPF macros of local parts) are asked in our own packets', async () => {
  const packetLookup = createSecureLookup({ nameservers: [dns.address], timeoutMs: 1000, tries: 1, trustAd: false });
  const r = createResolver({ nameservers: [dns.address], timeoutMs: 1000, tries: 1, packetLookup });
  assert.deepEqual(await r.a('A+B=C._spf.example.test'), ['127.0.0.10']);
  assert.deepEqual(await r.txt('a+b=c._spf.example.test'), [['v=spf1 -all']]);
  assert.deepEqual(await r.aaaa('a+b=c._spf.example.test'), []);
  await assert.rejects(r.a('a+b=d._spf.example.test'), (e: unknown) => isDnsError(e, 'NXDOMAIN'));
  // "%2B" is three octets of the name, not an escaped "+".
  assert.deepEqual(await r.a('x%2By._spf.example.test'), ['127.0.0.11']);
  assert.ok(dns.queries.includes('A x%2by._spf.example.test'));
});

test('an answer too big for UDP is fetched again over TCP', async () => {
  const before = dns.tcpQueries;
  const txt = await resolver().txt('big.test');
  assert.equal(txt.length, 2);
  assert.equal(txt.map((t) => t.join('')).join('').length, 700);
  assert.ok(dns.tcpQueries > before, 'the truncated UDP answer made the resolver retry over TCP');
});

test('SERVFAIL and an unreachable nameserver are temporary failures', async () => {
  dns.failing.add('example.test');
  try {
    await assert.rejects(resolver().mx('example.test'), (e: unknown) => isDnsError(e, 'TEMPFAIL'));
  } finally {
    dns.failing.delete('example.test');
  }
  // A port where nothing answers: the query times out.
  const dead = createResolver({ nameservers: ['127.0.0.1:9'], timeoutMs: 200, tries: 1 });
  await assert.rejects(dead.a('example.test'), (e: unknown) => e instanceof DnsError && e.code === 'TEMPFAIL');
});

test('the node-style adapter rejects like dns.resolve for absent answers', async () => {
  const resolve = nodeStyleResolver(resolver());
  assert.deepEqual(await resolve('example.test', 'TXT'), [['v=spf1 ', '-all']]);
  await assert.rejects(resolve('big.test', 'MX'), { code: 'ENODATA' });
  await assert.rejects(resolve('nowhere.test', 'TXT'), { code: 'ENOTFOUND' });
});

test('reverse-mapping names read back as the addresses they stand for', () => {
  assert.equal(reverseNameAddress('5.0.0.127.in-addr.arpa'), '127.0.0.5');
  assert.equal(reverseNameAddress('5.0.0.127.IN-ADDR.ARPA.'), '127.0.0.5');
  assert.equal(
    reverseNameAddress('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa'),
    '2001:0db8:0000:0000:0000:0000:0000:0001',
  );
  // Not a whole address: a zone cut, an octet out of range, too few nibbles; and names that are no such name.
  assert.equal(reverseNameAddress('0.127.in-addr.arpa'), null);
  assert.equal(reverseNameAddress('256.0.0.127.in-addr.arpa'), null);
  assert.equal(reverseNameAddress('1.0.0.2.ip6.arpa'), null);
  assert.equal(reverseNameAddress('127.0.0.1'), null);
  assert.equal(reverseNameAddress('example.test'), null);
});

test('the node-style adapter answers PTR for the reverse name (as mailauth asks) and for the address', async () => {
  const resolve = nodeStyleResolver(resolver());
  assert.deepEqual(await resolve('2.0.0.127.in-addr.arpa', 'PTR'), ['mx1.example.test']);
  assert.deepEqual(await resolve(`1.${'0.'.repeat(31)}ip6.arpa`, 'PTR'), ['six.example.test']);
  assert.deepEqual(await resolve('127.0.0.2', 'PTR'), ['mx1.example.test']);
  await assert.rejects(resolve('3.0.0.127.in-addr.arpa', 'PTR'), { code: 'ENOTFOUND' });
});
