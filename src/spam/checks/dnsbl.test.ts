// Blocklist query names (RFC 5782 section 2.1, 2.4), the zone syntax of spam.dnsbl.zones, and which clients
// are looked up (against a DNS server of the test's own).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDnsServer } from '../../../test/helpers/dns-server.ts';
import { context, msg } from '../../../test/spam/context.ts';
import { createResolver } from '../../dns/resolver.ts';
import { dnsblCheck, dnsblName, parseZone } from './dnsbl.ts';

test('IPv4 reversed octets, IPv6 reversed nibbles', () => {
  assert.equal(dnsblName('192.0.2.99', 'bl.test'), '99.2.0.192.bl.test');
  assert.equal(dnsblName('::ffff:192.0.2.1', 'bl.test'), '1.2.0.192.bl.test');
  // The example of RFC 5782 section 2.4.
  assert.equal(
    dnsblName('2001:db8:1:2:3:4:567:89ab', 'ugly.example.com'),
    'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com',
  );
  assert.equal(dnsblName('2001:db8::1', 'z'), `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.z`);
  // An IPv6 address written with its last 32 bits dotted (RFC 4291 section 2.2, form 3), as node prints
  // an IPv4-compatible client (::a.b.c.d) and as NAT64 addresses are written, is still 32 nibbles.
  assert.equal(dnsblName('::127.0.0.2', 'z'), `2.0.0.0.0.0.f.7.${'0.'.repeat(24)}z`);
  assert.equal(dnsblName('64:ff9b::192.0.2.33', 'z'), `1.2.2.0.0.0.0.c.${'0.'.repeat(16)}b.9.f.f.4.6.0.0.z`);
  assert.equal(dnsblName('::FFFF:192.0.2.1', 'z'), '1.2.0.192.z');
  assert.equal(dnsblName('not-an-ip', 'z'), null);
});

test('zone entries with codes, ranges, scores and reject', () => {
  assert.deepEqual(parseZone('bl.example.org'), { zone: 'bl.example.org', codes: [] });
  const z = parseZone('zen.test=127.0.0.2-127.0.0.3:SBL:6,127.0.0.10:pbl:reject');
  assert.equal(z.zone, 'zen.test');
  assert.deepEqual(
    z.codes.map((c) => [c.symbol, c.score, c.to - c.from]),
    [
      ['RBL_SBL', 6, 1],
      ['RBL_PBL', 'reject', 0],
    ],
  );
  assert.throws(() => parseZone('zen.test=127.0.0.2:SBL'), /CODE:SYMBOL:SCORE/);
  assert.throws(() => parseZone('bad zone'), /bad zone/);
});

test('clients on private networks are not looked up; loopback is (127.0.0.2 is the test entry)', async () => {
  // A private address is one of our own relays or a proxy in front of us (Docker's 172.17.0.1): no public
  // list lists it, and asking tells the list's operator our network's layout (rspamd's exclude_private_ips).
  const dns = await startDnsServer({ '2.0.0.127.bl.test': { A: ['127.0.0.2'] } });
  try {
    const check = dnsblCheck({
      resolver: createResolver({ nameservers: [dns.address], timeoutMs: 1000, tries: 1 }),
      zones: [parseZone('bl.test')],
      defaultScore: 3,
      dnsTimeoutMs: 1000,
    });
    const run = (clientIp: string) =>
      check.run(context(msg('Subject: x', '', 'x'), { clientIp }), new AbortController().signal);
    for (const ip of [
      '10.1.2.3',
      '172.17.0.1',
      '192.168.0.9',
      '100.64.0.1',
      '169.254.1.1',
      '::ffff:10.0.0.1',
      'fd00::1',
      'fe80::1',
    ])
      assert.deepEqual(await run(ip), [], ip);
    assert.deepEqual(dns.queries, []);
    assert.deepEqual(
      (await run('127.0.0.2')).map((s) => [s.name, s.score]),
      [['RBL_BL_TEST', 3]],
    );
    assert.deepEqual(
      (await run('::ffff:127.0.0.2')).map((s) => s.name),
      ['RBL_BL_TEST'],
    );
  } finally {
    await dns.stop();
  }
});

test("a listing's TXT record is asked for after the listing, not for a zone that skips it nor a client not listed", async () => {
  const dns = await startDnsServer({
    '2.0.0.127.bl.test': { A: ['127.0.0.2'], TXT: [['Listed: see https://bl.test/127.0.0.2']] },
    '2.0.0.127.quiet.test': { A: ['127.0.0.2'], TXT: [['not asked for']] },
  });
  try {
    const check = dnsblCheck({
      resolver: createResolver({ nameservers: [dns.address], timeoutMs: 1000, tries: 1 }),
      zones: [parseZone('bl.test'), { ...parseZone('quiet.test'), txt: false }],
      defaultScore: 3,
      dnsTimeoutMs: 1000,
    });
    const run = (clientIp: string) =>
      check.run(context(msg('Subject: x', '', 'x'), { clientIp }), new AbortController().signal);
    assert.deepEqual(
      (await run('127.0.0.2')).map((s) => [s.name, s.detail]),
      [
        ['RBL_BL_TEST', 'bl.test 127.0.0.2; Listed: see https://bl.test/127.0.0.2'],
        ['RBL_QUIET_TEST', 'quiet.test 127.0.0.2'],
      ],
    );
    assert.deepEqual(await run('127.0.0.3'), []);
    assert.deepEqual(
      dns.queries.filter((q) => q.startsWith('TXT')),
      ['TXT 2.0.0.127.bl.test'],
    );
  } finally {
    await dns.stop();
  }
});
