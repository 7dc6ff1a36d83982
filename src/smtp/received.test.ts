import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rfc5322Date } from '../mime/date.ts';
import { withProtocol } from './received.ts';

test('with-protocol names (RFC 3848, RFC 6531 section 3.7.3)', () => {
  const w = (lmtp: boolean, esmtp: boolean, tls: boolean, auth: boolean, utf8: boolean) =>
    withProtocol({ lmtp, esmtp, tls, auth, utf8 });
  assert.equal(w(false, false, false, false, false), 'SMTP');
  assert.equal(w(false, true, false, false, false), 'ESMTP');
  assert.equal(w(false, true, true, false, false), 'ESMTPS');
  assert.equal(w(false, true, false, true, false), 'ESMTPA');
  assert.equal(w(false, true, true, true, false), 'ESMTPSA');
  assert.equal(w(false, true, false, false, true), 'UTF8SMTP');
  assert.equal(w(false, true, true, true, true), 'UTF8SMTPSA');
  assert.equal(w(false, true, true, false, true), 'UTF8SMTPS');
  assert.equal(w(true, true, false, false, false), 'LMTP');
  assert.equal(w(true, true, true, true, false), 'LMTPSA');
  assert.equal(w(true, true, false, false, true), 'UTF8LMTP');
});

test('RFC 5322 date-time in UTC', () => {
  assert.equal(rfc5322Date(Date.UTC(2026, 0, 5, 9, 3, 7)), 'Mon, 05 Jan 2026 09:03:07 +0000');
  assert.equal(rfc5322Date(Date.UTC(2024, 1, 29, 23, 59, 59)), 'Thu, 29 Feb 2024 23:59:59 +0000');
});
