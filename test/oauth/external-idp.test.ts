// External identity provider: a second OpenID provider in its own process issues JWT access tokens;
// App.bearer accepts them by the configured issuer, JWKS, audience and claim, and refuses a token from an
// unknown issuer, an expired one, one for another audience, a forged signature, and unknown accounts; an
// email marked unverified, and (over IMAP with curl) an account outside the provider's domains.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { generateKeyPair, SignJWT } from 'jose';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'dana@example.com';
const curl = peer('curl', 'curl');

describe('external identity provider', () => {
  let idp: ChildProcess;
  let issuer = '';
  let s: TestServer;
  /** The same provider trusted for the domain tenant-b.test only. */
  let b: TestServer;
  let accountId = 0;

  before(async () => {
    idp = spawn(process.execPath, [new URL('./external-idp.ts', import.meta.url).pathname], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const [line] = (await once(createInterface({ input: idp.stdout! }), 'line')) as [string];
    issuer = JSON.parse(line).issuer;
    // The provider is a real peer: its discovery document names the JWKS Petrel is configured with.
    const disco = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
    s = await startTestServer({
      configure: (c) => {
        c.oauth.external_idps = [`issuer=${issuer};jwks_uri=${disco.jwks_uri};audience=petrel-mail;claim=email`];
      },
    });
    await s.app.directory.addDomain('example.com');
    accountId = (await s.app.directory.addAccount(USER, 'pw-dana-123')).id;
    b = await startTestServer({
      configure: (c) => {
        c.oauth.external_idps = [
          `issuer=${issuer};jwks_uri=${disco.jwks_uri};audience=petrel-mail;claim=email;domains=Tenant-B.test`,
        ];
      },
    });
    for (const d of ['example.com', 'tenant-b.test']) await b.app.directory.addDomain(d);
    await b.app.directory.addAccount(USER, 'pw-dana-123');
    await b.app.directory.addAccount('erin@tenant-b.test', 'pw-erin-123');
  });
  after(async () => {
    await s?.stop();
    await b?.stop();
    idp?.kill('SIGTERM');
  });

  const issue = async (claims: Record<string, unknown>, path = '/issue') => {
    const r = await fetch(`${issuer}${path}`, { method: 'POST', body: JSON.stringify(claims) });
    return ((await r.json()) as { access_token: string }).access_token;
  };
  const now = () => Math.floor(Date.now() / 1000);

  test('a token from the configured issuer maps its email claim to the account', async () => {
    const t = await issue({ sub: 'ext-1', email: USER, aud: 'petrel-mail', scope: 'openid email' });
    assert.deepEqual(await s.app.bearer(t), { accountId, scope: 'openid email' });
    const upper = await issue({ email: 'DANA@Example.COM', aud: ['other', 'petrel-mail'] });
    assert.deepEqual(await s.app.bearer(upper), { accountId });
    // Inside the clock tolerance (30 s) an just-expired token still passes.
    assert.ok(await s.app.bearer(await issue({ email: USER, aud: 'petrel-mail', exp: now() - 5 })));
  });

  test('expired, wrong audience, forged signature, missing claim or account: refused', async () => {
    assert.equal(
      await s.app.bearer(await issue({ email: USER, aud: 'petrel-mail', exp: now() - 120 })),
      null,
      'expired',
    );
    assert.equal(await s.app.bearer(await issue({ email: USER, aud: 'someone-else' })), null, 'wrong audience');
    assert.equal(
      await s.app.bearer(await issue({ email: USER, aud: 'petrel-mail' }, '/issue-rogue')),
      null,
      'bad signature',
    );
    assert.equal(
      await s.app.bearer(await issue({ email: USER, aud: 'petrel-mail', nbf: now() + 600 })),
      null,
      'not yet valid',
    );
    assert.equal(await s.app.bearer(await issue({ sub: 'x', aud: 'petrel-mail' })), null, 'no email claim');
    assert.equal(
      await s.app.bearer(await issue({ email: 'nobody@example.com', aud: 'petrel-mail' })),
      null,
      'no such account',
    );
  });

  test('a token from an unknown issuer, or unsigned, is refused', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ email: USER })
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer('http://127.0.0.1:9/')
      .setAudience('petrel-mail')
      .setExpirationTime('5m')
      .sign(privateKey);
    assert.equal(await s.app.bearer(foreign), null, 'unknown issuer');
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const unsigned = `${b64({ alg: 'none' })}.${b64({ iss: issuer, aud: 'petrel-mail', email: USER, exp: now() + 300 })}.`;
    assert.equal(await s.app.bearer(unsigned), null, 'alg none');
    assert.equal(await s.app.bearer('a.b.c'), null, 'garbage');
  });

  test('an email the provider marks unverified is refused', async () => {
    const unverified = await issue({ email: USER, email_verified: false, aud: 'petrel-mail' });
    assert.equal(await s.app.bearer(unverified), null);
    const asString = await issue({ email: USER, email_verified: 'false', aud: 'petrel-mail' });
    assert.equal(await s.app.bearer(asString), null, 'as some providers send it');
    assert.ok(await s.app.bearer(await issue({ email: USER, email_verified: true, aud: 'petrel-mail' })));
  });

  test('a provider limited to some domains signs in their accounts only (IMAP XOAUTH2 with curl)', {
    skip: curl.skip,
  }, async () => {
    const imap = (user: string, token: string) =>
      run('curl', [
        '-sS',
        '--max-time',
        '20',
        '--login-options',
        'AUTH=XOAUTH2',
        '--user',
        user,
        '--oauth2-bearer',
        token,
        `imap://127.0.0.1:${b.ports.imap}/`,
      ]);
    const erin = await imap('erin@tenant-b.test', await issue({ email: 'erin@tenant-b.test', aud: 'petrel-mail' }));
    assert.equal(erin.status, 0, erin.stderr);
    assert.match(erin.stdout, /INBOX/);
    // The tenant's provider names an account of another domain hosted here: refused (curl: login denied).
    const dana = await imap(USER, await issue({ email: USER, aud: 'petrel-mail' }));
    assert.equal(dana.status, 67, dana.stderr);
    const unverified = await issue({ email: 'erin@tenant-b.test', email_verified: false, aud: 'petrel-mail' });
    assert.equal((await imap('erin@tenant-b.test', unverified)).status, 67);
  });
});
