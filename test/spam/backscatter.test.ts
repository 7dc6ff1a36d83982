// Backscatter over the wire: alice sends through submission (nodemailer, authenticated) and a trusted
// network relays a message through the MX listener; bounces then arrive from another server (127.0.0.42)
// with a null reverse-path. A bounce returning one of those messages scores BOUNCE_OURS; one returning a
// message nobody here sent (a spammer forged alice's address) scores BACKSCATTER; a bounce quoting no
// Message-ID scores BOUNCE_NO_ORIGINAL; the same report with a real sender is not a bounce.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { newestVerdict, startSpamWorld, submit, USER } from './fixture.ts';

const BOB = 'bob@example.com';
let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({
    configure(c) {
      c.listeners.submission.enabled = true;
      c.smtp.trusted_networks = ['127.0.0.50/32'];
    },
  });
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
});
after(() => f?.stop());

/** One SMTP transaction from `ip` to alice; the reply to the data. */
const smtp = (ip: string, from: string, data: string) =>
  transaction(f.server.ports.smtp, { ip, helo: 'mx.remote.test', from, to: [USER], data });

/** A delivery status report (RFC 3464) about a message with this Message-ID (none: no original quoted). */
function bounce(originalId: string | null, n: string): string {
  return [
    'From: Mail Delivery System <MAILER-DAEMON@mx.remote.test>',
    `To: ${USER}`,
    `Subject: Undelivered Mail Returned to Sender ${n}`,
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <bounce.${n}@mx.remote.test>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    '--b',
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; mx.remote.test',
    '',
    'Final-Recipient: rfc822; nobody@remote.test',
    'Action: failed',
    'Status: 5.1.1',
    '--b',
    'Content-Type: text/rfc822-headers',
    '',
    `From: ${USER}`,
    ...(originalId ? [`Message-ID: <${originalId}>`] : []),
    'Subject: the original',
    '--b--',
  ].join('\r\n');
}

const remembered = (id: string) =>
  waitFor(
    async () => (await f.app.store.reputation.lookup([{ kind: 'reply', key: id }], Date.now(), 1e12)).length > 0,
    5000,
    `${id} remembered as sent`,
  );

test('bounces of our own mail pass; bounces of forgeries score BACKSCATTER', async () => {
  // alice sends through submission; a trusted network relays another message.
  const sent = await submit(f, {
    to: [BOB],
    raw: `From: ${USER}\r\nTo: ${BOB}\r\nSubject: ours\r\nMessage-ID: <ours.1@example.com>\r\n\r\nHello.\r\n`,
  });
  assert.ok(sent.ok, sent.response);
  const relayed = await smtp(
    '127.0.0.50',
    USER,
    `From: ${USER}\r\nTo: ${USER}\r\nSubject: relayed\r\nMessage-ID: <relayed.1@example.com>\r\n\r\nFrom the web app.`,
  );
  assert.equal(relayed.code, 250, relayed.raw);
  await remembered('ours.1@example.com');
  await remembered('relayed.1@example.com');

  assert.equal((await smtp('127.0.0.42', '', bounce('ours.1@example.com', '1'))).code, 250);
  let v = await newestVerdict(f, USER);
  assert.equal(v.symbols.BOUNCE_OURS, -3, JSON.stringify(v.symbols));
  assert.ok(!('BACKSCATTER' in v.symbols));

  assert.equal((await smtp('127.0.0.42', '', bounce('relayed.1@example.com', '2'))).code, 250);
  assert.equal((await newestVerdict(f, USER)).symbols.BOUNCE_OURS, -3);

  // A forgery's bounce: alice never sent this.
  assert.equal((await smtp('127.0.0.42', '', bounce('forged.1@example.com', '3'))).code, 250);
  v = await newestVerdict(f, USER);
  assert.equal(v.symbols.BACKSCATTER, 5, JSON.stringify(v.symbols));

  assert.equal((await smtp('127.0.0.42', '', bounce(null, '4'))).code, 250);
  v = await newestVerdict(f, USER);
  assert.equal(v.symbols.BOUNCE_NO_ORIGINAL, 1, JSON.stringify(v.symbols));

  // The same report from a real sender is not a bounce (the reverse-path says so).
  assert.equal((await smtp('127.0.0.42', 'someone@remote.test', bounce('forged.2@example.com', '5'))).code, 250);
  v = await newestVerdict(f, USER);
  assert.ok(
    !Object.keys(v.symbols).some((s) => s.startsWith('BOUNCE') || s === 'BACKSCATTER'),
    JSON.stringify(v.symbols),
  );
});
