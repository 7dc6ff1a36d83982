// Two-factor authentication over HTTP: enrolment in the /account pages (secret, otpauth URI, QR code, first
// code, recovery codes), then the OAuth login asks for a code: a right one passes, a wrong one and a replayed
// one are refused, a recovery code works once; disabling; and the admin CLI (`petrel account 2fa`).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { totpCode, totpStep } from '../../src/auth/totp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, pkce, readForm } from './browser.ts';
import { signIn } from './flows.ts';

const USER = 'bob@example.com';
const PASS = 'bob password 1';

describe('two-factor authentication', () => {
  let s: TestServer;
  let base: string;
  before(async () => {
    s = await startTestServer();
    base = `http://127.0.0.1:${s.ports.http}`;
    await s.app.directory.addDomain('example.com');
    await s.app.directory.addAccount(USER, PASS);
  });
  after(() => s.stop());

  const oauthLogin = (code?: () => string) =>
    signIn(new Browser(base), { username: USER, password: PASS, challenge: pkce().challenge, code });

  let secret = '';
  let recovery: string[] = [];

  test('the /account pages need a session; enrolment shows secret, URI and QR; the first code turns it on', async () => {
    const web = new Browser(base);
    assert.equal((await web.request('/account/2fa')).status, 401);
    assert.equal((await web.request('/account/login', { json: { username: USER, password: 'nope' } })).status, 401);
    const login = await web.request('/account/login', { json: { username: USER, password: PASS } });
    assert.equal(login.status, 200, login.text);
    assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.deepEqual(JSON.parse((await web.request('/account/2fa')).text), {
      enabled: false,
      pending: false,
      recoveryCodesLeft: 0,
    });

    const e = JSON.parse((await web.request('/account/2fa/enrol', { method: 'POST', json: {} })).text);
    secret = e.secret;
    assert.match(secret, /^[A-Z2-7]{32}$/);
    const uri = new URL(e.uri);
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.searchParams.get('secret'), secret);
    assert.match(e.qr, /^data:image\/svg\+xml;base64,/);
    assert.match(Buffer.from(e.qr.split(',')[1], 'base64').toString(), /<svg/);
    assert.equal(JSON.parse((await web.request('/account/2fa')).text).pending, true);
    // Pending is not on: the OAuth login still takes the password alone.
    assert.ok((await oauthLogin()).redirect.searchParams.get('code'));

    const wrong = await web.request('/account/2fa/confirm', { json: { code: totpCode(secret, Date.now() - 600_000) } });
    assert.equal(wrong.status, 400);
    const ok = await web.request('/account/2fa/confirm', { json: { code: totpCode(secret, Date.now()) } });
    assert.equal(ok.status, 200, ok.text);
    recovery = JSON.parse(ok.text).recoveryCodes;
    assert.equal(recovery.length, 10);
    assert.deepEqual(JSON.parse((await web.request('/account/2fa')).text), {
      enabled: true,
      pending: false,
      recoveryCodesLeft: 10,
    });
    const secrets = await s.app.store.auth.getSecrets((await s.app.store.getAccount(USER))!.id);
    assert.ok(!secrets.recoveryCodes.includes(recovery[0]), 'stored hashed, not in clear');
    assert.match(secrets.recoveryCodes[0], /^[0-9a-f]{64}$/);
    // A second enrolment while on is refused.
    assert.equal((await web.request('/account/2fa/enrol', { method: 'POST', json: {} })).status, 409);
  });

  test('OAuth login: the password alone is not enough; a wrong code is refused; a right one issues a code', async () => {
    const noCode = await oauthLogin();
    assert.equal(noCode.redirect.searchParams.get('code'), null, 'second-factor form shown, nothing issued');
    assert.match(noCode.page, /Two-factor code/);

    const wrong = await oauthLogin(() => totpCode(secret, Date.now() - 600_000));
    assert.equal(wrong.codeStatus, 401);
    assert.equal(wrong.redirect.searchParams.get('code'), null);

    // The enrolment used the current step; the next step's code is inside the window and not used yet.
    const next = totpCode(secret, Date.now() + 30_000);
    const right = await oauthLogin(() => next);
    assert.ok(right.redirect.searchParams.get('code'), right.page.slice(0, 300));

    // RFC 6238 section 5.2: the same code is not accepted twice.
    assert.ok(totpStep(secret, next, Date.now()) !== null, 'still inside its window');
    const replay = await oauthLogin(() => next);
    assert.equal(replay.codeStatus, 401);
    assert.equal(replay.redirect.searchParams.get('code'), null);
  });

  test('a recovery code signs in once', async () => {
    const first = await oauthLogin(() => recovery[0].toUpperCase());
    assert.ok(first.redirect.searchParams.get('code'));
    const again = await oauthLogin(() => recovery[0]);
    assert.equal(again.codeStatus, 401);
    const acc = (await s.app.store.getAccount(USER))!;
    assert.equal((await s.app.oauth.twoFactor.status(acc.id)).recoveryCodesLeft, 9);
  });

  test('the /account login asks for the code too; disabling needs a code and turns it off', async () => {
    const web = new Browser(base);
    assert.equal((await web.request('/account/login', { json: { username: USER, password: PASS } })).status, 401);
    assert.equal(
      (await web.request('/account/login', { json: { username: USER, password: PASS, code: recovery[1] } })).status,
      200,
    );
    assert.equal((await web.request('/account/2fa/disable', { json: { code: '000000x' } })).status, 400);
    const off = await web.request('/account/2fa/disable', { json: { code: recovery[2] } });
    assert.equal(off.status, 200, off.text);
    assert.ok((await oauthLogin()).redirect.searchParams.get('code'), 'password alone again');
  });

  test('in a browser, /account is an HTML page: sign-in form, then status with an enrolment button', async () => {
    const web = new Browser(base);
    const html = { accept: 'text/html' };
    const first = await web.request('/account', { headers: html });
    assert.equal(first.status, 401);
    assert.match(first.headers.get('content-type') ?? '', /text\/html/);
    assert.match(first.headers.get('x-frame-options') ?? '', /DENY/);
    const form = readForm(first.text);
    assert.equal(form.action, '/account/login');
    const signed = await web.request(form.action, {
      form: { username: USER, password: PASS, code: '' },
      headers: html,
    });
    assert.equal(signed.status, 303);
    const status = await web.request('/account', { headers: html });
    assert.equal(status.status, 200);
    // Trailing slashes are the same page, however many (trimmed by a loop, not a regex that is
    // quadratic in a run of slashes).
    const slashes = await web.request(`/account${'/'.repeat(12_000)}?x=1`, { headers: html });
    assert.equal(slashes.status, 200);
    assert.equal(slashes.text, status.text);
    assert.match(status.text, /Two-factor authentication is <strong>off<\/strong>/);
    const enrol = await web.request(readForm(status.text).action, { form: {}, headers: html });
    assert.match(enrol.text, /<img alt="QR code" width="220" src="data:image\/svg\+xml;base64,/);
    assert.equal(readForm(enrol.text).action, '/account/2fa/confirm');
    // Left pending: the password alone still signs in.
    assert.ok((await oauthLogin()).redirect.searchParams.get('code'));
  });

  test('CLI: petrel account 2fa enable, status, disable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'petrel-2fa-cli-'));
    try {
      const cfg = join(dir, 'petrel.toml');
      writeFileSync(cfg, `[server]\ndata_dir = "${join(dir, 'data')}"\n[bootstrap]\ndomain = "cli.test"\n`);
      const petrel = async (...args: string[]) => {
        try {
          const r = await promisify(execFile)(process.execPath, [resolve('bin/petrel.js'), '--config', cfg, ...args]);
          return { code: 0, out: r.stdout, err: r.stderr };
        } catch (e) {
          const x = e as { code: number; stdout: string; stderr: string };
          return { code: x.code, out: x.stdout, err: x.stderr };
        }
      };
      assert.equal((await petrel('account', 'add', 'carol@cli.test', '--password', 'pw-carol')).code, 0);
      assert.match((await petrel('account', '2fa', 'status', 'carol@cli.test')).out, /two-factor=off/);
      const en = await petrel('account', '2fa', 'enable', 'carol@cli.test');
      assert.equal(en.code, 0, en.err);
      assert.match(en.out, /^secret: [A-Z2-7]{32}$/m);
      assert.match(en.out, /^uri: otpauth:\/\/totp\//m);
      assert.equal(en.out.match(/^ {2}[a-z2-9]{5}-[a-z2-9]{5}-[a-z2-9]{5}$/gm)?.length, 10);
      assert.match(
        (await petrel('account', '2fa', 'status', 'carol@cli.test')).out,
        /two-factor=on\trecovery-codes-left=10/,
      );
      assert.equal((await petrel('account', '2fa', 'enable', 'carol@cli.test')).code, 2, 'already on');
      assert.equal((await petrel('account', '2fa', 'disable', 'carol@cli.test')).code, 0);
      assert.match((await petrel('account', '2fa', 'status', 'carol@cli.test')).out, /two-factor=off/);
      assert.equal((await petrel('account', '2fa', 'status', 'nobody@cli.test')).code, 2);
      // `petrel init` names the OpenID Provider's issuer after the host name.
      assert.equal(
        (await petrel('init', '--domain', 'init.test', '--hostname', 'mail.init.test', '--dir', join(dir, 'site')))
          .code,
        0,
      );
      assert.match(readFileSync(join(dir, 'site', 'petrel.toml'), 'utf8'), /^issuer = "https:\/\/mail\.init\.test"$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
