import assert from 'node:assert/strict';
import { test } from 'node:test';
import { challenge, err, MAX_RESPONSE_LINE, multiLine, ok } from './response.ts';

test('status lines as RFC 1939 and RFC 2449 show them', () => {
  assert.equal(ok(), '+OK\r\n');
  assert.equal(ok('2 320'), '+OK 2 320\r\n');
  assert.equal(err('no such message'), '-ERR no such message\r\n');
  assert.equal(
    err('Do you have another POP session running?', 'IN-USE'),
    '-ERR [IN-USE] Do you have another POP session running?\r\n',
  );
});

test('response text never breaks the line or its 512-octet limit', () => {
  assert.equal(err('a\r\nb'), '-ERR a b\r\n');
  const long = err('é'.repeat(600), 'SYS/TEMP');
  assert.ok(Buffer.byteLength(long) <= MAX_RESPONSE_LINE);
  assert.ok(long.endsWith('\r\n') && !long.includes('\uFFFD'));
});

test('multi-line lists end with "." and byte-stuff a leading dot (RFC 1939 section 3)', () => {
  assert.equal(multiLine('', ['1 120', '2 200']), '+OK\r\n1 120\r\n2 200\r\n.\r\n');
  assert.equal(multiLine('Capability list follows', []), '+OK Capability list follows\r\n.\r\n');
  assert.equal(multiLine('', ['.hidden']), '+OK\r\n..hidden\r\n.\r\n');
});

test('SASL challenges (RFC 5034 section 4): base64, or "+ " alone when empty', () => {
  assert.equal(challenge(Buffer.alloc(0)), '+ \r\n');
  assert.equal(challenge(Buffer.from('hi')), '+ aGk=\r\n');
});
