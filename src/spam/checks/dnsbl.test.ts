// Blocklist query names (RFC 5782 section 2.1, 2.4) and the zone syntax of spam.dnsbl.zones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dnsblName, parseZone } from './dnsbl.ts';

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
