// MTA-STS grammar (RFC 8461 sections 3.1, 3.2, 4.1): TXT records, policy files, MX patterns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mxAllowed, mxMatches, parsePolicy, stsRecordId } from './policy.ts';

test('TXT record: exactly one v=STSv1 record with a valid id; strings concatenated; others ignored', () => {
  assert.equal(stsRecordId([['v=STSv1; id=20160831085700Z;']]), '20160831085700Z');
  assert.equal(stsRecordId([['v=STSv1;', ' id=abc']]), 'abc');
  assert.equal(stsRecordId([['v=spf1 -all'], ['v=STSv1; id=x1; ext_1=yes']]), 'x1');
  assert.equal(stsRecordId([['v=STSv1; id=a'], ['v=STSv1; id=b']]), null, 'two records: none');
  assert.equal(stsRecordId([['v=STSv1']]), null, 'no id');
  assert.equal(stsRecordId([['v=STSv1; id=not-alnum']]), null);
  assert.equal(stsRecordId([['v=STSv1; id=a; bad']]), null, 'a field without "="');
  assert.equal(stsRecordId([['id=a; v=STSv1']]), null, 'must begin with the version');
  assert.equal(stsRecordId([]), null);
});

test('policy file: CRLF or LF, first of repeated fields, mx required unless mode none, max_age capped', () => {
  assert.deepEqual(
    parsePolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.Example.net\r\nmax_age: 604800\r\n'),
    { mode: 'enforce', mx: ['mail.example.com', '*.example.net'], maxAge: 604800 },
  );
  assert.deepEqual(
    parsePolicy('version: STSv1\nmode: testing\nmode: enforce\nmx: a.example\nmax_age: 9999999999\nfoo: bar\n'),
    {
      mode: 'testing',
      mx: ['a.example'],
      maxAge: 31557600,
    },
  );
  assert.deepEqual(parsePolicy('version: STSv1\nmode: none\nmax_age: 0'), { mode: 'none', mx: [], maxAge: 0 });
  assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmax_age: 60\n'), null, 'enforce without mx');
  assert.equal(parsePolicy('version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 60\n'), null);
  assert.equal(parsePolicy('version: STSv1\nmode: strict\nmx: a.example\nmax_age: 60\n'), null);
  assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n'), null);
  assert.equal(parsePolicy('version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 60\n'), null);
  assert.equal(parsePolicy('<html>version: STSv1</html>'), null);
});

test('MX patterns: exact names, or one left-most label for "*."', () => {
  assert.ok(mxMatches('mail.example.com', 'mail.example.com'));
  assert.ok(mxMatches('MAIL.example.com.', 'mail.example.com'));
  assert.ok(mxMatches('mail.example.com', '*.example.com'));
  assert.ok(!mxMatches('example.com', '*.example.com'));
  assert.ok(!mxMatches('foo.bar.example.com', '*.example.com'));
  assert.ok(!mxMatches('mail.example.com.evil.test', 'mail.example.com'));
  assert.ok(mxAllowed('mx2.example.net', { mode: 'enforce', mx: ['mx1.example.net', '*.example.net'], maxAge: 1 }));
});
