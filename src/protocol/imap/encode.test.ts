// Strings, literals, mailbox names and dates as IMAP writes and reads them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { astring, formatDateTime, imapString, mailboxName, nstring, parseDate, parseDateTime } from './encode.ts';

test('strings: quoted when possible, literal otherwise', () => {
  assert.equal(imapString('a "b" \\c'), '"a \\"b\\" \\\\c"');
  assert.equal(imapString('two\r\nlines'), '{10}\r\ntwo\r\nlines');
  assert.equal(imapString('caf\u00e9'), '{5}\r\ncaf\u00e9');
  assert.equal(imapString('caf\u00e9', true), '"caf\u00e9"');
  assert.equal(nstring(null), 'NIL');
  assert.equal(astring('INBOX'), 'INBOX');
  assert.equal(astring('Sent Items'), '"Sent Items"');
  assert.equal(astring('NIL'), '"NIL"');
  assert.equal(mailboxName('Envoy\u00e9s', false), 'Envoy&AOk-s');
  assert.equal(mailboxName('Envoy\u00e9s', true), '"Envoy\u00e9s"');
});

test('date-time round trip and RFC 9051 forms', () => {
  const t = parseDateTime('17-Jul-1996 02:44:25 -0700');
  assert.equal(t, Date.UTC(1996, 6, 17, 9, 44, 25));
  assert.equal(formatDateTime(t!), '"17-Jul-1996 09:44:25 +0000"');
  assert.equal(parseDateTime(' 7-Jul-1996 02:44:25 +0000'), Date.UTC(1996, 6, 7, 2, 44, 25));
  for (const bad of ['31-Feb-2020 00:00:00 +0000', '17-Foo-1996 02:44:25 -0700', '17-Jul-1996 25:00:00 +0000'])
    assert.equal(parseDateTime(bad), null, bad);
  assert.equal(parseDate('1-Feb-1994'), Date.UTC(1994, 1, 1));
  assert.equal(parseDate('30-Feb-1994'), null);
});
