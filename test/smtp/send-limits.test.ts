// Sending limits of authenticated accounts (smtp.send_limit_*) over submission: recipients past the limit
// get 451 4.7.1 at RCPT while the transaction goes on with the others, messages past it at MAIL FROM; the
// first refusal per window is logged as a warning with the account; another account is not affected.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseOverrides } from '../../src/smtp/send-limits.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const PW = 'send-limit-pw-1';

const capture = () => captureLog<{ msg: string; account?: string; what?: string; limit?: number }>();

async function session(port: number, user: string) {
  const c = await RawSmtp.open(port);
  await c.expect(220);
  await c.expect(250, 'EHLO client.test');
  await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${user}\0${PW}`).toString('base64')}`);
  return c;
}

const body = 'From: carol@limits.test\r\nSubject: s\r\n\r\nhi\r\n.';

test('recipients and messages past the window limit are refused 451 4.7.1, logged once, per account', async () => {
  const log = capture();
  const s = await startTestServer({
    logTo: log.stream,
    configure(c) {
      c.listeners.submission.enabled = true;
      c.smtp.send_limit_window = '1h';
      c.smtp.send_limit_messages = 2;
      c.smtp.send_limit_recipients = 3;
      c.smtp.send_limit_overrides = ['dave@limits.test=1:100'];
    },
  });
  try {
    await s.app.directory.addDomain('limits.test');
    await s.app.directory.addAccount('carol@limits.test', PW);
    await s.app.directory.addAccount('dave@limits.test', PW);
    const c = await session(s.ports.submission, 'carol@limits.test');
    await c.expect(250, 'MAIL FROM:<carol@limits.test>');
    await c.expect(250, 'RCPT TO:<r1@elsewhere.test>');
    await c.expect(250, 'RCPT TO:<dave@limits.test>');
    await c.expect(354, 'DATA');
    await c.expect(250, body);

    await c.expect(250, 'MAIL FROM:<carol@limits.test>');
    await c.expect(250, 'RCPT TO:<r3@elsewhere.test>');
    const over = await c.cmd('RCPT TO:<r4@elsewhere.test>');
    assert.equal(over.code, 451, over.raw);
    assert.match(over.raw, /4\.7\.1 Sending limit reached: 3 recipients per 1 h/);
    assert.equal((await c.cmd('RCPT TO:<dave@limits.test>')).code, 451, 'local recipients count too');
    await c.expect(354, 'DATA');
    await c.expect(250, body);

    const third = await c.cmd('MAIL FROM:<carol@limits.test>');
    assert.equal(third.code, 451, third.raw);
    assert.match(third.raw, /4\.7\.1 Sending limit reached: 2 messages per 1 h/);
    await c.cmd('QUIT');

    // Another account has its own counts, and here its own limits: 1 message, 100 recipients.
    const d = await session(s.ports.submission, 'dave@limits.test');
    await d.expect(250, 'MAIL FROM:<dave@limits.test>');
    for (const n of [1, 2, 3, 4, 5]) await d.expect(250, `RCPT TO:<r${n}@elsewhere.test>`);
    await d.expect(354, 'DATA');
    await d.expect(250, body.replace('carol@', 'dave@'));
    const second = await d.cmd('MAIL FROM:<dave@limits.test>');
    assert.match(second.raw, /^451 4\.7\.1 Sending limit reached: 1 messages per 1 h/);
    await d.cmd('QUIT');

    const warnings = log.lines.filter((l) => l.msg.startsWith('sending limit reached'));
    assert.deepEqual(
      warnings.map((w) => [w.account, w.what, w.limit]),
      [
        ['carol@limits.test', 'recipients', 3],
        ['carol@limits.test', 'messages', 2],
        ['dave@limits.test', 'messages', 1],
      ],
    );
  } finally {
    await s.stop();
  }
});

test('a malformed override is refused with the key named', () => {
  assert.deepEqual(parseOverrides([' News@Example.com = 20000 : 0 ']).get('news@example.com'), {
    messages: 20000,
    recipients: 0,
  });
  assert.throws(() => parseOverrides(['example.com=10']), /smtp\.send_limit_overrides: "example\.com=10"/);
});
