// Allow/block list entries: what is accepted and its normal form, and what a sender identity matches.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { entryMatcher, parseEntry } from './entry.ts';

const value = (s: string) => {
  const p = parseEntry(s);
  return 'error' in p ? `error: ${p.error}` : `${p.type} ${p.value}`;
};

test('entries: addresses, domains (IDN to A-labels), IP addresses and networks, normalised; junk refused', () => {
  assert.equal(value(' Bob@Example.COM '), 'address bob@example.com');
  assert.equal(value('Example.com.'), 'domain example.com');
  assert.equal(value('@example.com'), 'domain example.com');
  assert.equal(value('*.example.com'), 'domain example.com');
  assert.equal(value('*@Example.com'), 'domain example.com');
  assert.equal(value('*@*.example.com'), 'domain example.com');
  assert.match(value('bob*@example.com'), /^error: wildcards are not supported/);
  assert.match(value('*.example.*'), /^error: wildcards are not supported/);
  assert.equal(value('bücher.example'), 'domain xn--bcher-kva.example');
  assert.equal(value('192.0.2.7'), 'network 192.0.2.7');
  assert.equal(value('192.0.2.7/32'), 'network 192.0.2.7');
  assert.equal(value('192.0.2.0/24'), 'network 192.0.2.0/24');
  assert.equal(value('2001:DB8::/32'), 'network 2001:db8::/32');
  // Postfix access-table spellings.
  assert.equal(value('192.168'), 'network 192.168.0.0/16');
  assert.equal(value('10'), 'network 10.0.0.0/8');
  assert.equal(value('192.0.2'), 'network 192.0.2.0/24');
  assert.equal(value('.example.com'), 'domain example.com');
  // Short networks as ip-route(8) writes them, host bits cleared, one spelling per IPv6 network, and an
  // IPv4-mapped entry as its IPv4 address (what an IPv4 client is seen as).
  assert.equal(value('10/8'), 'network 10.0.0.0/8');
  assert.equal(value('192.168.1/24'), 'network 192.168.1.0/24');
  assert.equal(value('192.0.2.7/24'), 'network 192.0.2.0/24');
  assert.equal(value('2001:DB8:0:0::1'), 'network 2001:db8::1');
  assert.equal(value('2001:db8:ffff::/33'), 'network 2001:db8:8000::/33');
  assert.equal(value('::ffff:192.0.2.1'), 'network 192.0.2.1');
  assert.equal(value('::ffff:192.0.2.0/120'), 'network 192.0.2.0/24');
  assert.equal(value('::ffff:0:0/95'), 'network ::fffe:0:0/95');
  for (const bad of [
    '',
    'localhost',
    'a b@example.com',
    'x@nodot',
    '192.0.2.0/33',
    '192.0.2.0/x',
    '-bad-.com',
    'a@',
    '300.1',
    '12345',
    '0x7f.1',
    '1.2.3.04',
    '10/8x',
    'fe80::1%eth0',
  ])
    assert.match(value(bad), /^error: /, bad);
});

test('matching: the address, the domain and its subdomains, the network; first hit returned', () => {
  const m = entryMatcher(
    ['bob@example.com', 'spam.test', '192.0.2.0/24', '2001:db8::/32'].map((entry, id) => ({ id, entry })),
  );
  const hit = (clientIp: string | undefined, ...addresses: string[]) => m({ clientIp, addresses })?.entry ?? null;
  assert.equal(hit(undefined, 'bob@example.com'), 'bob@example.com');
  assert.equal(hit(undefined, 'alice@example.com'), null);
  assert.equal(hit(undefined, 'Bob+News@Example.COM.'), 'bob@example.com', 'a +tag and a root dot');
  assert.equal(hit(undefined, 'x@spam.test.'), 'spam.test');
  assert.equal(hit(undefined, '+x@example.com'), null);
  assert.equal(hit(undefined, 'x@spam.test'), 'spam.test');
  assert.equal(hit(undefined, 'x@a.b.spam.test'), 'spam.test');
  assert.equal(hit(undefined, 'x@notspam.test'), null, 'a suffix is not a subdomain');
  assert.equal(hit('192.0.2.200'), '192.0.2.0/24');
  assert.equal(hit('192.0.3.1'), null);
  assert.equal(hit('2001:db8:1::5'), '2001:db8::/32');
  assert.equal(hit('2001:db9::5'), null);
  assert.equal(hit('not-an-ip', 'y@other.test', 'z@spam.test'), 'spam.test');
  const idn = entryMatcher([{ entry: 'bücher.example' }, { entry: 'Ann@Grüße.example' }]);
  assert.equal(
    idn({ addresses: ['x@shop.bücher.example'] })?.entry,
    'bücher.example',
    'U-labels match A-label entries',
  );
  assert.equal(idn({ addresses: ['ann@xn--gre-6ka8l.example'] })?.entry, 'Ann@Grüße.example');
});
