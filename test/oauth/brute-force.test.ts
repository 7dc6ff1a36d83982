// The web sign-in shares the mail protocols' brute-force limiter: failed logins on the OAuth page count
// per IP, lock the IP out of the web form and of IMAP alike, and a lockout refuses even the right password.
// A wrong second-factor code is a failed sign-in too (per IP and per account, on the OAuth page and on
// /account/login), an IP becomes known-good for an account only once the second factor has passed, and a
// signed-in session re-proving the factor (/account/2fa/disable, /recovery-codes) is counted and locked out
// the same way. Requests come from several loopback addresses (127.0.0.x) to stand for several clients.
// Behind a trusted proxy (oauth.trust_proxy), the client is the address the proxy appended to
// X-Forwarded-For, on /account and the OAuth page alike (an IPv6 client counted by its /64), and the
// /account session cookie is Secure when the proxy says the client came over https. Every web failure and lockout is a security event in the log, as
// for the mail protocols: "auth_failure" / "auth_locked" with the IP and the user name, never the secret.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { totpCode } from '../../src/auth/totp.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, pkce } from './browser.ts';
import { signIn } from './flows.ts';

const USER = 'fred@example.com';
const PASS = 'fred password 7';
const log = captureLog();
let s: TestServer;
before(async () => {
  s = await startTestServer({
    logTo: log.stream,
    configure: (c) => {
      c.security.max_failures_per_ip = 3;
      c.security.failure_delay_ms = 1;
    },
  });
  await s.app.directory.addDomain('example.com');
  await s.app.directory.addAccount(USER, PASS);
});
after(() => s.stop());

test('three wrong web passwords lock the IP: the web form answers 429 and IMAP refuses too', async () => {
  const base = `http://127.0.0.1:${s.ports.http}`;
  const attempt = (password: string) =>
    signIn(new Browser(base), { username: USER, password, challenge: pkce().challenge });
  for (let i = 0; i < 3; i++) assert.equal((await attempt(`wrong ${i}`)).loginStatus, 401);
  const locked = await attempt(PASS);
  assert.equal(locked.loginStatus, 429);
  assert.equal(locked.redirect.searchParams.get('code'), null);
  const account = await new Browser(base).request('/account/login', { json: { username: USER, password: PASS } });
  assert.equal(account.status, 429);
  const imap = new ImapFlow({
    host: '127.0.0.1',
    port: s.ports.imap,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, pass: PASS },
    logger: false,
  });
  imap.on('error', () => {});
  await assert.rejects(imap.connect());

  // The log names who was tried, from where, on which page; the lockouts are there too.
  const events = log.lines
    .filter((l) => l.event === 'auth_failure' || l.event === 'auth_locked')
    .map((l) => [l.event, l.via ?? l.protocol, l.ip, l.user, l.mechanism ?? l.reason]);
  assert.deepEqual(events.slice(0, 5), [
    ['auth_failure', 'oauth-login', '127.0.0.1', USER, 'password'],
    ['auth_failure', 'oauth-login', '127.0.0.1', USER, 'password'],
    ['auth_failure', 'oauth-login', '127.0.0.1', USER, 'password'],
    ['auth_locked', 'oauth-login', '127.0.0.1', USER, 'ip'],
    ['auth_locked', 'account-login', '127.0.0.1', USER, 'ip'],
  ]);
  const text = JSON.stringify(log.lines);
  assert.ok(!text.includes(PASS) && !text.includes('wrong 0'), 'never the password');
});

test('guesses sent together are answered after the lockout they cause: the right one among them is refused too', async () => {
  // All pass the lockout check on arrival, before any password is checked (Argon2 takes its time): without a
  // second check once each is checked, every one would be answered, past the limit of 3.
  const user = 'gina@example.com';
  const pw = 'gina password 1';
  await s.app.directory.addAccount(user, pw);
  const ip = '127.0.0.41';
  const tries = Array.from({ length: 12 }, (_, i) =>
    postFrom(s.ports.http, ip, '/account/login', { username: user, password: `wrong ${i}` }),
  );
  tries.push(postFrom(s.ports.http, ip, '/account/login', { username: user, password: pw }));
  const answers = await Promise.all(tries);
  assert.equal(answers.at(-1)!.status, 429, 'the right password, checked after the lockout, is not confirmed');
  assert.ok(answers.filter((r) => r.status === 401).length <= 4, answers.map((r) => r.status).join(' '));
});

/** A JSON POST to the HTTP listener from the local address `ip`: status, parsed body, the session cookie set. */
function postFrom(port: number, ip: string, path: string, body: unknown, cookie = '') {
  return new Promise<{ status: number; body: { error?: string }; cookie: string }>((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        localAddress: ip,
        method: 'POST',
        path,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), cookie },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : {},
            cookie: (res.headers['set-cookie']?.[0] ?? '').split(';')[0],
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

describe('the second factor', () => {
  const PW = 'second factor pw 1';
  const log2 = captureLog();
  let t: TestServer;
  const secrets = new Map<string, string>();
  const recovery = new Map<string, string[]>();
  before(async () => {
    t = await startTestServer({
      logTo: log2.stream,
      configure: (c) => {
        c.security.max_failures_per_ip = 4;
        c.security.max_failures_per_account = 3;
        c.security.failure_delay_ms = 1;
      },
    });
    await t.app.directory.addDomain('example.com');
    for (const user of ['alice@example.com', 'carol@example.com', 'dave@example.com']) {
      const a = await t.app.directory.addAccount(user, PW);
      const on = await t.app.oauth.twoFactor.enableNow(a.id, user);
      secrets.set(user, on.secret);
      recovery.set(user, on.recoveryCodes);
    }
  });
  after(() => t.stop());

  const code = (user: string) => totpCode(secrets.get(user)!, Date.now());
  const wrong = (user: string) => (code(user) === '000000' ? '111111' : '000000');

  test('wrong codes after the right password, from several IPs, lock the account for new IPs', async () => {
    const user = 'alice@example.com';
    for (const ip of ['127.0.0.31', '127.0.0.32', '127.0.0.33']) {
      const r = await postFrom(t.ports.http, ip, '/account/login', { username: user, password: PW, code: wrong(user) });
      assert.equal(r.status, 401, JSON.stringify(r.body));
    }
    // max_failures_per_account = 3: an IP that never completed a sign-in is refused, right code or not.
    const r = await postFrom(t.ports.http, '127.0.0.34', '/account/login', {
      username: user,
      password: PW,
      code: code(user),
    });
    assert.equal(r.status, 429, JSON.stringify(r.body));
  });

  test('on the OAuth page, the right password with a wrong code does not make the IP known-good', async () => {
    const user = 'dave@example.com';
    const base = `http://127.0.0.1:${t.ports.http}`;
    for (let i = 0; i < 3; i++) {
      const r = await signIn(new Browser(base), {
        username: user,
        password: PW,
        challenge: pkce().challenge,
        code: () => wrong(user),
      });
      assert.equal(r.codeStatus, 401);
    }
    // Three failures for dave: 127.0.0.1 passed only his password, so it is refused like any stranger.
    const locked = await signIn(new Browser(base), {
      username: user,
      password: PW,
      challenge: pkce().challenge,
      code: () => code(user),
    });
    assert.equal(locked.loginStatus, 429);
    assert.equal(locked.redirect.searchParams.get('code'), null);
  });

  test('wrong codes at /account/2fa/disable and /recovery-codes count, and lock the IP out (429)', async () => {
    const user = 'carol@example.com';
    const ip = '127.0.0.41';
    const s = await postFrom(t.ports.http, ip, '/account/login', { username: user, password: PW, code: code(user) });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    for (const path of [
      '/account/2fa/recovery-codes',
      '/account/2fa/disable',
      '/account/2fa/disable',
      '/account/2fa/disable',
    ])
      assert.equal((await postFrom(t.ports.http, ip, path, { code: wrong(user) }, s.cookie)).status, 400, path);
    // max_failures_per_ip = 4: the fifth attempt is not even checked, a good recovery code included.
    const r = await postFrom(t.ports.http, ip, '/account/2fa/disable', { code: recovery.get(user)![0] }, s.cookie);
    assert.equal(r.status, 429, JSON.stringify(r.body));
    const acc = (await t.app.store.getAccount(user))!;
    assert.equal((await t.app.oauth.twoFactor.status(acc.id)).enabled, true, 'still on');
    const events = log2.lines
      .filter((l) => l.user === user && String(l.event).startsWith('auth_'))
      .map((l) => [l.event, l.via, l.ip, l.mechanism ?? l.reason]);
    assert.deepEqual(events, [
      ...Array(4).fill(['auth_failure', 'account-2fa', ip, 'second-factor']),
      ['auth_locked', 'account-2fa', ip, 'ip'],
    ]);
  });
});

describe('behind a trusted reverse proxy (oauth.trust_proxy)', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      configure: (c) => {
        c.oauth.trust_proxy = true;
        c.security.max_failures_per_ip = 3;
        c.security.failure_delay_ms = 1;
      },
    });
    await t.app.directory.addDomain('example.com');
    await t.app.directory.addAccount(USER, PASS);
  });
  after(() => t.stop());

  /** /account/login as the proxy forwards it: it appends the client's address to X-Forwarded-For. */
  const viaProxy = (forwardedFor: string, password: string, proto = 'https') =>
    fetch(`http://127.0.0.1:${t.ports.http}/account/login`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-forwarded-proto': proto,
        'x-forwarded-for': forwardedFor,
      },
      body: JSON.stringify({ username: USER, password }),
    });

  test('the /account session cookie is Secure when the client reached the proxy over https', async () => {
    const https = await viaProxy('198.51.100.7', PASS);
    assert.equal(https.status, 200);
    assert.match(https.headers.get('set-cookie') ?? '', /^petrel_account=[^;]+;.*SameSite=Strict.*; Secure$/);
    const http = await viaProxy('198.51.100.7', PASS, 'http');
    assert.equal(http.status, 200);
    assert.doesNotMatch(http.headers.get('set-cookie') ?? '', /Secure/);
  });

  test("failures count for the forwarded client, not the proxy: one stranger's guesses lock out only them", async () => {
    // The first entries are the client's to write: a stranger naming the real user's address is still himself.
    for (let i = 0; i < 3; i++) assert.equal((await viaProxy(`198.51.100.7, 203.0.113.66`, `guess ${i}`)).status, 401);
    assert.equal((await viaProxy('203.0.113.66', PASS)).status, 429);
    // The OAuth page counts the same client.
    const base = `http://127.0.0.1:${t.ports.http}`;
    const stranger = await signIn(new Browser(base, { 'x-forwarded-for': '203.0.113.66' }), {
      username: USER,
      password: PASS,
      challenge: pkce().challenge,
    });
    assert.equal(stranger.loginStatus, 429);
    // The real user, behind the same proxy, signs in on both.
    assert.equal((await viaProxy('198.51.100.7', PASS)).status, 200);
    const user = await signIn(new Browser(base, { 'x-forwarded-for': '198.51.100.7' }), {
      username: USER,
      password: PASS,
      challenge: pkce().challenge,
    });
    assert.ok(user.redirect.searchParams.get('code'), user.page.slice(0, 300));
  });

  test('an IPv6 client is its /64: a locked-out client cannot go on from the next address of its network', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await viaProxy('2001:db8:1:2::1', `guess ${i}`)).status, 401);
    // One host owns the whole /64 (SLAAC privacy addresses, a /64 per customer), however it is spelt.
    const statuses: number[] = [];
    for (const other of ['2001:db8:1:2::2', '2001:db8:1:2:ffff:1:2:3', '2001:0DB8:0001:0002::9'])
      statuses.push((await viaProxy(other, PASS)).status);
    assert.deepEqual(statuses, [429, 429, 429]);
    // The next /64 is another client; IPv4 clients are still counted per address.
    assert.equal((await viaProxy('2001:db8:1:3::1', PASS)).status, 200);
    for (let i = 0; i < 3; i++) assert.equal((await viaProxy('192.0.2.1', `guess ${i}`)).status, 401);
    assert.equal((await viaProxy('192.0.2.1', PASS)).status, 429);
    assert.equal((await viaProxy('192.0.2.2', PASS)).status, 200);
  });

  test('an entry with a port ("192.0.2.7:51234", "[2001:db8::1]:443") is the client, each port the same one', async () => {
    // Proxies that append the client's source port (a new one each connection) must not give every attempt
    // a fresh allowance, nor every client behind them the proxy's one.
    for (const port of [51234, 51235, 51236])
      assert.equal((await viaProxy(`192.0.2.20:${port}`, `guess ${port}`)).status, 401);
    assert.equal((await viaProxy('192.0.2.20:40000', PASS)).status, 429);
    assert.equal((await viaProxy('192.0.2.20', PASS)).status, 429);
    assert.equal((await viaProxy('192.0.2.21:51234', PASS)).status, 200, 'another client, not the proxy');
    const base = `http://127.0.0.1:${t.ports.http}`;
    const oauthPage = await signIn(new Browser(base, { 'x-forwarded-for': '192.0.2.20:1' }), {
      username: USER,
      password: PASS,
      challenge: pkce().challenge,
    });
    assert.equal(oauthPage.loginStatus, 429, 'the OAuth page reads the same client');
    // IPv6 in brackets with a port, still counted by its /64.
    for (const port of [443, 444, 445])
      assert.equal((await viaProxy(`[2001:db8:7::1]:${port}`, `guess ${port}`)).status, 401);
    assert.equal((await viaProxy('[2001:db8:7::2]:8443', PASS)).status, 429);
    assert.equal((await viaProxy('[2001:db8:7::3]', PASS)).status, 429);
    assert.equal((await viaProxy('2001:db8:7::4', PASS)).status, 429);
    assert.equal((await viaProxy('[2001:db8:8::1]:443', PASS)).status, 200);
  });

  test('an entry that is no address (with or without a port) counts against the proxy itself', async () => {
    // From a proxy of its own (127.0.0.81), so locking it out leaves the other tests' proxy alone.
    const fromProxy = (forwardedFor: string, password: string) =>
      new Promise<number>((resolve, reject) => {
        const data = JSON.stringify({ username: USER, password });
        const req = request(
          {
            host: '127.0.0.1',
            port: t.ports.http,
            localAddress: '127.0.0.81',
            method: 'POST',
            path: '/account/login',
            headers: {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(data),
              'x-forwarded-for': forwardedFor,
            },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          },
        );
        req.on('error', reject);
        req.end(data);
      });
    // Each garbage entry names nobody: they are one client, the proxy, not one fresh allowance each.
    for (const junk of ['unknown', '192.0.2.40:99999', '[192.0.2.40]:80'])
      assert.equal(await fromProxy(junk, `guess ${junk}`), 401, junk);
    for (const junk of ['192.0.2.40:', '2001:db8:9::1]:80', '[2001:db8:9::1', '192.0.2.40:8o', '_hidden', ''])
      assert.equal(await fromProxy(junk, PASS), 429, JSON.stringify(junk));
    // A client the proxy names properly is still itself.
    assert.equal(await fromProxy('192.0.2.41:1234', PASS), 200);
  });
});
