// A forwarding alias across SMTP in and the outbound queue: mail from the internet (MX listener) to an
// alias of a local domain whose target is an external address is relayed to that address's MX, only
// because the alias says so; the same client naming the external address itself is refused (no open relay).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from '../helpers/outbound.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startWorld, USER } from './world.ts';

test('an alias to an external address relays mail from the internet; the address itself is refused', {
  timeout: 60000,
}, async () => {
  const f = await startWorld({ listeners: ['smtp'] });
  try {
    await f.app.directory.addAlias('fwd@example.com', ['carol@remote.test']);
    await f.app.directory.addAlias('team@example.com', [USER, 'carol@remote.test']);
    const mta = await f.mta('127.0.0.2');
    const c = await RawSmtp.open(f.server.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO mail.sender.test');
    await c.expect(250, 'MAIL FROM:<dave@sender.test>');
    // Without an alias the external address is someone else's domain: relaying is refused.
    await c.expect(554, 'RCPT TO:<carol@remote.test>', /5\.7\.1 <carol@remote\.test>: Relay access denied/);
    await c.expect(550, 'RCPT TO:<nobody@example.com>', /5\.1\.1 /);
    await c.expect(250, 'RCPT TO:<fwd@example.com>');
    await c.expect(354, 'DATA');
    const raw =
      'From: Dave <dave@sender.test>\r\nTo: fwd@example.com\r\nSubject: please forward\r\n' +
      'Message-ID: <fwd-1@sender.test>\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n\r\nFor Carol.\r\n..dot\r\n';
    c.write(`${raw}.\r\n`);
    const ok = await c.expect(250, undefined, /2\.0\.0 OK: queued as /);
    const id = /queued as (\S+)/.exec(ok.raw)![1];
    // Acknowledged once queued, for the alias's target, with the sender SRS-rewritten into the alias's
    // domain (smtp.srs; test/smtp/srs.test.ts follows bounces back).
    const queued = await f.app.store.queue.get(id);
    assert.ok(queued, 'the 250 came after the message was in the queue');
    assert.match(queued.message.from, /^SRS0=\w{6}=\w{2}=sender\.test=dave@example\.com$/);
    assert.deepEqual(
      queued.recipients.map((r) => r.address),
      ['carol@remote.test'],
    );

    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 10000, 'the relayed message');
    assert.equal(m.from, queued.message.from);
    assert.deepEqual(m.rcpts, ['carol@remote.test']);
    const data = m.data.toString();
    assert.ok(data.endsWith(raw.replace('\r\n..dot', '\r\n.dot')), 'relayed unchanged (dots unstuffed)');
    // Mail from the internet leaves ARC-sealed by the alias's domain (RFC 8617), then our Received.
    assert.match(data, /^ARC-Seal: i=1; [^\r]*d=example\.com; s=e2e;/);
    assert.match(
      data.replace(/^(?:ARC-[A-Za-z-]+:[^\r]*\r\n(?:[ \t][^\r]*\r\n)*)+/, ''),
      /^Received: from mail\.sender\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.petrel \(Petrel\) with ESMTP id \S+\r\n\tfor <fwd@example\.com>; /,
    );
    assert.doesNotMatch(data, /^DKIM-Signature:/m, 'mail of another domain is not signed with ours');
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the queue to let go');

    // A group with a local and an external target: one copy stored, one relayed.
    await c.expect(250, 'MAIL FROM:<dave@sender.test>');
    await c.expect(250, 'RCPT TO:<team@example.com>');
    await c.expect(354, 'DATA');
    c.write('From: dave@sender.test\r\nSubject: to the team\r\n\r\nHello team.\r\n.\r\n');
    await c.expect(250);
    await c.expect(221, 'QUIT');
    c.close();
    await waitFor(() => mta.received().length === 2, 10000, 'the second relayed message');
    assert.deepEqual(mta.received()[1].rcpts, ['carol@remote.test']);
    const inbox = await f.inbox(USER);
    assert.equal(inbox.length, 1);
    assert.match(inbox[0], /^Delivered-To: alice@example\.com\r\n/);
    assert.match(inbox[0], /\r\n\r\nHello team\.\r\n$/);
    // Only the alias's targets ever reached the remote side: the refused RCPT left no trace there.
    assert.deepEqual(
      mta.sessions.flatMap((s) => s.commands.filter((l) => l.startsWith('RCPT'))),
      ['RCPT TO:<carol@remote.test>', 'RCPT TO:<carol@remote.test>'],
    );
  } finally {
    await f.stop();
  }
});
