// Which reputation rows a SENDER names for `petrel spam reputation`: an IP's own and trap rows (its network
// too when shown), a /24 or /64, a domain's registered-domain and DKIM rows, an address's own row.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from './context.ts';
import { senderKeys } from './spam-reputation.ts';

const names = (keys: { kind: string; key: string }[]) => keys.map((k) => `${k.kind}:${k.key}`);

test('senders to reputation keys', () => {
  assert.deepEqual(names(senderKeys('192.0.2.7', true)), ['ip:192.0.2.7', 'trap:192.0.2.7', 'net:192.0.2.0/24']);
  assert.deepEqual(names(senderKeys('192.0.2.7', false)), ['ip:192.0.2.7', 'trap:192.0.2.7']);
  assert.deepEqual(names(senderKeys('192.0.2.0/24', false)), ['net:192.0.2.0/24']);
  assert.deepEqual(names(senderKeys('2001:db8:1:2::/64', true)), ['net:2001:db8:1:2::/64']);
  assert.deepEqual(names(senderKeys('Mail.News.Example.co.uk', false)), [
    'domain:example.co.uk',
    'dkim:mail.news.example.co.uk',
  ]);
  assert.deepEqual(names(senderKeys('Bob@Example.com', false)), ['from:bob@example.com']);
  assert.deepEqual(names(senderKeys('bob@example.com', true)), [
    'from:bob@example.com',
    'domain:example.com',
    'dkim:example.com',
  ]);
  // An internationalised domain, typed as people write it, names the rows kept under its A-label.
  assert.deepEqual(names(senderKeys('Info@Bücher.example', true)), [
    'from:info@xn--bcher-kva.example',
    'domain:xn--bcher-kva.example',
    'dkim:xn--bcher-kva.example',
  ]);
  for (const bad of ['10.0.0.0/16', '2001:db8::/48', 'not a sender', '@example.com', 'localhost'])
    assert.throws(() => senderKeys(bad, true), UsageError, bad);
});

test('an IPv6 sender typed in another valid form names the row stored for the client address', () => {
  // reputationKeys() records a client at 2001:db8::1 under that (RFC 5952) form.
  for (const typed of ['2001:0DB8::0001', '2001:db8:0:0:0:0:0:1', '2001:DB8::1', '::ffff:192.0.2.1'])
    assert.deepEqual(
      senderKeys(typed, false).filter((k) => k.kind === 'ip'),
      [{ kind: 'ip', key: typed.includes('192.0.2.1') ? '192.0.2.1' : '2001:db8::1' }],
      typed,
    );
});
