// SMTP smuggling: only CRLF.CRLF ends DATA. Each end-of-data look-alike with a second message smuggled
// behind it is refused as one message (550 5.6.0) and the smuggled commands are never executed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
let lenient: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  lenient = await startSmtpServer({ configure: (c) => (c.smtp.bare_lf = 'normalise') });
});
after(async () => {
  await t.stop();
  await lenient.stop();
});

const smuggled = `MAIL FROM:<admin@${DOMAIN}>\r\nRCPT TO:<bob@${DOMAIN}>\r\nDATA\r\nFrom: admin@${DOMAIN}\r\nSubject: smuggled\r\n\r\nevil\r\n`;

/** Sends one message whose data holds `fakeEnd` + a smuggled transaction, then the real end. */
async function attempt(server: SmtpTestServer, fakeEnd: string) {
  const c = await RawSmtp.open(server.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO smuggler.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ subject: 'carrier', body: 'first' })}${fakeEnd}${smuggled}.\r\n`);
  const first = await c.read();
  // Exactly one reply: nothing of the smuggled transaction was taken as commands.
  const next = await c.cmd('NOOP');
  c.close();
  return { first, next };
}

const cases: [string, string][] = [
  ['bare LF . bare LF', '\n.\n'],
  ['CRLF . bare LF', '\r\n.\n'],
  ['bare LF . CRLF', '\n.\r\n'],
  ['bare CR . bare CR', '\r.\r'],
  ['CRLF . bare CR', '\r\n.\r'],
  ['bare CR . CRLF', '\r.\r\n'],
];

for (const [name, fakeEnd] of cases)
  test(`${name} is not the end of data; the message is refused and nothing is smuggled`, async () => {
    const before = (await t.inbox(`bob@${DOMAIN}`)).length;
    const { first, next } = await attempt(t, fakeEnd);
    assert.equal(first.code, 550, first.raw);
    assert.match(first.raw, /5\.6\.0 .*bare (LF|CR)/);
    assert.equal(next.code, 250, 'the session goes on in step');
    assert.equal((await t.inbox(`bob@${DOMAIN}`)).length, before, 'no smuggled message for bob');
  });

test('bare LF in the middle of an otherwise normal message is refused by default', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO x.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write('Subject: x\r\n\r\nline\nnext\r\n.\r\n');
  await c.expect(550);
  c.close();
});

test('normalise mode stores line ends as CRLF, and still never ends data early', async () => {
  const { first } = await attempt(lenient, '\n.\n');
  assert.equal(first.code, 250);
  const bob = await lenient.inbox(`bob@${DOMAIN}`);
  assert.equal(bob.length, 0, 'the smuggled transaction did not run');
  const alice = await lenient.inbox(`alice@${DOMAIN}`);
  const { rest } = splitTrace(alice[alice.length - 1]);
  assert.match(rest.toString(), /first\r\n\r\nMAIL FROM:<admin@example\.test>\r\n/);
  assert.doesNotMatch(rest.toString(), /[^\r]\n/);
});
