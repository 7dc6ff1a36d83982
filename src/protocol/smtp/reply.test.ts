import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatReply, reply, safeText } from './reply.ts';

test('single and multi-line replies, enhanced codes on every line (RFC 2034 section 4)', () => {
  assert.equal(formatReply(reply(250, '2.1.0', 'Sender OK')), '250 2.1.0 Sender OK\r\n');
  assert.equal(
    formatReply(reply(250, '', 'mx', 'PIPELINING', 'SIZE 100')),
    '250-mx\r\n250-PIPELINING\r\n250 SIZE 100\r\n',
  );
  assert.equal(formatReply(reply(550, '5.1.1', 'a', 'b')), '550-5.1.1 a\r\n550 5.1.1 b\r\n');
});

test('client text cannot split a reply', () => {
  assert.equal(safeText('x\r\n250 ok'), 'x??250 ok');
  assert.equal(safeText('a'.repeat(1000)).length, 400);
});
