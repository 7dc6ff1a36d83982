// Command parsing, from the RFCs' own example lines (RFC 1939 sections 4-7 and 9, RFC 2449, RFC 5034).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isParseError, type Pop3Command, parseCommand, parseSaslResponse } from './command.ts';

test('RFC 1939 and RFC 5034 example commands parse to typed values', () => {
  const cases: [string, Pop3Command][] = [
    ['USER mrose', { verb: 'USER', name: 'mrose' }],
    ['PASS secret', { verb: 'PASS', password: 'secret' }],
    [
      'APOP mrose c4c9334bac560ecc979e58001b3e22fb',
      { verb: 'APOP', name: 'mrose', digest: 'c4c9334bac560ecc979e58001b3e22fb' },
    ],
    ['STAT', { verb: 'STAT' }],
    ['LIST', { verb: 'LIST', msg: null }],
    ['LIST 2', { verb: 'LIST', msg: 2 }],
    ['RETR 1', { verb: 'RETR', msg: 1 }],
    ['DELE 1', { verb: 'DELE', msg: 1 }],
    ['NOOP', { verb: 'NOOP' }],
    ['RSET', { verb: 'RSET' }],
    ['QUIT', { verb: 'QUIT' }],
    ['TOP 1 10', { verb: 'TOP', msg: 1, lines: 10 }],
    ['TOP 1 0', { verb: 'TOP', msg: 1, lines: 0 }],
    ['TOP 1 99999999999', { verb: 'TOP', msg: 1, lines: 99999999999 }],
    [`TOP 1 ${'9'.repeat(400)}`, { verb: 'TOP', msg: 1, lines: Number.MAX_SAFE_INTEGER }],
    ['UIDL', { verb: 'UIDL', msg: null }],
    ['UIDL 2', { verb: 'UIDL', msg: 2 }],
    ['CAPA', { verb: 'CAPA' }],
    ['STLS', { verb: 'STLS' }],
    ['AUTH', { verb: 'AUTH', mechanism: null, initial: null }],
    ['AUTH GSSAPI', { verb: 'AUTH', mechanism: 'GSSAPI', initial: null }],
    ['AUTH plain dGVzdAB0ZXN0AHRlc3Q=', { verb: 'AUTH', mechanism: 'PLAIN', initial: 'dGVzdAB0ZXN0AHRlc3Q=' }],
    ['AUTH PLAIN =', { verb: 'AUTH', mechanism: 'PLAIN', initial: '=' }],
  ];
  for (const [line, want] of cases) assert.deepEqual(parseCommand(line), want, line);
});

test('keywords are case-insensitive; PASS keeps spaces; extra spaces between arguments are tolerated', () => {
  assert.deepEqual(parseCommand('retr 3'), { verb: 'RETR', msg: 3 });
  assert.deepEqual(parseCommand('Pass two words  '), { verb: 'PASS', password: 'two words  ' });
  assert.deepEqual(parseCommand('TOP  1  5'), { verb: 'TOP', msg: 1, lines: 5 });
  assert.deepEqual(parseCommand(Buffer.from('PASS pässwörd')), { verb: 'PASS', password: 'pässwörd' });
});

test('unknown keywords and bad arguments are errors the session answers with -ERR', () => {
  const cases: [string, 'unknown' | 'syntax'][] = [
    ['', 'unknown'],
    ['HELO there', 'unknown'],
    ['XTND XMIT', 'unknown'],
    ['AUTHENTICATE PLAIN', 'unknown'],
    ['RETR', 'syntax'],
    ['RETR 0', 'syntax'],
    ['RETR -1', 'syntax'],
    ['RETR one', 'syntax'],
    ['RETR 1234567890', 'syntax'],
    ['RETR 1 2', 'syntax'],
    ['TOP 1', 'syntax'],
    ['TOP 1 -1', 'syntax'],
    ['TOP 1234567890 1', 'syntax'],
    ['LIST 1 2', 'syntax'],
    ['STAT now', 'syntax'],
    ['QUIT please', 'syntax'],
    ['USER', 'syntax'],
    ['USER a b', 'syntax'],
    ['PASS', 'syntax'],
    ['PASS ', 'syntax'],
    ['APOP mrose', 'syntax'],
    ['AUTH PLAIN a b', 'syntax'],
    ['USER caf\u00e9', 'syntax'],
  ];
  for (const [line, kind] of cases) {
    const r = parseCommand(line);
    assert.ok(isParseError(r), line);
    assert.equal(r.error, kind, line);
  }
  const long = parseCommand('X'.repeat(100));
  assert.ok(isParseError(long) && long.keyword.length === 16, 'the keyword shown in logs is bounded');
});

test('SASL responses (RFC 5034 section 4): "*" cancels, "=" is an empty initial response, strict base64', () => {
  assert.equal(parseSaslResponse('*', false), 'cancel');
  assert.equal(parseSaslResponse('=', true), '');
  assert.equal(parseSaslResponse('', false), '');
  assert.equal(parseSaslResponse('dGVzdAB0ZXN0AHRlc3Q=', true), 'dGVzdAB0ZXN0AHRlc3Q=');
  for (const bad of ['=AAA', 'AAA=BBB', 'AAA', 'AA A', 'AAAA====', 'é'])
    assert.equal(parseSaslResponse(bad, false), null, bad);
  assert.equal(parseSaslResponse('*', true), null, 'an initial response cannot cancel');
});
