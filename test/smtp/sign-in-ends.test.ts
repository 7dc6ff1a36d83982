// Submission sessions end when the credential they signed in with does (as IMAP and POP3 sessions do): a new
// password set by the admin CLI (another process), or the OAuth grant of their token revoked over HTTP. Then
// 421 4.7.0 and the close (RFC 5321 section 3.8), and a message whose content was coming is not accepted.
// The revocation also ends the token's IMAP session: it publishes the account event every session hears.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { RawImap } from '../helpers/imap-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { codeFlow } from '../oauth/flows.ts';
import { message } from './fixtures.ts';

const PASS = 'their old password';

describe('a submission session ends with its credential', () => {
  let s: TestServer;
  let base: string;
  before(async () => {
    s = await startTestServer();
    base = `http://127.0.0.1:${s.ports.http}`;
    await s.app.directory.addDomain('example.com');
  });
  after(() => s.stop());

  /** `petrel ARGS` as the administrator runs it: a process of its own on the server's data directory. */
  async function petrel(...args: string[]): Promise<string> {
    const cfg = join(s.dataDir, 'cli.toml');
    writeFileSync(cfg, `[server]\ndata_dir = "${s.dataDir}"\n`);
    return (await promisify(execFile)(process.execPath, [resolve('bin/petrel.js'), '--config', cfg, ...args])).stdout;
  }

  /** A submission session after AUTH (RFC 4954), with `mechanism` and its initial response. */
  async function submitter(mechanism: string, initial: string): Promise<RawSmtp> {
    const c = await RawSmtp.open(s.ports.submission);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    await c.expect(235, `AUTH ${mechanism} ${Buffer.from(initial).toString('base64')}`);
    return c;
  }
  const withPassword = (user: string, password: string) => submitter('PLAIN', `\0${user}\0${password}`);
  const withToken = (user: string, token: string) =>
    submitter('XOAUTH2', `user=${user}\x01auth=Bearer ${token}\x01\x01`);

  /** The server says 421 4.7.0 `why` on its own, then closes (RFC 5321 section 3.8). */
  async function ended(c: RawSmtp, why: RegExp): Promise<void> {
    const r = await c.read(10000);
    assert.equal(r.code, 421, r.raw);
    assert.match(r.raw, /^421 4\.7\.0 /);
    assert.match(r.raw, why);
    await c.closedByServer(10000);
  }

  /** One whole message from `user` to itself: 250 at the end. */
  async function sends(c: RawSmtp, user: string): Promise<void> {
    await c.expect(250, `MAIL FROM:<${user}>`);
    await c.expect(250, `RCPT TO:<${user}>`);
    await c.expect(354, 'DATA');
    c.write(`${message({ from: user, to: user, subject: 'still here' })}.\r\n`);
    await c.expect(250, undefined, /2\.0\.0/);
  }

  async function inboxSubjects(user: string): Promise<string[]> {
    const acc = await s.app.store.getAccount(user);
    const mb = await s.app.store.getMailbox(acc!.id, 'INBOX');
    const out: string[] = [];
    for (const m of await s.app.store.listMessages(mb!.id)) {
      const raw = (await (await s.app.mail.source(m)).read()).toString('latin1');
      out.push(/^Subject: (.*)$/m.exec(raw)?.[1].trim() ?? '');
    }
    return out;
  }

  test('account passwd: password sessions end between commands, mid-transaction and mid-DATA; app passwords go on', async () => {
    const user = 'ann@example.com';
    await s.app.directory.addAccount(user, PASS);
    const app = await s.app.auth.createAppPassword(user, 'phone', null);
    const idle = await withPassword(user, PASS);
    const inTransaction = await withPassword(user, PASS);
    await inTransaction.expect(250, `MAIL FROM:<${user}>`);
    await inTransaction.expect(250, `RCPT TO:<${user}>`);
    const inData = await withPassword(user, PASS);
    await inData.expect(250, `MAIL FROM:<${user}>`);
    await inData.expect(250, `RCPT TO:<${user}>`);
    await inData.expect(354, 'DATA');
    const text = message({ from: user, to: user, subject: 'sent after the password changed' });
    inData.write(text.slice(0, 40));
    const byApp = await withPassword(user, app.password);

    assert.match(await petrel('account', 'passwd', user, '--password', 'a new password'), /changed/);

    await ended(idle, /changed or revoked/);
    await ended(inTransaction, /changed or revoked/);
    // The event was heard (the sessions above ended): the message in flight gets no 250 at its end.
    inData.write(`${text.slice(40)}.\r\n`);
    await ended(inData, /changed or revoked/);
    assert.ok(!(await inboxSubjects(user)).includes('sent after the password changed'));
    // An app password is a credential of its own: its session sends on.
    await sends(byApp, user);
    await byApp.expect(221, 'QUIT');
  });

  test('account disable: the sessions end, saying so', async () => {
    const user = 'ben@example.com';
    await s.app.directory.addAccount(user, PASS);
    const c = await withPassword(user, PASS);
    await petrel('account', 'disable', user);
    await ended(c, /removed or disabled/);
  });

  test('a token session ends when its grant is revoked at /oauth/revoke; a password session goes on', async () => {
    const user = 'cat@example.com';
    await s.app.directory.addAccount(user, PASS);
    const tokens = await codeFlow(base, user, PASS);
    const byToken = await withToken(user, tokens.access_token);
    const byPassword = await withPassword(user, PASS);
    // The same token on IMAP, whose sessions already heard account events: the revocation must publish one.
    const { c: imap } = await RawImap.open(s.ports.imap);
    const ir = Buffer.from(`user=${user}\x01auth=Bearer ${tokens.access_token}\x01\x01`).toString('base64');
    assert.match((await imap.cmd(`AUTHENTICATE XOAUTH2 ${ir}`)).tagged, /^t1 OK /);

    // RFC 7009: the mail app gives back its refresh token (as on "remove account"); the grant goes with it.
    const rev = await fetch(`${base}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        token: tokens.refresh_token!,
        token_type_hint: 'refresh_token',
        client_id: 'thunderbird',
      }),
    });
    assert.equal(rev.status, 200);

    await ended(byToken, /changed or revoked/);
    assert.match(await imap.line(10000), /^\* BYE \[EXPIRED\] /);
    await assert.rejects(imap.line(10000), /connection closed/);
    await sends(byPassword, user);
    await byPassword.expect(221, 'QUIT');
  });
});
