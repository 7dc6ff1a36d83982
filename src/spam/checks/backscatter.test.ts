// What the backscatter check reads of a message, as tables: which messages are bounces (RFC 3464 reports
// and the non-standard kinds), which are not (read receipts, complaints, ordinary mail), and where the
// returned message's Message-ID is found.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import { isBounce, originalMessageId } from './backscatter.ts';

const report = (kind: string, second: string, third: string) =>
  Buffer.from(
    'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>\r\nTo: alice@example.com\r\n' +
      `Subject: Report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=${kind}; boundary="b"\r\n\r\n` +
      '--b\r\nContent-Type: text/plain\r\n\r\nSee below.\r\n' +
      `--b\r\n${second}\r\n` +
      `--b\r\n${third}\r\n--b--\r\n`,
  );

const DSN_FIELDS =
  'Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.test\r\n\r\nFinal-Recipient: rfc822; bob@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n';

const one = (raw: Buffer) => ({ bounce: isBounce(parseMessage(raw)), id: originalMessageId(raw, parseMessage(raw)) });

test('RFC 3464 bounces: the original from text/rfc822-headers or message/rfc822', () => {
  assert.deepEqual(
    one(
      report(
        'delivery-status',
        DSN_FIELDS,
        'Content-Type: text/rfc822-headers\r\n\r\nFrom: alice@example.com\r\nMessage-ID:\r\n <Abc.1@Example.COM>\r\nSubject: hi\r\n',
      ),
    ),
    { bounce: true, id: 'abc.1@example.com' },
  );
  assert.deepEqual(
    one(
      report(
        'delivery-status',
        DSN_FIELDS,
        'Content-Type: message/rfc822\r\n\r\nFrom: alice@example.com\r\nMessage-ID: <m2@example.com>\r\nSubject: hi\r\n\r\nHello.\r\n',
      ),
    ),
    { bounce: true, id: 'm2@example.com' },
  );
  // A report without the original (RET=HDRS lost, or a careless MTA).
  assert.deepEqual(one(report('delivery-status', DSN_FIELDS, 'Content-Type: text/plain\r\n\r\nnothing\r\n')), {
    bounce: true,
    id: null,
  });
});

test('not bounces: read receipts, complaints, ordinary mail', () => {
  const mdn = report(
    'disposition-notification',
    'Content-Type: message/disposition-notification\r\n\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n',
    'Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: <m3@example.com>\r\n',
  );
  assert.equal(one(mdn).bounce, false);
  const arf = report(
    'feedback-report',
    'Content-Type: message/feedback-report\r\n\r\nFeedback-Type: abuse\r\n',
    'Content-Type: message/rfc822\r\n\r\nMessage-ID: <m4@example.com>\r\n\r\nx\r\n',
  );
  assert.equal(one(arf).bounce, false);
  const plain = Buffer.from(
    'From: bob@remote.test\r\nTo: alice@example.com\r\nSubject: lunch\r\nMessage-ID: <own@remote.test>\r\n\r\nMessage-ID: <quoted@example.com>\r\n',
  );
  assert.equal(one(plain).bounce, false);
});

test('non-standard bounces: by subject or sender, the original quoted as text', () => {
  const qmail = Buffer.from(
    'From: MAILER-DAEMON@mail.remote.test\r\nTo: alice@example.com\r\nSubject: failure notice\r\n\r\n' +
      "Hi. This is the qmail-send program.\r\nI'm afraid I wasn't able to deliver your message.\r\n\r\n" +
      '--- Below this line is a copy of the message.\r\n\r\n> Message-Id: <q1@example.com>\r\n> Subject: hi\r\n',
  );
  assert.deepEqual(one(qmail), { bounce: true, id: 'q1@example.com' });
  const exchange = Buffer.from(
    'From: postmaster@remote.test\r\nTo: alice@example.com\r\nSubject: Undeliverable: hi\r\n\r\nDelivery has failed.\r\n',
  );
  assert.deepEqual(one(exchange), { bounce: true, id: null });
});
