// Table tests of the client grammar, from the RFCs' own examples where they have them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assembleReply,
  decodeXtext,
  dotStuff,
  encodeXtext,
  formatReply,
  orcptParam,
  parseEhlo,
  parseReplyLine,
  ReplySyntaxError,
  toCrlf,
} from './reply.ts';

test('reply lines: RFC 5321 section 4.2.1 multiline example', () => {
  const lines = ['250-First line', '250-Second line', '250-234 Text beginning with numbers', '250 The last line'];
  assert.deepEqual(
    lines.map((l) => parseReplyLine(l).last),
    [false, false, false, true],
  );
  const r = assembleReply(lines);
  assert.equal(r.code, 250);
  assert.equal(r.enhanced, null);
  assert.deepEqual(r.lines, ['First line', 'Second line', '234 Text beginning with numbers', 'The last line']);
});

test('reply lines: bare code, and garbage refused', () => {
  assert.deepEqual(parseReplyLine('250'), { code: 250, last: true, text: '' });
  for (const bad of ['', '25', '2500 x', '650 no', 'abc def', '250x'])
    assert.throws(() => parseReplyLine(bad), ReplySyntaxError, bad);
});

test('a multi-line reply whose lines disagree on the code is refused (RFC 5321 section 4.2.1)', () => {
  assert.throws(() => assembleReply(['250-looks fine', '550 rejected after all']), ReplySyntaxError);
  assert.throws(() => assembleReply(['550-no', '551-no', '550 no']), ReplySyntaxError);
});

test('enhanced status codes (RFC 2034 section 4) are split from the text on every line', () => {
  const r = assembleReply(['550-5.1.1 The email account that you tried', '550 5.1.1 does not exist']);
  assert.equal(r.enhanced, '5.1.1');
  assert.deepEqual(r.lines, ['The email account that you tried', 'does not exist']);
  assert.equal(formatReply(r), '550 5.1.1 The email account that you tried does not exist');
  // A class that disagrees with the reply code is not an enhanced code.
  assert.equal(assembleReply(['250 5.0.0 odd']).enhanced, null);
  assert.equal(assembleReply(['451 4.3.0']).enhanced, '4.3.0');
});

test('EHLO keywords and parameters (RFC 5321 section 4.1.1.1)', () => {
  const caps = parseEhlo(
    assembleReply([
      '250-mx.example.test Hello',
      '250-PIPELINING',
      '250-SIZE 10240000',
      '250-8BITMIME',
      '250-starttls',
      '250-AUTH PLAIN LOGIN',
      '250 DSN',
    ]),
  );
  assert.deepEqual([...caps.keys()], ['PIPELINING', 'SIZE', '8BITMIME', 'STARTTLS', 'AUTH', 'DSN']);
  assert.deepEqual(caps.get('SIZE'), ['10240000']);
  assert.deepEqual(caps.get('AUTH'), ['PLAIN', 'LOGIN']);
});

test('xtext (RFC 3461 section 4): + and = and controls are hex-escaped; round trip', () => {
  assert.equal(encodeXtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(encodeXtext('Jöe'), 'J+C3+B6e');
  for (const s of ['simple', 'x+y=z', 'Jöe <q>', '\u0001\u007f']) assert.equal(decodeXtext(encodeXtext(s)), s);
  assert.equal(orcptParam('rfc822;bob+tag@example.test'), 'rfc822;bob+2Btag@example.test');
  assert.equal(orcptParam('bob@example.test'), 'rfc822;bob@example.test');
});

test('dot-stuffing (RFC 5321 section 4.5.2) and the terminator', () => {
  const cases: [string, string][] = [
    ['a\r\n', 'a\r\n.\r\n'],
    ['.a\r\n..b\r\nc.\r\n.\r\n', '..a\r\n...b\r\nc.\r\n..\r\n.\r\n'],
    ['no final newline', 'no final newline\r\n.\r\n'],
    ['', '.\r\n'],
  ];
  for (const [input, want] of cases) assert.equal(dotStuff(Buffer.from(input)).toString(), want, input);
});

test('line ends are normalised to CRLF; CRLF input is returned as is', () => {
  const crlf = Buffer.from('a\r\nb\r\n');
  assert.equal(toCrlf(crlf), crlf);
  assert.equal(toCrlf(Buffer.from('a\nb\rc\r\n')).toString(), 'a\r\nb\r\nc\r\n');
});
