// OAuth flows driven over HTTP like a mail app and its user would: the authorization code flow with PKCE
// (login form, optional second-factor form, consent page, code, token exchange) and token endpoint calls.
import assert from 'node:assert/strict';
import { Browser, type Page, pkce, readForm } from './browser.ts';

export const REDIRECT = 'http://127.0.0.1:47123/';

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  id_token?: string;
  scope: string;
  expires_in: number;
  token_type: string;
}

export async function tokenRequest(base: string, form: Record<string, string>, basicAuth?: string) {
  const res = await fetch(new URL('/oauth/token', base), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(basicAuth ? { authorization: `Basic ${Buffer.from(basicAuth).toString('base64')}` } : {}),
    },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Tokens & { error?: string } };
}

/**
 * Runs the authorization request in `browser` up to the login form, signs in (and answers the second-factor
 * form with `code()` when it appears), presses Allow on the consent page a public client gets
 * (RFC 8252 section 8.6; `allow: false` stops there), and returns where the provider sent the browser back to.
 */
export async function signIn(
  browser: Browser,
  o: {
    clientId?: string;
    redirectUri?: string;
    scope?: string;
    username: string;
    password: string;
    code?: () => string;
    challenge: string;
    allow?: boolean;
  },
): Promise<{ redirect: URL; loginStatus: number; codeStatus?: number; page: string }> {
  const redirectUri = o.redirectUri ?? REDIRECT;
  const q = new URLSearchParams({
    client_id: o.clientId ?? 'thunderbird',
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: o.scope ?? 'openid email offline_access mail',
    state: 'st4te',
    code_challenge: o.challenge,
    code_challenge_method: 'S256',
    prompt: 'consent',
  });
  const loginPage = await browser.follow(await browser.request(`/oauth/authorize?${q}`));
  assert.equal(loginPage.status, 200, loginPage.text);
  assert.match(loginPage.text, /name="username"/, 'the login form (a browser without a session)');
  const login = readForm(loginPage.text);
  let page = await browser.request(login.action, { form: { username: o.username, password: o.password } });
  const loginStatus = page.status;
  let codeStatus: number | undefined;
  if (page.status === 200 && page.text.includes('name="code"')) {
    if (!o.code) return { redirect: new URL('about:blank'), loginStatus, page: page.text };
    page = await browser.request(readForm(page.text).action, { form: { code: o.code() } });
    codeStatus = page.status;
  }
  let end = await browser.follow(page, redirectUri);
  if (o.allow !== false && end.status === 200 && isConsentPage(end.text)) end = await allow(browser, end, redirectUri);
  return { redirect: new URL(end.url), loginStatus, codeStatus, page: end.text };
}

/** Petrel's consent page (shown to public clients before a code is issued). */
export const isConsentPage = (html: string) => /<form id="allow"/.test(html);

/** Presses Allow on the consent page `p`, and follows on until the redirect to the client's `redirectUri`. */
export async function allow(browser: Browser, p: Page, redirectUri: string): Promise<Page> {
  const form = readForm(p.text, 'allow');
  return browser.follow(await browser.request(form.action, { form: { consent: 'allow' } }), redirectUri);
}

/** The whole code flow for a public client: returns the tokens. */
export async function codeFlow(base: string, username: string, password: string, scope?: string): Promise<Tokens> {
  const browser = new Browser(base);
  const { verifier, challenge } = pkce();
  const r = await signIn(browser, { username, password, challenge, scope });
  const code = r.redirect.searchParams.get('code');
  assert.ok(code, `no code in ${r.redirect} (${r.page.slice(0, 300)})`);
  const t = await tokenRequest(base, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT,
    client_id: 'thunderbird',
    code_verifier: verifier,
  });
  assert.equal(t.status, 200, JSON.stringify(t.body));
  return t.body;
}
