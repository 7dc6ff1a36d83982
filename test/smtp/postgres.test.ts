// The main SMTP flow on PostgreSQL: MX delivery byte-exact with trace fields, fan-out to an alias,
// authenticated submission, LMTP per-recipient replies, quota at RCPT.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import {
  DOMAIN,
  eightSendersAtTheEdge,
  message,
  PASSWORD,
  type SmtpTestServer,
  splitTrace,
  startSmtpServer,
} from './fixtures.ts';

const url = pgTestUrl();
let t: SmtpTestServer;
before(async () => {
  if (!url) return;
  t = await startSmtpServer({ backend: 'postgres', pgUrl: url });
  await t.app.directory.addAlias(`team@${DOMAIN}`, [`alice@${DOMAIN}`, `bob@${DOMAIN}`]);
  await t.app.directory.addAccount(`full@${DOMAIN}`, PASSWORD);
  const full = await t.app.store.getAccount(`full@${DOMAIN}`);
  await t.app.store.updateAccount(full!.id, { quotaMessages: 0 });
});
after(() => t?.stop());

test('MX to a group over PostgreSQL: stored once per account, byte-exact', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO pg.test');
  c.write(`MAIL FROM:<x@remote.test>\r\nRCPT TO:<team@${DOMAIN}>\r\nRCPT TO:<full@${DOMAIN}>\r\nDATA\r\n`);
  await c.expect(250);
  await c.expect(250);
  await c.expect(452, undefined, /4\.2\.2/);
  await c.expect(354);
  const raw = message({ id: 'pg-team@test', body: 'Ünïcödé 8-bit\r\n' });
  c.write(`${raw}.\r\n`);
  await c.expect(250);
  c.close();
  for (const who of ['alice', 'bob']) {
    const stored = await t.inbox(`${who}@${DOMAIN}`);
    assert.equal(stored.length, 1);
    const { trace, rest } = splitTrace(stored[0]);
    assert.equal(rest.toString(), raw);
    assert.match(
      trace,
      new RegExp(`^Delivered-To: ${who}@example\\.test\\r\\nReturn-Path: <x@remote\\.test>\\r\\nReceived: `),
    );
  }
});

test('submission with AUTH and LMTP over PostgreSQL', { skip: url ? undefined : PG_SKIP_REASON }, async () => {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.submission,
    secure: false,
    tls: { rejectUnauthorized: false },
    auth: { user: `alice@${DOMAIN}`, pass: PASSWORD },
  });
  const raw = message({ from: `alice@${DOMAIN}`, to: `bob@${DOMAIN}`, id: 'pg-sub@test' });
  await transport.sendMail({ envelope: { from: `alice@${DOMAIN}`, to: [`bob@${DOMAIN}`] }, raw });
  transport.close();
  assert.equal(splitTrace((await t.inbox(`bob@${DOMAIN}`)).at(-1)!).rest.toString(), raw);

  const c = await RawSmtp.open(t.ports.lmtp);
  await c.expect(220);
  await c.expect(250, 'LHLO mta.test');
  await c.expect(250, 'MAIL FROM:<x@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ id: 'pg-lmtp@test' })}.\r\n`);
  await c.expect(250, undefined, /alice/);
  await c.expect(250, undefined, /bob/);
  c.close();
});

test('PostgreSQL: eight senders at the edge of a message quota: one 250, the others 552 5.2.2 after DATA', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  await eightSendersAtTheEdge(t);
});
