// LMTP (RFC 2033): LHLO, and after DATA one reply per recipient, so one full mailbox fails alone.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, PASSWORD, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  await t.app.directory.addAccount(`tight@${DOMAIN}`, PASSWORD);
  const acc = await t.app.store.getAccount(`tight@${DOMAIN}`);
  await t.app.store.updateAccount(acc!.id, { quotaBytes: 300 });
});
after(() => t.stop());

test('LMTP answers per recipient after DATA: delivered, over quota, delivered', async () => {
  const c = await RawSmtp.open(t.ports.lmtp);
  await c.expect(220, undefined, /LMTP/);
  await c.expect(500, 'EHLO mta.test');
  await c.expect(250, 'LHLO mta.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<tight@${DOMAIN}>`);
  await c.expect(550, `RCPT TO:<ghost@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(554, 'RCPT TO:<x@elsewhere.test>', /Relay/);
  await c.expect(354, 'DATA');
  const raw = message({ id: 'lmtp@test' });
  c.write(`${raw}.\r\n`);
  const replies = [await c.read(), await c.read(), await c.read()];
  assert.match(replies[0].raw, /^250 2\.1\.5 <alice@example\.test>/);
  assert.match(replies[1].raw, /^552 5\.2\.2 /);
  assert.match(replies[2].raw, /^250 2\.1\.5 <bob@example\.test>/);
  await c.expect(221, 'QUIT');
  const stored = (await t.inbox(`alice@${DOMAIN}`)).at(-1)!;
  assert.equal(splitTrace(stored).rest.toString(), raw);
  assert.match(splitTrace(stored).trace, /with LMTP id/);
  assert.equal((await t.inbox(`tight@${DOMAIN}`)).length, 0);
});

test('LMTP: a refused message (bare LF) gets one reply per recipient', async () => {
  const c = await RawSmtp.open(t.ports.lmtp);
  await c.expect(220);
  await c.expect(250, 'LHLO mta.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write('Subject: x\r\n\r\nbare\nLF\r\n.\r\n');
  await c.expect(550);
  await c.expect(550);
  await c.expect(250, 'NOOP');
  c.close();
});

const swaks = peer('swaks', 'swaks');
test('swaks speaks LMTP to it', { skip: swaks.skip }, async () => {
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(t.ports.lmtp),
    '--protocol',
    'LMTP',
    '--from',
    'a@remote.test',
    '--to',
    `bob@${DOMAIN}`,
    '--header',
    'Message-ID: <swaks-lmtp@test>',
  ]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const stored = (await t.inbox(`bob@${DOMAIN}`)).at(-1)!;
  assert.match(stored.toString(), /Message-ID: <swaks-lmtp@test>/);
});
