// The DSN is a well-formed multipart/report (RFC 3464 section 2, RFC 6522) as our own MIME parser reads it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rfc5322Date } from '../mime/date.ts';
import { parseMessage } from '../mime/parse.ts';
import { buildDsn, type DsnInput, headerOf } from './dsn.ts';

const ORIGINAL = Buffer.from('From: alice@example.com\r\nSubject: hi\r\n\r\nbody line\r\n');

const input = (extra: Partial<DsnInput> = {}): DsnInput => ({
  reportingMta: 'mx.example.com',
  to: 'alice@example.com',
  envId: 'ENV-1',
  arrivalDate: Date.UTC(2024, 0, 2, 3, 4, 5),
  recipients: [
    {
      address: 'bob@remote.test',
      orcpt: 'rfc822;Bob@Remote.test',
      action: 'failed',
      status: '5.1.1',
      remoteMta: 'mx.remote.test',
      diagnostic: '550 5.1.1 no such user',
      lastAttempt: Date.UTC(2024, 0, 2, 3, 5, 0),
      willRetryUntil: null,
    },
    {
      address: 'carol@remote.test',
      orcpt: null,
      action: 'delayed',
      status: '4.4.1',
      remoteMta: null,
      diagnostic: 'connect to mx.remote.test[127.0.0.2]: refused',
      lastAttempt: null,
      willRetryUntil: Date.UTC(2024, 0, 7, 3, 4, 5),
    },
  ],
  original: ORIGINAL,
  ret: 'FULL',
  now: Date.UTC(2024, 0, 2, 3, 6, 0),
  queueId: 'ABC',
  ...extra,
});

test('multipart/report with text, delivery-status and the returned message', () => {
  const raw = buildDsn(input());
  const p = parseMessage(raw);
  assert.equal(`${p.root.type}/${p.root.subtype}`, 'multipart/report');
  assert.equal(p.root.params['report-type'], 'delivery-status');
  assert.deepEqual(
    p.root.children.map((c) => `${c.type}/${c.subtype}`),
    ['text/plain', 'message/delivery-status', 'message/rfc822'],
  );
  const status = raw.subarray(p.root.children[1].bodyStart, p.root.children[1].bodyEnd).toString();
  assert.equal(
    status,
    [
      'Original-Envelope-Id: ENV-1',
      'Reporting-MTA: dns; mx.example.com',
      'X-Petrel-Queue-ID: ABC',
      'Arrival-Date: Tue, 02 Jan 2024 03:04:05 +0000',
      '',
      'Original-Recipient: rfc822; Bob@Remote.test',
      'Final-Recipient: rfc822; bob@remote.test',
      'Action: failed',
      'Status: 5.1.1',
      'Remote-MTA: dns; mx.remote.test',
      'Diagnostic-Code: smtp; 550 5.1.1 no such user',
      'Last-Attempt-Date: Tue, 02 Jan 2024 03:05:00 +0000',
      '',
      'Final-Recipient: rfc822; carol@remote.test',
      'Action: delayed',
      'Status: 4.4.1',
      'Diagnostic-Code: X-Petrel; connect to mx.remote.test[127.0.0.2]: refused',
      'Will-Retry-Until: Sun, 07 Jan 2024 03:04:05 +0000',
      '',
    ].join('\r\n'),
  );
  const returned = p.root.children[2];
  assert.ok(raw.subarray(returned.bodyStart, returned.bodyEnd).equals(ORIGINAL), 'the original, unchanged');
  assert.equal(returned.message?.envelope.subject, 'hi');
  assert.equal(p.headers.subject, 'Undelivered Mail Returned to Sender');
  assert.match(p.headers.from, /MAILER-DAEMON@mx\.example\.com/);
  assert.deepEqual(p.problems, []);
});

test('RET=HDRS returns the header only; internationalised addresses use the RFC 6533 types', () => {
  const hdrs = parseMessage(buildDsn(input({ ret: 'HDRS' })));
  assert.equal(`${hdrs.root.children[2].type}/${hdrs.root.children[2].subtype}`, 'text/rfc822-headers');
  assert.equal(headerOf(ORIGINAL).toString(), 'From: alice@example.com\r\nSubject: hi\r\n\r\n');
  const intl = input();
  intl.recipients = [{ ...intl.recipients[0], address: 'jörg@bücher.test', orcpt: null }];
  const raw = buildDsn(intl);
  const p = parseMessage(raw);
  assert.deepEqual(
    p.root.children.map((c) => `${c.type}/${c.subtype}`),
    ['text/plain', 'message/global-delivery-status', 'message/global'],
  );
  assert.match(raw.toString('utf8'), /Final-Recipient: utf-8; jörg@bücher\.test\r\n/);
});

test('dates are RFC 5322 in UTC', () => {
  assert.equal(rfc5322Date(Date.UTC(2026, 10, 28, 9, 5, 7)), 'Sat, 28 Nov 2026 09:05:07 +0000');
});
