// "TLS-Required: No" (RFC 8689 section 3) in a message's header section, as the queue reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tlsRequiredNo } from './service.ts';

test('TLS-Required: No is found in the header section only, folded or not, any case', () => {
  const m = (head: string, body = 'x\r\n') => Buffer.from(`${head}\r\n${body}`);
  assert.ok(tlsRequiredNo(m('Subject: a\r\nTLS-Required: No\r\n')));
  assert.ok(tlsRequiredNo(m('tls-required:no\r\nSubject: a\r\n')));
  assert.ok(tlsRequiredNo(m('Subject: a\r\nTLS-Required:\r\n  No  \r\n')));
  assert.ok(!tlsRequiredNo(m('Subject: a\r\nTLS-Required: Yes\r\n')));
  assert.ok(!tlsRequiredNo(m('Subject: a\r\nTLS-Required: Nope\r\n')));
  assert.ok(!tlsRequiredNo(m('Subject: a\r\nX-TLS-Required: No\r\n')));
  assert.ok(!tlsRequiredNo(m('Subject: a\r\n', 'TLS-Required: No\r\n')), 'a body line is not a header field');
});
