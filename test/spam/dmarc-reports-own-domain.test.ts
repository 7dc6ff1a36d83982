// A hosted domain publishing the DMARC record Petrel itself suggests ("rua=mailto:postmaster@<domain>",
// its MX this server): the aggregate report about forgeries of our own domain is delivered to the local
// postmaster mailbox, not handed to the queue, which would find its own MX and refuse it as a loop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { captureLog } from '../helpers/log-capture.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { mailbox, message, send, startSpamWorld, USER } from './fixture.ts';

let f: OutboundFixture;
const log = captureLog<{ msg: string; [k: string]: unknown }>();

before(async () => {
  f = await startSpamWorld({
    logTo: log.stream,
    hosts: ['127.0.0.2'],
    zones: {
      // What `petrel` tells the admin to publish for a hosted domain.
      'example.com': { MX: [{ preference: 10, exchange: 'mx.test.petrel' }], TXT: [['v=spf1 mx -all']] },
      'mx.test.petrel': { A: ['127.0.0.1'] },
      '_dmarc.example.com': { TXT: [['v=DMARC1; p=none; rua=mailto:postmaster@example.com']] },
    },
    configure(c) {
      c.spam.dmarc_reports.enabled = true;
      c.spam.dmarc_reports.from = 'dmarc-reports@example.com';
    },
  });
  await f.app.directory.addAlias('postmaster@example.com', [USER]);
});
after(async () => {
  await f?.stop();
});

test('the aggregate report about one of our own domains reaches its rua mailbox here', async () => {
  const r = await send(f, {
    ip: '127.0.0.9',
    helo: 'evil.example',
    from: 'x@evil.example',
    raw: message('The Boss <boss@example.com>', 'forged boss'),
  });
  assert.ok(r.ok, r.response);
  assert.equal(await f.app.dmarcReports.runOnce(Date.now() + 86_400_000), 1, 'one report queued');
  const got = await waitFor(
    async () => {
      const all = [...(await mailbox(f, USER, 'INBOX')), ...(await mailbox(f, USER, 'Junk'))];
      if (all.some((m) => /^Subject: Report Domain: example\.com/m.test(m))) return 'delivered';
      // Anything else: the queue's DSN to the report sender tells why it failed.
      const dsn = all.find((m) => /report-type=delivery-status/.test(m));
      return dsn ? `bounced: ${/Diagnostic-Code:[^\r]*/.exec(dsn)?.[0] ?? dsn.slice(0, 300)}` : false;
    },
    20000,
    'the report or its bounce',
  ).catch(() => JSON.stringify(log.lines.filter((l) => /queue|dmarc/.test(l.msg)).slice(-6)));
  assert.equal(got, 'delivered');
});
