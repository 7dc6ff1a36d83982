// Table tests for the RFC 5322 address-list parser, from the RFC's appendix A examples plus garbage.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddressList } from './address.ts';
import type { EnvelopeAddress } from './types.ts';

const a = (name: string | null, mailbox: string | null, host: string | null, adl: string | null = null) =>
  ({ name, adl, mailbox, host }) satisfies EnvelopeAddress;
const groupStart = (name: string) => a(null, name, null);
const groupEnd = a(null, null, null);

test('RFC 5322 appendix A.1 and A.6.1 addresses', () => {
  const cases: [string, EnvelopeAddress[]][] = [
    ['John Doe <jdoe@machine.example>', [a('John Doe', 'jdoe', 'machine.example')]],
    ['Michael Jones <mjones@machine.example>', [a('Michael Jones', 'mjones', 'machine.example')]],
    ['"Joe Q. Public" <john.q.public@example.com>', [a('Joe Q. Public', 'john.q.public', 'example.com')]],
    [
      'Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>',
      [a('Mary Smith', 'mary', 'x.test'), a(null, 'jdoe', 'example.org'), a('Who?', 'one', 'y.test')],
    ],
    [
      '<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>',
      [a(null, 'boss', 'nil.test'), a('Giant; "Big" Box', 'sysservices', 'example.net')],
    ],
    [
      'A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;',
      [
        groupStart('A Group'),
        a('Ed Jones', 'c', 'a.test'),
        a(null, 'joe', 'where.test'),
        a('John', 'jdoe', 'one.test'),
        groupEnd,
      ],
    ],
    ['Undisclosed recipients:;', [groupStart('Undisclosed recipients'), groupEnd]],
    // A.6.1: unquoted "." in the phrase, a route, an empty list element, blanks around ".".
    ['Joe Q. Public <john.q.public@example.com>', [a('Joe Q. Public', 'john.q.public', 'example.com')]],
    [
      'Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example',
      [a('Mary Smith', 'mary', 'example.net', '@node.test'), a(null, 'jdoe', 'test.example')],
    ],
  ];
  for (const [value, expected] of cases) assert.deepEqual(parseAddressList(value), expected, value);
});

test('RFC 5322 appendix A.5: white space, comments and other oddities', () => {
  assert.deepEqual(parseAddressList('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), [
    a('Pete', 'pete', 'silly.test'),
  ]);
  const to =
    "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n" +
    '         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)';
  assert.deepEqual(parseAddressList(to), [
    groupStart('A Group'),
    a('Chris Jones', 'c', 'public.example'),
    a(null, 'joe', 'example.org'),
    a('John', 'jdoe', 'one.test'),
    groupEnd,
  ]);
  assert.deepEqual(parseAddressList('(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;'), [
    groupStart('Hidden recipients'),
    groupEnd,
  ]);
});

test('other real-world forms', () => {
  const cases: [string, EnvelopeAddress[]][] = [
    ['jdoe@example.org (John Doe)', [a('John Doe', 'jdoe', 'example.org')]],
    ['"foo bar"@example.com', [a(null, 'foo bar', 'example.com')]],
    ['<>', [a(null, '', '')]],
    ['undisclosed-recipients', [a(null, 'undisclosed-recipients', '')]],
    ['=?utf-8?Q?J=C3=B6rg?= <j@x.test>', [a('=?utf-8?Q?J=C3=B6rg?=', 'j', 'x.test')]],
    ['Foo <@r1,@r2:x@y>', [a('Foo', 'x', 'y', '@r1,@r2')]],
    ['x@[127.0.0.1]', [a(null, 'x', '[127.0.0.1]')]],
    ['Missing Close <a@b', [a('Missing Close', 'a', 'b')]],
    ['a@b <c@d>', [a('a@b', 'c', 'd')]],
    ['bduyisj36648@Email.cz <bduyisj36648@Email.cz>', [a('bduyisj36648@Email.cz', 'bduyisj36648', 'Email.cz')]],
    ['"Joe"Smith <j@x>', [a('JoeSmith', 'j', 'x')]],
    ['"Margaret"<g@x>, ""<d@y>', [a('Margaret', 'g', 'x'), a(null, 'd', 'y')]],
    ['"unterminated <a@b>', [a(null, 'unterminated <a@b>', '')]],
    // A second "@" ends the domain: it was glued to the next one ("sender.testother.test").
    ['bob@sender.test@other.test', [a(null, 'bob', 'sender.test')]],
    ['Bob <bob@sender.test@other.test>', [a('Bob', 'bob', 'sender.test')]],
    ['', []],
    ['  (only a comment) ', []],
  ];
  for (const [value, expected] of cases) assert.deepEqual(parseAddressList(value), expected, value);
});

// No timing assertion (a loaded machine is slow): quadratic work on these inputs takes minutes and trips
// the test's timeout.
test('garbage never throws and finishes fast', { timeout: 30_000 }, () => {
  for (const g of [',,,<<>>@@::;;"', '\u0000\u00ff@@', ':::;;;', '<<<<<<', '@a,@b:c@d', '(((', '\\', ']]][[[']) {
    assert.ok(Array.isArray(parseAddressList(g)), g);
  }
  parseAddressList('a@b, '.repeat(20000));
  parseAddressList('<'.repeat(50000));
  parseAddressList('g:'.repeat(20000));
  parseAddressList('('.repeat(50000));
});
