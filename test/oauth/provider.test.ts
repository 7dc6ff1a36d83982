// Petrel as OpenID Provider, end to end over HTTP on 127.0.0.1: discovery, the authorization code flow with
// PKCE (login form, consent page for native clients, code, token, refresh with rotation, introspection,
// revocation), the device flow (RFC 8628), and App.bearer accepting our access token and refusing revoked, expired and garbage ones;
// on SQLite and PostgreSQL (the provider's models live in the oauth sub-store).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, pkce, readForm } from './browser.ts';
import { allow, codeFlow, isConsentPage, REDIRECT, signIn, tokenRequest } from './flows.ts';

const USER = 'alice@example.com';
const PASS = 'correct horse battery';

for (const backend of ['sqlite', 'postgres'] as const) {
  const skip = backend === 'postgres' && !pgTestUrl() ? PG_SKIP_REASON : undefined;
  describe(`OpenID Provider (${backend})`, { skip }, () => {
    let s: TestServer;
    let base: string;
    before(async () => {
      s = await startTestServer({
        backend,
        pgUrl: pgTestUrl(),
        configure: (c) => {
          c.oauth.clients = [
            `id=webmail;secret=webmail-secret;redirect_uris=http://127.0.0.1:47000/cb;grant_types=authorization_code refresh_token`,
          ];
        },
      });
      base = `http://127.0.0.1:${s.ports.http}`;
      await s.app.directory.addDomain('example.com');
      await s.app.directory.addAccount(USER, PASS);
    });
    after(() => s.stop());

    const introspect = async (token: string, auth = 'webmail:webmail-secret') => {
      const res = await fetch(`${base}/oauth/introspect`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(auth).toString('base64')}`,
        },
        body: new URLSearchParams({ token }),
      });
      assert.equal(res.status, 200);
      return (await res.json()) as { active: boolean; sub?: string; scope?: string; client_id?: string };
    };

    test('discovery names our endpoints, S256 PKCE and the device grant', async () => {
      const res = await fetch(`${base}/.well-known/openid-configuration`);
      assert.equal(res.status, 200);
      const d = (await res.json()) as Record<string, unknown>;
      assert.equal(d.issuer, base);
      assert.equal(d.authorization_endpoint, `${base}/oauth/authorize`);
      assert.equal(d.token_endpoint, `${base}/oauth/token`);
      assert.equal(d.introspection_endpoint, `${base}/oauth/introspect`);
      assert.equal(d.revocation_endpoint, `${base}/oauth/revoke`);
      assert.equal(d.device_authorization_endpoint, `${base}/oauth/device/auth`);
      assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
      assert.ok((d.scopes_supported as string[]).includes('mail'));
      assert.ok((d.grant_types_supported as string[]).includes('urn:ietf:params:oauth:grant-type:device_code'));
      const jwks = (await (await fetch(String(d.jwks_uri))).json()) as { keys: Record<string, unknown>[] };
      assert.equal(jwks.keys[0].kty, 'RSA');
      assert.equal(jwks.keys[0].d, undefined, 'no private part published');
      const rfc8414 = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<
        string,
        unknown
      >;
      assert.equal(rfc8414.token_endpoint, d.token_endpoint);
    });

    test('code flow with PKCE: login, code, token, refresh (rotated), introspection, revocation', async () => {
      const t = await codeFlow(base, USER, PASS);
      assert.equal(t.token_type, 'Bearer');
      assert.ok(t.refresh_token, 'refresh token issued');
      // The ID token verifies against the published JWKS (jose, as any relying party would).
      const { payload } = await jwtVerify(t.id_token!, createRemoteJWKSet(new URL(`${base}/oauth/jwks`)), {
        issuer: base,
        audience: 'thunderbird',
      });
      assert.equal(payload.email, USER);
      assert.ok(t.scope.split(' ').includes('mail'));
      const acc = await s.app.store.getAccount(USER);
      const verified = await s.app.bearer(t.access_token);
      assert.deepEqual({ ...verified, grantId: undefined }, { accountId: acc!.id, scope: t.scope, grantId: undefined });
      assert.match(verified?.grantId ?? '', /^[A-Za-z0-9_-]+$/, 'the grant it was issued under');

      const info = await introspect(t.access_token);
      assert.equal(info.active, true);
      assert.equal(info.sub, String(acc!.id));
      assert.equal(info.client_id, 'thunderbird');

      const userinfo = await fetch(`${base}/oauth/userinfo`, {
        headers: { authorization: `Bearer ${t.access_token}` },
      });
      assert.equal(((await userinfo.json()) as { email: string }).email, USER);

      const r = await tokenRequest(base, {
        grant_type: 'refresh_token',
        refresh_token: t.refresh_token!,
        client_id: 'thunderbird',
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.notEqual(r.body.refresh_token, t.refresh_token, 'public client: rotated');
      assert.ok(await s.app.bearer(r.body.access_token));

      // RFC 7009: the client revokes its access token; introspection and App.bearer agree at once.
      const rev = await fetch(`${base}/oauth/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token: r.body.access_token, client_id: 'thunderbird' }),
      });
      assert.equal(rev.status, 200);
      assert.equal((await introspect(r.body.access_token)).active, false);
      assert.equal(await s.app.bearer(r.body.access_token), null);

      // The old refresh token was used once; using it again is refused.
      const again = await tokenRequest(base, {
        grant_type: 'refresh_token',
        refresh_token: t.refresh_token!,
        client_id: 'thunderbird',
      });
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_grant');
    });

    test('a code or refresh token redeemed by concurrent requests is used once (RFC 6749 4.1.2, 10.5; RFC 9700 4.14.2)', async () => {
      // A client and an attacker who stole the code (or refresh token) redeeming it at the same moment: at most
      // one gets tokens, and the reuse revokes what was issued from it (the winner's tokens too, whenever
      // they were saved).
      const race = async (form: Record<string, string>) => {
        const replies = await Promise.all(Array.from({ length: 12 }, () => tokenRequest(base, form)));
        const issued = replies.filter((r) => r.status === 200);
        assert.ok(issued.length <= 1, `${issued.length} requests got tokens for one ${form.grant_type}`);
        for (const r of replies.filter((r) => r.status !== 200)) assert.equal(r.body.error, 'invalid_grant');
        for (const t of issued) {
          assert.equal(await s.app.bearer(t.body.access_token), null, 'the reuse revoked the tokens issued');
          assert.equal((await introspect(t.body.access_token)).active, false);
          const again = await tokenRequest(base, {
            grant_type: 'refresh_token',
            refresh_token: t.body.refresh_token!,
            client_id: 'thunderbird',
          });
          assert.equal(again.status, 400, 'its refresh token too');
        }
      };
      const { verifier, challenge } = pkce();
      const r = await signIn(new Browser(base), { username: USER, password: PASS, challenge });
      await race({
        grant_type: 'authorization_code',
        code: r.redirect.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        client_id: 'thunderbird',
        code_verifier: verifier,
      });
      const t = await codeFlow(base, USER, PASS);
      await race({ grant_type: 'refresh_token', refresh_token: t.refresh_token!, client_id: 'thunderbird' });
      assert.equal(await s.app.bearer(t.access_token), null, 'the refresh token reuse revoked its grant');
    });

    test('a password change signs the account out everywhere: tokens, refresh tokens, web sessions', async () => {
      // `petrel account passwd` is what an admin runs when a password was stolen: whoever used it must not keep
      // the account through tokens or sign-in sessions made with it (RFC 9700 section 4.14.2).
      const user = 'reset@example.com';
      await s.app.directory.addAccount(user, PASS);
      const imapWith = async (accessToken: string) => {
        const c = new ImapFlow({
          host: '127.0.0.1',
          port: s.ports.imap,
          secure: false,
          doSTARTTLS: false,
          auth: { user, accessToken },
          logger: false,
        });
        c.on('error', () => {});
        await c.connect();
        await c.logout();
      };
      const t = await codeFlow(base, user, PASS);
      await imapWith(t.access_token);
      const web = new Browser(base);
      const r = await signIn(web, { username: user, password: PASS, challenge: pkce().challenge });
      assert.ok(r.redirect.searchParams.get('code'));
      assert.equal((await web.request('/account/login', { json: { username: user, password: PASS } })).status, 200);
      assert.equal((await web.request('/account/2fa')).status, 200);

      await s.app.directory.setPassword(user, 'a new password 2'); // what `petrel account passwd` does

      await assert.rejects(imapWith(t.access_token), 'IMAP refuses the access token');
      assert.equal(await s.app.bearer(t.access_token), null);
      assert.equal((await introspect(t.refresh_token!)).active, false);
      const refreshed = await tokenRequest(base, {
        grant_type: 'refresh_token',
        refresh_token: t.refresh_token!,
        client_id: 'thunderbird',
      });
      assert.equal(refreshed.status, 400, 'the refresh token is dead');
      assert.equal((await web.request('/account/2fa')).status, 401, 'the /account session is gone');
      const q = new URLSearchParams({
        client_id: 'thunderbird',
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid mail',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      });
      const again = await web.follow(await web.request(`/oauth/authorize?${q}`), REDIRECT);
      assert.match(again.text, /name="password"/, 'the sign-in session is gone: the password is asked again');
      // The new password works as before.
      assert.ok(await s.app.bearer((await codeFlow(base, user, 'a new password 2')).access_token));
    });

    test('introspection (RFC 7662 2.2): a token of a removed or disabled account is not active', async () => {
      await s.app.directory.addAccount('gone@example.com', PASS);
      const off = await s.app.directory.addAccount('off@example.com', PASS);
      const gone = await codeFlow(base, 'gone@example.com', PASS);
      const disabled = await codeFlow(base, 'off@example.com', PASS);
      assert.equal((await introspect(gone.access_token)).active, true, 'active while the account exists');
      assert.equal((await introspect(disabled.refresh_token!)).active, true);
      await s.app.directory.removeAccount('gone@example.com'); // what `petrel account remove` does
      await s.app.store.updateAccount(off.id, { disabled: true });
      // The mail protocols refuse these tokens at once; a resource server asking introspection is told the same.
      assert.equal(await s.app.bearer(gone.access_token), null);
      assert.deepEqual(await introspect(gone.access_token), { active: false });
      assert.deepEqual(await introspect(disabled.access_token), { active: false });
      assert.deepEqual(await introspect(disabled.refresh_token!), { active: false });
    });

    test('PKCE is required for a public client; a wrong verifier is refused', async () => {
      const browser = new Browser(base);
      const q = new URLSearchParams({
        client_id: 'thunderbird',
        response_type: 'code',
        redirect_uri: REDIRECT,
        scope: 'openid mail',
      });
      const res = await browser.request(`/oauth/authorize?${q}`);
      const back = new URL(res.headers.get('location') ?? 'http://x/');
      assert.equal(back.searchParams.get('error'), 'invalid_request');
      assert.match(back.searchParams.get('error_description') ?? '', /PKCE/);

      const { challenge } = pkce();
      const r = await signIn(browser, { username: USER, password: PASS, challenge });
      const t = await tokenRequest(base, {
        grant_type: 'authorization_code',
        code: r.redirect.searchParams.get('code')!,
        redirect_uri: REDIRECT,
        client_id: 'thunderbird',
        code_verifier: pkce().verifier,
      });
      assert.equal(t.status, 400);
      assert.equal(t.body.error, 'invalid_grant');
    });

    test('a public (native) client gets a new code only once the user allows it, never silently (RFC 8252 8.6)', async () => {
      const browser = new Browser(base);
      // Signing in for this request is the user's action: the code comes without a second page.
      const first = await signIn(browser, {
        username: USER,
        password: PASS,
        challenge: pkce().challenge,
        allow: false,
      });
      assert.ok(!isConsentPage(first.page), 'just signed in: no consent page');
      assert.ok(first.redirect.searchParams.get('code'), first.redirect.href);
      // Any program on the machine can listen on a loopback port and open this URL as the public client: with
      // the browser's session, it gets the consent page again, not a code.
      const q = (challenge: string) =>
        new URLSearchParams({
          client_id: 'thunderbird',
          response_type: 'code',
          redirect_uri: 'http://127.0.0.1:9999/',
          scope: 'openid mail offline_access',
          code_challenge: challenge,
          code_challenge_method: 'S256',
        });
      const again = await browser.follow(
        await browser.request(`/oauth/authorize?${q(pkce().challenge)}`),
        'http://127.0.0.1:9999/',
      );
      assert.ok(isConsentPage(again.text), `no code without the user: ${again.url}`);
      assert.match(again.text, /Mail app \(Thunderbird and other desktop clients\)<\/strong> asks to use your mail/);
      assert.match(again.text, /read and send your mail/);
      // Allow must come from this browser's request: a post without its interaction cookie is refused.
      const action = readForm(again.text, 'allow').action;
      const forged = await new Browser(base).request(action, { form: { consent: 'allow' } });
      assert.equal(forged.status, 400);
      // Deny: the app is told access_denied.
      const deny = readForm(again.text, 'deny').action;
      const denied = await browser.follow(await browser.request(deny), 'http://127.0.0.1:9999/');
      assert.equal(new URL(denied.url).searchParams.get('error'), 'access_denied');
      // Allow: now the code.
      const { verifier, challenge } = pkce();
      const page = await browser.follow(
        await browser.request(`/oauth/authorize?${q(challenge)}`),
        'http://127.0.0.1:9999/',
      );
      const end = await allow(browser, page, 'http://127.0.0.1:9999/');
      const code = new URL(end.url).searchParams.get('code');
      assert.ok(code, end.url);
      const t = await tokenRequest(base, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: 'http://127.0.0.1:9999/',
        client_id: 'thunderbird',
        code_verifier: verifier,
      });
      assert.equal(t.status, 200, JSON.stringify(t.body));
      // A confidential client of the admin's config proves itself with its secret (first-party): not asked.
      const web = new URLSearchParams({
        client_id: 'webmail',
        response_type: 'code',
        redirect_uri: 'http://127.0.0.1:47000/cb',
        scope: 'openid mail',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      });
      const webEnd = await browser.follow(
        await browser.request(`/oauth/authorize?${web}`),
        'http://127.0.0.1:47000/cb',
      );
      assert.ok(new URL(webEnd.url).searchParams.get('code'), webEnd.text.slice(0, 300));
    });

    test('a wrong password shows the form again with 401; no code is issued', async () => {
      const r = await signIn(new Browser(base), { username: USER, password: 'wrong', challenge: pkce().challenge });
      assert.equal(r.loginStatus, 401);
      assert.equal(r.redirect.searchParams.get('code'), null);
    });

    test('a confidential client from [oauth] config signs in with its secret', async () => {
      const browser = new Browser(base);
      const { verifier, challenge } = pkce();
      const redirectUri = 'http://127.0.0.1:47000/cb';
      const r = await signIn(browser, {
        clientId: 'webmail',
        redirectUri,
        username: USER,
        password: PASS,
        challenge,
        scope: 'openid mail',
      });
      const code = r.redirect.searchParams.get('code')!;
      const bad = await tokenRequest(
        base,
        { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
        'webmail:nope',
      );
      assert.equal(bad.status, 401);
      const t = await tokenRequest(
        base,
        { grant_type: 'authorization_code', code, redirect_uri: redirectUri, code_verifier: verifier },
        'webmail:webmail-secret',
      );
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.ok(await s.app.bearer(t.body.access_token));
    });

    test('device authorization grant (RFC 8628): code shown, user signs in in a browser, device gets tokens', async () => {
      const form = (f: Record<string, string>) => ({
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(f),
      });
      const da = (await (
        await fetch(`${base}/oauth/device/auth`, form({ client_id: 'thunderbird', scope: 'openid mail' }))
      ).json()) as {
        device_code: string;
        user_code: string;
        verification_uri: string;
      };
      assert.equal(da.verification_uri, `${base}/oauth/device`);
      const poll = {
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
        device_code: da.device_code,
        client_id: 'thunderbird',
      };
      assert.equal((await tokenRequest(base, poll)).body.error, 'authorization_pending');

      const browser = new Browser(base);
      const input = await browser.request('/oauth/device');
      const f1 = readForm(input.text, 'op.deviceInputForm');
      const confirm = await browser.follow(
        await browser.request(f1.action, { form: { ...f1.fields, user_code: da.user_code } }),
      );
      assert.match(confirm.text, new RegExp(da.user_code));
      const f2 = readForm(confirm.text, 'op.deviceConfirmForm');
      const loginPage = await browser.follow(await browser.request(f2.action, { form: f2.fields }));
      const login = readForm(loginPage.text);
      const done = await browser.follow(
        await browser.request(login.action, { form: { username: USER, password: PASS } }),
      );
      assert.equal(done.status, 200);
      assert.match(done.text, /Device connected/);

      const t = await tokenRequest(base, poll);
      assert.equal(t.status, 200, JSON.stringify(t.body));
      assert.equal((await s.app.bearer(t.body.access_token))?.accountId, (await s.app.store.getAccount(USER))!.id);
    });

    test("the provider's own pages (device code, its Allow, sign-out, errors) refuse to be framed (clickjacking)", async () => {
      // The device confirmation page's Allow gives the device a token for the signed-in user's mail: a page that
      // frames it transparently over a button of its own must not be able to have it clicked (RFC 6819 4.4.1.9).
      const da = (await (
        await fetch(`${base}/oauth/device/auth`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ client_id: 'thunderbird', scope: 'openid mail' }),
        })
      ).json()) as { user_code: string };
      const browser = new Browser(base);
      const input = await browser.request('/oauth/device');
      const f = readForm(input.text, 'op.deviceInputForm');
      const confirm = await browser.follow(
        await browser.request(f.action, { form: { ...f.fields, user_code: da.user_code } }),
      );
      assert.match(confirm.text, /op\.deviceConfirmForm/);
      const logout = await browser.request('/oauth/logout');
      const error = await browser.request('/oauth/authorize?client_id=nobody&response_type=code');
      for (const [name, p] of Object.entries({ input, confirm, logout, error })) {
        assert.match(p.headers.get('content-type') ?? '', /text\/html/, name);
        assert.equal(p.headers.get('x-frame-options'), 'DENY', name);
        assert.match(p.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, name);
      }
    });

    test('App.bearer refuses garbage, unknown, expired and mail-less tokens', async () => {
      assert.equal(await s.app.bearer(''), null);
      assert.equal(await s.app.bearer('not a token at all'), null);
      assert.equal(await s.app.bearer('A'.repeat(43)), null);
      assert.equal(await s.app.bearer('x'.repeat(100_000)), null);
      const noMail = await codeFlow(base, USER, PASS, 'openid email');
      assert.equal(await s.app.bearer(noMail.access_token), null, 'no mail scope');
      // Expired: the stored token's expiry moved into the past (the provider re-checks its exp claim too).
      const t = await codeFlow(base, USER, PASS);
      const m = await s.app.store.oauth.findModel('AccessToken', t.access_token, Date.now());
      assert.ok(m);
      const p = JSON.parse(m.payload);
      p.exp = Math.floor(Date.now() / 1000) - 10;
      await s.app.store.oauth.upsertModel({ ...m, payload: JSON.stringify(p) });
      assert.equal(await s.app.bearer(t.access_token), null);
      await s.app.store.oauth.upsertModel({ ...m, expiresAt: Date.now() - 1000 });
      assert.equal(await s.app.bearer(t.access_token), null);
    });
  });
}
