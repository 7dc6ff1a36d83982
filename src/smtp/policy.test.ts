import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalAddress } from '../directory/address.ts';
import { networkMatcher } from './policy.ts';

test('trusted networks: CIDR and single addresses, IPv4 and IPv6; empty trusts nobody', () => {
  const none = networkMatcher([]);
  assert.equal(none('127.0.0.1'), false);
  const m = networkMatcher(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32']);
  assert.equal(m('10.1.2.3'), true);
  assert.equal(m('11.0.0.1'), false);
  assert.equal(m('192.0.2.7'), true);
  assert.equal(m('192.0.2.8'), false);
  assert.equal(m('2001:db8::1'), true);
  assert.equal(m('2001:db9::1'), false);
  assert.equal(m('127.0.0.1'), false, 'loopback is not trusted unless listed');
  assert.equal(m('not an ip'), false);
  assert.throws(() => networkMatcher(['10.0.0.0/33']), /prefix/);
  assert.throws(() => networkMatcher(['example.org']), /not an address/);
});

test('canonical addresses: lower case, IDN domains as A-labels', () => {
  assert.equal(canonicalAddress('Alice', 'Example.ORG'), 'alice@example.org');
  assert.equal(canonicalAddress('bob', '例子.test'), 'bob@xn--fsqu00a.test');
  assert.equal(canonicalAddress('x', 'bad..domain'), null);
});
