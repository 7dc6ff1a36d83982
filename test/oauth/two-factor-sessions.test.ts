// Turning two-factor authentication on ends what the password alone had opened: IMAP and POP3 sessions signed
// in with the account password (or with a token it got), the other /account sessions and the OAuth tokens;
// app-password sessions and the session that turned it on go on. Turning it off or renewing recovery codes
// ends nothing. Over the wire: IMAP, POP3 and HTTP to the portal; the admin CLI against the running server.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { totpCode } from '../../src/auth/totp.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser } from './browser.ts';
import { codeFlow, tokenRequest } from './flows.ts';

const PASS = 'a password of theirs';

describe('two-factor authentication turned on ends password-only sessions', () => {
  let s: TestServer;
  let base: string;
  before(async () => {
    s = await startTestServer({ configure: (c) => (c.listeners.pop3.enabled = true) });
    base = `http://127.0.0.1:${s.ports.http}`;
    await s.app.directory.addDomain('example.com');
  });
  after(() => s.stop());

  /** An IMAP session signed in with LOGIN. */
  async function imapLogin(user: string, password: string): Promise<RawImap> {
    const { c } = await RawImap.open(s.ports.imap);
    assert.match((await c.cmd(`LOGIN ${user} "${password}"`)).tagged, /^t1 OK /);
    return c;
  }

  /** An IMAP session signed in with a bearer token (XOAUTH2, as Thunderbird and Outlook send it). */
  async function imapToken(user: string, token: string): Promise<RawImap> {
    const { c } = await RawImap.open(s.ports.imap);
    const ir = Buffer.from(`user=${user}\x01auth=Bearer ${token}\x01\x01`).toString('base64');
    assert.match((await c.cmd(`AUTHENTICATE XOAUTH2 ${ir}`)).tagged, /^t1 OK /);
    return c;
  }

  /** An IMAP session in IDLE on its INBOX. */
  async function imapIdle(user: string, password: string): Promise<RawImap> {
    const c = await imapLogin(user, password);
    assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
    c.send('i IDLE\r\n');
    assert.equal(await c.line(), '+ idling');
    return c;
  }

  async function pop3Login(user: string, password: string): Promise<Pop3Client> {
    const p = await Pop3Client.open(s.ports.pop3);
    assert.match(await p.cmd(`USER ${user}`), /^\+OK/);
    assert.match(await p.cmd(`PASS ${password}`), /^\+OK/);
    return p;
  }

  async function portal(user: string, password: string, code?: string): Promise<Browser> {
    const web = new Browser(base);
    const r = await web.request('/account/login', { json: { username: user, password, ...(code ? { code } : {}) } });
    assert.equal(r.status, 200, r.text);
    return web;
  }

  /** RFC 9051 section 7.1.5: an untagged BYE (EXPIRED: that credential no longer gives access), then the close. */
  async function expired(c: RawImap): Promise<void> {
    assert.match(await c.line(10000), /^\* BYE \[EXPIRED\] /);
    await assert.rejects(c.line(10000), /connection closed/);
  }

  test('enabled at /account: password IMAP/POP3 sessions, token sessions, other web sessions and tokens end', async () => {
    const user = 'dana@example.com';
    await s.app.directory.addAccount(user, PASS);
    const app = await s.app.auth.createAppPassword(user, 'phone', null);
    const tokens = await codeFlow(base, user, PASS);

    const byPassword = await imapLogin(user, PASS);
    const idling = await imapIdle(user, PASS);
    const byToken = await imapToken(user, tokens.access_token);
    const byApp = await imapLogin(user, app.password);
    const popByPassword = await pop3Login(user, PASS);
    const other = await portal(user, PASS);
    const web = await portal(user, PASS);

    const e = JSON.parse((await web.request('/account/2fa/enrol', { method: 'POST', json: {} })).text);
    const on = await web.request('/account/2fa/confirm', { json: { code: totpCode(e.secret, Date.now()) } });
    assert.equal(on.status, 200, on.text);

    // The password alone no longer signs in to IMAP or POP3, so what it opened ends (as a new password does).
    await expired(byPassword);
    await expired(idling);
    // RFC 2449 section 8 / RFC 3206: POP3's [AUTH], the session ends without UPDATE.
    assert.match(await popByPassword.line(), /^-ERR \[AUTH\] /);
    await popByPassword.closed();
    // The token came from a sign-in with the password alone: revoked, and the session made with it ends.
    await expired(byToken);
    assert.equal(await s.app.bearer(tokens.access_token), null);
    const refresh = await tokenRequest(base, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token!,
      client_id: 'thunderbird',
    });
    assert.equal(refresh.status, 400, JSON.stringify(refresh.body));
    assert.equal(refresh.body.error, 'invalid_grant');

    // An app password is its own credential, and it still signs in.
    assert.match((await byApp.cmd('NOOP')).tagged, /^t2 OK /);
    // The web session that turned it on stays; another one, made with the password alone, is gone.
    assert.equal(JSON.parse((await web.request('/account/2fa')).text).enabled, true);
    assert.equal((await other.request('/account/2fa')).status, 401);

    byApp.close();
  });

  test('renewing recovery codes and turning two-factor off end nothing', async () => {
    const user = 'eli@example.com';
    await s.app.directory.addAccount(user, PASS);
    const app = await s.app.auth.createAppPassword(user, 'laptop', ['imap']);
    const web = await portal(user, PASS);
    const e = JSON.parse((await web.request('/account/2fa/enrol', { method: 'POST', json: {} })).text);
    const on = await web.request('/account/2fa/confirm', { json: { code: totpCode(e.secret, Date.now()) } });
    const recovery: string[] = JSON.parse(on.text).recoveryCodes;
    const other = await portal(user, PASS, recovery[0]);
    const byApp = await imapLogin(user, app.password);

    const renewed = await web.request('/account/2fa/recovery-codes', { json: { code: recovery[1] } });
    assert.equal(renewed.status, 200, renewed.text);
    const off = await web.request('/account/2fa/disable', {
      json: { code: JSON.parse(renewed.text).recoveryCodes[0] },
    });
    assert.equal(off.status, 200, off.text);

    assert.match((await byApp.cmd('NOOP')).tagged, /^t2 OK /);
    assert.equal((await other.request('/account/2fa')).status, 200);
    assert.equal((await web.request('/account/2fa')).status, 200);
    byApp.close();
  });

  test('enabled by the administrator (petrel account 2fa enable): the running server ends the sessions too', async () => {
    const user = 'fay@example.com';
    await s.app.directory.addAccount(user, PASS);
    const app = await s.app.auth.createAppPassword(user, 'phone', null);
    const byPassword = await imapLogin(user, PASS);
    const idling = await imapIdle(user, PASS);
    const byApp = await imapLogin(user, app.password);
    // One POP3 session at a time per maildrop: here, the app password's.
    const popByApp = await pop3Login(user, app.password);
    const web = await portal(user, PASS);

    // The CLI is another process on the same SQLite data directory (it tells the server over its socket).
    const cfg = join(s.dataDir, 'cli.toml');
    writeFileSync(cfg, `[server]\ndata_dir = "${s.dataDir}"\n`);
    const cli = await promisify(execFile)(process.execPath, [
      resolve('bin/petrel.js'),
      '--config',
      cfg,
      'account',
      '2fa',
      'enable',
      user,
    ]);
    assert.match(cli.stdout, /two-factor authentication is on/);

    await expired(byPassword);
    await expired(idling);
    assert.match((await byApp.cmd('NOOP')).tagged, /^t2 OK /);
    assert.match(await popByApp.cmd('STAT'), /^\+OK 0 0/);
    await popByApp.cmd('QUIT');
    assert.equal((await web.request('/account/2fa')).status, 401, 'no web session is kept: none turned it on');
    byApp.close();
  });
});
