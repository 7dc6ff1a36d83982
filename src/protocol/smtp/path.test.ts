import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePath, relayTrick } from './path.ts';

test('paths from RFC 5321 section 4.1.2 and RFC 6531', () => {
  const ok: [string, string][] = [
    ['<Smith@bar.com>', 'Smith@bar.com'],
    ['<Jones@foo.com>', 'Jones@foo.com'],
    ['<"John Doe"@example.org>', '"John Doe"@example.org'],
    ['<"plain"@example.org>', 'plain@example.org'],
    ['<a.b+tag@sub.example.org>', 'a.b+tag@sub.example.org'],
    ['<user@[192.0.2.1]>', 'user@[192.0.2.1]'],
    ['<user@[IPv6:2001:db8::1]>', 'user@[IPv6:2001:db8::1]'],
    ['<δοκιμή@παράδειγμα.δοκιμή>', 'δοκιμή@παράδειγμα.δοκιμή'],
    ['<用户@例子.广告>', '用户@例子.广告'],
    // Longer than RFC 5321's 64 octets, as SRS addresses of forwarded mail's bounces often are.
    [
      `<SRS0=ABCDEF=XY=lists.example.net=${'b'.repeat(60)}@example.org>`,
      `SRS0=ABCDEF=XY=lists.example.net=${'b'.repeat(60)}@example.org`,
    ],
  ];
  for (const [input, address] of ok) {
    const r = parsePath(input);
    assert.ok(r.ok, input);
    assert.equal(r.path?.address, address);
  }
  const utf = parsePath('<用户@例子.广告>');
  assert.ok(utf.ok && utf.path?.utf8);
});

test('the null path, Postmaster, and parameters after the path', () => {
  const r = parsePath('<> SIZE=10', { allowEmpty: true });
  assert.ok(r.ok && r.path === null && r.rest === ' SIZE=10');
  assert.equal(parsePath('<>').ok, false);
  const pm = parsePath('<Postmaster>', { allowPostmaster: true });
  assert.ok(pm.ok && pm.postmaster);
});

test('syntax errors', () => {
  for (const bad of [
    'user@example.org',
    '<user>',
    '<user@>',
    '<@example.org>',
    '<user@example..org>',
    '<user@example.org.>',
    '<.user@example.org>',
    '<user.@example.org>',
    '<us..er@example.org>',
    '<user@exa mple.org>',
    '<user@-example.org>',
    '<user@[300.1.1.1]>',
    '<user@remote@local>',
    '<"unterminated@example.org>',
    `<${'a'.repeat(255)}@example.org>`,
    '<user@example.org',
  ])
    assert.equal(parsePath(bad).ok, false, bad);
});

test('relay tricks are recognised', () => {
  const trick = (s: string) => {
    const r = parsePath(s);
    assert.ok(r.ok, s);
    return relayTrick(r.path!);
  };
  assert.match(trick('<user%other.example@local.test>')!, /percent/);
  assert.match(trick('<other.example!user@local.test>')!, /bang/);
  // A source route is parsed, then ignored (RFC 5321 section 4.1.1.3): the mailbox alone decides.
  const routed = parsePath('<@a.example,@b.example:user@local.test>');
  assert.ok(routed.ok && routed.path?.address === 'user@local.test');
  assert.deepEqual(routed.path?.route, ['a.example', 'b.example']);
  assert.equal(relayTrick(routed.path!), null);
  assert.match(trick('<"user@other.example"@local.test>')!, /@/);
  assert.match(trick('<user@[192.0.2.1]>')!, /literal/);
  assert.equal(trick('<user@local.test>'), null);
  assert.equal(trick('<user+tag@local.test>'), null);
});
