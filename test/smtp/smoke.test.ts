import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
});
after(() => t.stop());

test('a plain transaction over the MX listener is stored byte-exact plus trace headers', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  const ehlo = await c.expect(250, 'EHLO client.test');
  console.log(ehlo.raw);
  await c.expect(250, 'MAIL FROM:<sender@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  const msg = message();
  c.write(`${msg}.\r\n`);
  const r = await c.read();
  console.log(r.raw);
  await c.expect(221, 'QUIT');
  const stored = await t.inbox(`alice@${DOMAIN}`);
  assert.equal(stored.length, 1);
  const { trace, rest } = splitTrace(stored[0]);
  console.log(trace);
  assert.equal(rest.toString('latin1'), msg);
});
