// Sign-in forms posted from another site are refused (login CSRF): the OAuth login, second-factor and consent
// posts and /account/login answer 403 when the browser says the form came from elsewhere (Sec-Fetch-Site
// other than same-origin or none, or, from a browser without Fetch Metadata, an Origin that is not ours),
// and the interaction goes on untouched; posts from our own pages and from clients that send neither header
// (curl, scripts) still sign in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { totpCode } from '../../src/auth/totp.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Browser, type Page, pkce, readForm } from './browser.ts';
import { isConsentPage, REDIRECT } from './flows.ts';

const USER = 'alice@example.com';
const PASS = 'alice password 3';
const TWO = 'tess@example.com';
let s: TestServer;
let base: string;
let secret = '';

before(async () => {
  // Few failures lock an IP: the refused posts below would lock this one if they were counted as guesses.
  s = await startTestServer({ configure: (c) => (c.security.max_failures_per_ip = 3) });
  base = `http://127.0.0.1:${s.ports.http}`;
  await s.app.directory.addDomain('example.com');
  await s.app.directory.addAccount(USER, PASS);
  const tess = await s.app.directory.addAccount(TWO, PASS);
  secret = (await s.app.oauth.twoFactor.begin(tess.id, TWO)).secret;
  // The previous step's code (within the window): the current one stays unused for the sign-in below.
  assert.ok(await s.app.oauth.twoFactor.confirm(tess.id, totpCode(secret, Date.now() - 30_000)));
});
after(() => s.stop());

/** What a browser sends with a form from another page: a cross-site one, a same-site one, an old browser's. */
const FOREIGN: Record<string, string>[] = [
  { 'Sec-Fetch-Site': 'cross-site', Origin: 'https://evil.example' },
  // Another origin of the same site (RFC 6265bis section 5.2): SameSite=Lax cookies go with its posts.
  { 'Sec-Fetch-Site': 'same-site', Origin: 'http://127.0.0.1:1' },
  // A browser without Fetch Metadata (Safari before 16.4) sends only Origin; "null" from a sandboxed frame.
  { Origin: 'https://evil.example' },
  { Origin: 'null' },
];

/** Starts an authorization request for a public client in a new browser: the browser and the login page. */
async function loginPage(): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser(base);
  const q = new URLSearchParams({
    client_id: 'thunderbird',
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access mail',
    state: 'st4te',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  });
  const page = await browser.follow(await browser.request(`/oauth/authorize?${q}`));
  assert.match(page.text, /name="username"/);
  return { browser, page };
}

test('the OAuth login form posted from another site is refused, and no guess is counted', async () => {
  const { browser, page } = await loginPage();
  const action = readForm(page.text).action;
  for (const headers of FOREIGN) {
    const r = await browser.request(action, { form: { username: USER, password: 'a guess' }, headers });
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.ok(!r.headers.get('location'), 'no redirect on to the client');
  }
  // The same browser, from the page itself, signs in: the refused posts spent nothing (four guesses counted
  // would have locked this IP).
  const own = await browser.request(action, {
    form: { username: USER, password: PASS },
    headers: { 'Sec-Fetch-Site': 'same-origin', Origin: base },
  });
  assert.equal(own.status, 303, own.text);
});

test('the consent page’s Allow posted from another site is refused; the user’s own Allow gives the code', async () => {
  const { browser, page } = await loginPage();
  const signedIn = await browser.request(readForm(page.text).action, { form: { username: USER, password: PASS } });
  const first = await browser.follow(signedIn, REDIRECT);
  assert.ok(new URL(first.url).searchParams.get('code'), 'the first request: signed in just now, no consent page');
  // Signed in now; a second request from the same app finds the session and asks for consent.
  const again = await loginPageWithSession(browser);
  assert.ok(isConsentPage(again.text), again.text.slice(0, 300));
  const action = readForm(again.text, 'allow').action;
  for (const headers of FOREIGN) {
    const r = await browser.request(action, { form: { consent: 'allow' }, headers });
    assert.equal(r.status, 403, JSON.stringify(headers));
  }
  const own = await browser.follow(
    await browser.request(action, { form: { consent: 'allow' }, headers: { 'Sec-Fetch-Site': 'same-origin' } }),
    REDIRECT,
  );
  assert.ok(new URL(own.url).searchParams.get('code'), own.url);
});

/** A new authorization request in a browser that holds a sign-in session: up to the page it shows. */
async function loginPageWithSession(browser: Browser): Promise<Page> {
  const q = new URLSearchParams({
    client_id: 'thunderbird',
    response_type: 'code',
    redirect_uri: REDIRECT,
    scope: 'openid email offline_access mail',
    state: 'st4te2',
    code_challenge: pkce().challenge,
    code_challenge_method: 'S256',
  });
  return browser.follow(await browser.request(`/oauth/authorize?${q}`), REDIRECT);
}

test('the second-factor form posted from another site is refused; the code from the page itself passes', async () => {
  const { browser, page } = await loginPage();
  const second = await browser.request(readForm(page.text).action, { form: { username: TWO, password: PASS } });
  assert.match(second.text, /name="code"/);
  const action = readForm(second.text).action;
  const code = totpCode(secret, Date.now());
  for (const headers of FOREIGN) {
    const r = await browser.request(action, { form: { code: '000000' }, headers });
    assert.equal(r.status, 403, JSON.stringify(headers));
  }
  const own = await browser.request(action, { form: { code }, headers: { 'Sec-Fetch-Site': 'same-origin' } });
  assert.equal(own.status, 303, own.text);
});

test('/account/login posted from another site is refused; without Fetch Metadata or Origin (curl) it signs in', async () => {
  for (const headers of FOREIGN) {
    const r = await new Browser(base).request('/account/login', { form: { username: USER, password: PASS }, headers });
    assert.equal(r.status, 403, JSON.stringify(headers));
    assert.equal(r.headers.get('set-cookie'), null);
  }
  const plain = await new Browser(base).request('/account/login', { json: { username: USER, password: PASS } });
  assert.equal(plain.status, 200, plain.text);
  const typed = await new Browser(base).request('/account/login', {
    form: { username: USER, password: PASS },
    headers: { 'Sec-Fetch-Site': 'none' },
  });
  assert.equal(typed.status, 200, 'a request the user made themselves (Sec-Fetch-Site: none)');
});
