// Outbound suspension over the wire: alice (nodemailer, authenticated submission) and a trusted network's
// client (127.0.0.60, raw SMTP on the MX listener) each send spam the outbound scan refuses (554 5.7.1);
// after spam.outbound.suspend_after refusals their next message, clean or not, gets 451 4.7.1 at MAIL
// FROM, with a warning in the log, while another account still sends. `petrel spam outbound-release` lifts
// each suspension at once.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { GTUBE } from '../../src/spam/checks/gtube.ts';
import { captureLog } from '../helpers/log-capture.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { run } from '../helpers/run.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startSpamWorld, USER } from './fixture.ts';

const BOB = 'bob@example.com';
let f: OutboundFixture;
const log = captureLog();

before(async () => {
  f = await startSpamWorld({
    configure(c) {
      c.listeners.submission.enabled = true;
      c.smtp.trusted_networks = ['127.0.0.60/32'];
      c.spam.outbound.enabled = true;
      c.spam.outbound.suspend_after = 2;
    },
    logTo: log.stream,
  });
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
});
after(() => f?.stop());

const mail = (from: string, body: string) =>
  `From: ${from}\r\nTo: ${USER}\r\nSubject: test\r\nMessage-ID: <${Math.random()}@example.com>\r\n\r\n${body}\r\n`;

/** Submits as `user` on the submission port; the reply code (250 when accepted). */
async function submitAs(user: string, pass: string, body: string): Promise<{ code: number; response: string }> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: f.server.ports.submission,
    secure: false,
    ignoreTLS: true,
    auth: { user, pass },
  });
  try {
    const info = await t.sendMail({ envelope: { from: user, to: [USER] }, raw: mail(user, body) });
    return { code: 250, response: info.response };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string; message: string };
    return { code: err.responseCode ?? 0, response: err.response ?? err.message };
  } finally {
    t.close();
  }
}

/** Relays from the trusted network (no AUTH); the first refusal's code and text, or 250. */
async function relay(body: string): Promise<{ code: number; raw: string }> {
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: '127.0.0.60' });
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO app.example.com');
    const m = await c.cmd(`MAIL FROM:<${USER}>`);
    if (m.code !== 250) return m;
    await c.expect(250, `RCPT TO:<${USER}>`);
    await c.expect(354, 'DATA');
    return await c.cmd(`${mail(USER, body)}.`, 15000);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

const release = (who: string) =>
  run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'outbound-release', who], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: f.app.config.server.data_dir },
  });

test('an account refused again and again is suspended; other accounts are not; release lifts it', async () => {
  assert.equal((await submitAs(USER, 'secret-pw', 'first')).code, 250);
  for (let i = 0; i < 2; i++) {
    const r = await submitAs(USER, 'secret-pw', GTUBE);
    assert.equal(r.code, 554, r.response);
  }
  const clean = await submitAs(USER, 'secret-pw', 'a clean message');
  assert.equal(clean.code, 451, clean.response);
  assert.match(clean.response, /4\.7\.1 Sending suspended: 2 recent messages were refused as spam/);
  assert.ok(
    log.lines.some((l) => l.msg.startsWith('outbound sending suspended') && l.account === USER),
    'a warning names the account',
  );
  assert.equal((await submitAs(BOB, 'bob-secret-pw', 'bob is fine')).code, 250);

  const r = await release(USER);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /alice@example\.com may send again/);
  assert.equal((await submitAs(USER, 'secret-pw', 'clean again')).code, 250);
});

test("a trusted network's client is suspended by its IP address", async () => {
  for (let i = 0; i < 2; i++) assert.equal((await relay(GTUBE)).code, 554);
  const r = await relay('clean');
  assert.equal(r.code, 451, r.raw);
  assert.match(r.raw, /Sending suspended/);
  assert.equal((await release('127.0.0.60')).status, 0);
  assert.equal((await relay('clean')).code, 250);
});
