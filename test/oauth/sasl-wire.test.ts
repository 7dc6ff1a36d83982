// Tokens from Petrel's own provider (through the real authorization code flow over HTTP) sign in over the
// wire: XOAUTH2 and OAUTHBEARER with imapflow (IMAP) and nodemailer (SMTP submission), OAUTHBEARER and
// XOAUTH2 with curl --oauth2-bearer on imap://, smtp:// and pop3://. A revoked token and a token without
// the mail scope are refused.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { codeFlow } from './flows.ts';

const USER = 'erin@example.com';
const PASS = 'erin password 9';
const curl = peer('curl', 'curl');

/** imapflow picks OAUTHBEARER when offered; hiding it makes imapflow speak XOAUTH2 like older clients. */
function imap(port: number, accessToken: string, mechanism: 'OAUTHBEARER' | 'XOAUTH2', log: string[]) {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, accessToken },
    logger: {
      debug: (o: { msg?: string; tag?: string; command?: string }) => log.push(JSON.stringify(o)),
      info: () => {},
      warn: () => {},
      error: () => {},
    },
  });
  if (mechanism === 'XOAUTH2') {
    const c = client as unknown as { capabilities: Map<string, unknown> };
    let caps = c.capabilities;
    Object.defineProperty(c, 'capabilities', {
      get: () => caps,
      set: (m: Map<string, unknown>) => {
        m.delete('AUTH=OAUTHBEARER');
        caps = m;
      },
    });
  }
  return client;
}

describe('bearer tokens over IMAP, SMTP and POP3', () => {
  let s: TestServer;
  let token = '';
  before(async () => {
    s = await startTestServer({
      // Nine refusals from 127.0.0.1 below: no lockout and no failure delay in the way.
      configure: (c) => {
        c.security.max_failures_per_ip = 1000;
        c.security.failure_delay_ms = 0;
      },
    });
    await s.app.directory.addDomain('example.com');
    await s.app.directory.addAccount(USER, PASS);
    token = (await codeFlow(`http://127.0.0.1:${s.ports.http}`, USER, PASS)).access_token;
  });
  after(() => s.stop());

  for (const mechanism of ['XOAUTH2', 'OAUTHBEARER'] as const) {
    test(`imapflow signs in with ${mechanism}`, async () => {
      const log: string[] = [];
      const client = imap(s.ports.imap, token, mechanism, log);
      await client.connect();
      try {
        const sent = log.filter((l) => /AUTHENTICATE (OAUTHBEARER|XOAUTH2)|"(OAUTHBEARER|XOAUTH2)"/.test(l));
        assert.ok(sent.length > 0, 'the AUTHENTICATE command is in the client log');
        assert.ok(
          sent.every((l) => l.includes(mechanism)),
          `only ${mechanism} used: ${sent.map((l) => l.slice(0, 200)).join(' | ')}`,
        );
        const box = await client.mailboxOpen('INBOX');
        assert.equal(typeof box.exists, 'number');
      } finally {
        await client.logout();
      }
    });
  }

  test('nodemailer submits with XOAUTH2; the message arrives', async () => {
    const t = nodemailer.createTransport({
      host: '127.0.0.1',
      port: s.ports.submission,
      secure: false,
      ignoreTLS: true,
      auth: { type: 'OAuth2', user: USER, accessToken: token },
    });
    const info = await t.sendMail({ from: USER, to: USER, subject: 'via XOAUTH2', text: 'hello over a token\n' });
    assert.deepEqual(info.accepted, [USER]);
    t.close();
    const client = imap(s.ports.imap, token, 'OAUTHBEARER', []);
    await client.connect();
    try {
      await client.mailboxOpen('INBOX');
      const subjects: string[] = [];
      for await (const m of client.fetch('1:*', { envelope: true })) subjects.push(m.envelope?.subject ?? '');
      assert.ok(subjects.includes('via XOAUTH2'), subjects.join(', '));
    } finally {
      await client.logout();
    }
  });

  for (const mechanism of ['OAUTHBEARER', 'XOAUTH2'] as const) {
    test(`curl --oauth2-bearer on imap://, smtp:// and pop3:// (${mechanism})`, { skip: curl.skip }, async () => {
      const common = ['-sS', '--user', USER, '--oauth2-bearer', token, '--login-options', `AUTH=${mechanism}`];
      const i = await run(curl.path!, [...common, `imap://127.0.0.1:${s.ports.imap}/INBOX`, '-X', 'EXAMINE INBOX']);
      assert.equal(i.status, 0, i.stderr);
      assert.match(i.stdout, /EXISTS/);
      const m = await run(
        curl.path!,
        [...common, `smtp://127.0.0.1:${s.ports.submission}`, '--mail-from', USER, '--mail-rcpt', USER, '-T', '-'],
        { input: `From: ${USER}\r\nTo: ${USER}\r\nSubject: curl ${mechanism}\r\n\r\nhi\r\n` },
      );
      assert.equal(m.status, 0, m.stderr);
      const p = await run(curl.path!, [...common, `pop3://127.0.0.1:${s.ports.pop3}/`]);
      assert.equal(p.status, 0, p.stderr);
      assert.match(p.stdout, /^\d+ \d+/m, 'a scan listing');
    });
  }

  test('a token without the mail scope, a garbage token and a revoked token are refused', async () => {
    const base = `http://127.0.0.1:${s.ports.http}`;
    const noMail = (await codeFlow(base, USER, PASS, 'openid email')).access_token;
    const revoked = (await codeFlow(base, USER, PASS)).access_token;
    const rev = await fetch(`${base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: revoked, client_id: 'thunderbird' }),
    });
    assert.equal(rev.status, 200);
    for (const bad of [noMail, 'garbage-token-garbage-token', revoked]) {
      const client = imap(s.ports.imap, bad, 'XOAUTH2', []);
      client.on('error', () => {});
      await assert.rejects(client.connect());
      if (curl.path) {
        const r = await run(curl.path, [
          '-sS',
          '--user',
          USER,
          '--oauth2-bearer',
          bad,
          `imap://127.0.0.1:${s.ports.imap}/`,
        ]);
        assert.equal(r.status, 67, `curl: login denied (${r.stderr})`);
        const sm = await run(
          curl.path,
          [
            '-sS',
            '--user',
            USER,
            '--oauth2-bearer',
            bad,
            `smtp://127.0.0.1:${s.ports.submission}`,
            '--mail-from',
            USER,
            '--mail-rcpt',
            USER,
            '-T',
            '-',
          ],
          { input: 'Subject: x\r\n\r\nx\r\n' },
        );
        assert.equal(sm.status, 67, `curl smtp: login denied (${sm.stderr})`);
      }
    }
  });
});
