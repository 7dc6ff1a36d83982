// The mail log: one line per message whatever became of it (accepted with its id, refused or deferred with
// the reply and the spam symbols that counted) and one per refused recipient, as an admin reads them to
// answer "where did my mail go". Real SMTP over a socket to a server logging JSON into the test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

interface Line {
  msg: string;
  from?: string;
  rcpts?: string[];
  rcpt?: string;
  size?: number;
  id?: string;
  reply?: string;
  ip?: string;
  spam?: { action: string; score: number; symbols: string[] };
}

const capture = () => captureLog<Line>();

test('each message and each refused recipient leaves one log line with envelope, reply and verdict', async () => {
  const log = capture();
  const s = await startTestServer({ logTo: log.stream, configure: (c) => (c.listeners.smtp.enabled = true) });
  try {
    await s.app.directory.addDomain('example.com');
    await s.app.directory.addAccount('alice@example.com', 'pw-alice-123');
    await s.app.store.spam.addListEntry({
      kind: 'block',
      accountId: null,
      entry: 'blocked.test',
      note: '',
      createdAt: Date.now(),
    });
    const c = await RawSmtp.open(s.ports.smtp, { localAddress: '127.0.0.51' });
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    const message = (from: string) =>
      `From: ${from}\r\nTo: alice@example.com\r\nSubject: hi\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <x${Date.now()}@test>\r\n\r\nHello.\r\n.`;

    await c.expect(250, 'MAIL FROM:<bob@sender.test>');
    await c.expect(550, 'RCPT TO:<nobody@example.com>');
    await c.expect(250, 'RCPT TO:<alice@example.com>');
    await c.expect(354, 'DATA');
    const ok = await c.cmd(message('bob@sender.test'));
    assert.equal(ok.code, 250, ok.raw);
    const id = /queued as (\S+)/.exec(ok.raw)![1];

    await c.expect(250, 'MAIL FROM:<x@blocked.test>');
    await c.expect(250, 'RCPT TO:<alice@example.com>');
    await c.expect(354, 'DATA');
    await c.expect(550, message('x@blocked.test'));
    await c.cmd('QUIT');

    const refused = log.lines.find((l) => l.msg === 'recipient refused');
    assert.equal(refused?.rcpt, 'nobody@example.com');
    assert.equal(refused?.from, 'bob@sender.test');
    assert.match(refused?.reply ?? '', /^550 5\.1\.1 .*user unknown/);
    assert.equal(refused?.ip, '127.0.0.51');

    const accepted = log.lines.find((l) => l.msg === 'message accepted');
    assert.ok(accepted, JSON.stringify(log.lines.map((l) => l.msg)));
    assert.equal(accepted.from, 'bob@sender.test');
    assert.deepEqual(accepted.rcpts, ['alice@example.com']);
    assert.equal(accepted.id, id);
    assert.ok((accepted.size ?? 0) > 50);
    assert.match(accepted.reply ?? '', /^250 2\.0\.0 OK: queued as /);
    assert.equal(accepted.spam?.action, 'accept');

    const blocked = log.lines.find((l) => l.msg === 'message refused');
    assert.ok(blocked);
    assert.equal(blocked.from, 'x@blocked.test');
    assert.match(blocked.reply ?? '', /^550 5\.7\.1 Sender refused by local policy \(blocked\.test\)/);
    assert.equal(blocked.spam?.action, 'reject');
    assert.ok(blocked.spam?.symbols.includes('BLOCKLISTED=20'), JSON.stringify(blocked.spam));
    // Passwords and message content never reach the log.
    const all = JSON.stringify(log.lines);
    assert.doesNotMatch(all, /pw-alice-123|Hello\./);
  } finally {
    await s.stop();
  }
});
