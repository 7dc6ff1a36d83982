// Quotas on the way in: a full mailbox refuses at RCPT (452 4.2.2); a message that would overrun it is
// refused after DATA (552 5.2.2); several recipients with only some full (SMTP: 452 for the whole
// message, nothing stored; with SIZE declared the full one is refused at RCPT and the others get it).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, PASSWORD, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  const d = t.app.directory;
  await d.addAccount(`full@${DOMAIN}`, PASSWORD);
  await d.addAccount(`small@${DOMAIN}`, PASSWORD);
  const full = await t.app.store.getAccount(`full@${DOMAIN}`);
  const small = await t.app.store.getAccount(`small@${DOMAIN}`);
  await t.app.store.updateAccount(full!.id, { quotaMessages: 1 });
  await t.app.store.updateAccount(small!.id, { quotaBytes: 2000 });
  await t.app.mail.deliver(Buffer.from(message({ to: `full@${DOMAIN}` })), [{ accountId: full!.id }]);
});
after(() => t.stop());

async function open() {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO quota.test');
  return c;
}

const big = message({ to: `small@${DOMAIN}`, body: `${'y'.repeat(76)}\r\n`.repeat(40) });

test('a recipient whose mailbox is already full gets 452 4.2.2 at RCPT', async () => {
  const c = await open();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(452, `RCPT TO:<full@${DOMAIN}>`, /4\.2\.2/);
  c.close();
});

test('a message that would exceed the quota gets 552 5.2.2 after DATA, nothing stored', async () => {
  const c = await open();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<small@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${big}.\r\n`);
  await c.expect(552, undefined, /5\.2\.2/);
  c.close();
  assert.equal((await t.inbox(`small@${DOMAIN}`)).length, 0);
});

test('with SIZE declared, the same message is refused at RCPT (452 4.2.2) for that recipient only', async () => {
  const c = await open();
  await c.expect(250, `MAIL FROM:<a@remote.test> SIZE=${big.length}`);
  await c.expect(452, `RCPT TO:<small@${DOMAIN}>`, /4\.2\.2/);
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${big}.\r\n`);
  await c.expect(250);
  c.close();
});

test('SMTP, several recipients, only some over quota after DATA: 452 4.2.2, nothing stored anywhere', async () => {
  const before = (await t.inbox(`bob@${DOMAIN}`)).length;
  const c = await open();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<small@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${big}.\r\n`);
  await c.expect(452, undefined, /4\.2\.2/);
  c.close();
  assert.equal((await t.inbox(`bob@${DOMAIN}`)).length, before);
});

test('a domain quota counts too', async () => {
  const d = await t.app.directory.addDomain('tiny.test');
  await t.app.directory.addAccount('one@tiny.test', PASSWORD);
  await t.app.store.updateDomainQuota(d.id, 500, null);
  const c = await open();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, 'RCPT TO:<one@tiny.test>');
  await c.expect(354, 'DATA');
  c.write(`${big}.\r\n`);
  await c.expect(552, undefined, /5\.2\.2/);
  c.close();
});
