// The OpenID Provider's interaction pages (ours, not oidc-provider's development ones):
//   GET  /oauth/interaction/:uid         login form; or for consent: the consent page (public clients such
//                                        as mail apps, RFC 8252 section 8.6), or consent granted at once
//                                        (confidential clients of the admin's config, the device flow)
//   POST /oauth/interaction/:uid/login   username + password; then the second-factor form when 2FA is on
//   POST /oauth/interaction/:uid/code    TOTP or recovery code
//   POST /oauth/interaction/:uid/consent the user allows the app (the consent page's Allow)
//   GET  /oauth/interaction/:uid/abort   the user declines (access_denied to the client)
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { BodyError, bodyErrorHeaders, clientOf, crossOrigin, readFields, sendHtml } from './http-util.ts';
import type { Login } from './login.ts';
import { consentPage, loginPage, messagePage, secondFactorPage } from './pages.ts';
import { INTERACTION_PREFIX } from './provider.ts';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export function interactionHandler(deps: { provider: () => Promise<Provider>; login: Login; mailScope: string }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rest = (req.url ?? '').split('?')[0].slice(INTERACTION_PREFIX.length);
    const [uid, action = '', extra] = rest.split('/');
    if (!uid || extra !== undefined) return sendHtml(res, 404, messagePage('Not found', 'No such page.'));
    // Login CSRF: the interaction cookie is SameSite=Lax, which another origin of the same site (RFC 6265bis
    // section 5.2) still gets on its posts, and a page elsewhere could post the form with its own account's
    // password (the user then signed in as the attacker, their mail app given the attacker's mailbox) or
    // press Allow for the user. Our forms are posted by our own pages: a browser that says a post comes from
    // elsewhere (Sec-Fetch-Site, or Origin from one without Fetch Metadata) is refused, before any of it is
    // read, so it is no guess either. Clients that send neither are no browser.
    if (req.method === 'POST' && crossOrigin(req))
      return sendHtml(
        res,
        403,
        messagePage('Refused', 'This form was sent from another site. Start again from your app.'),
      );
    const provider = await deps.provider();
    let details: Details;
    try {
      details = await provider.interactionDetails(req, res);
    } catch {
      // No interaction cookie, another browser, or expired: the app must start the sign-in again.
      return sendHtml(
        res,
        400,
        messagePage('Sign-in expired', 'This sign-in request has expired. Start again from your app.'),
      );
    }
    if (details.uid !== uid) return sendHtml(res, 400, messagePage('Sign-in expired', 'Start again from your app.'));
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? String(details.params.client_id);
    const base = `${INTERACTION_PREFIX}${uid}`;
    const finishLogin = (accountId: number, amr: string[]) =>
      provider.interactionFinished(
        req,
        res,
        { login: { accountId: String(accountId), amr } },
        { mergeWithLastSubmission: false },
      );

    if (req.method === 'GET' && action === '') {
      if (details.prompt.name === 'login')
        return sendHtml(res, 200, loginPage({ action: `${base}/login`, client: clientName }));
      if (details.prompt.name === 'consent' && !userMustAllow(client, details))
        return grantConsent(provider, details, req, res);
      if (details.prompt.name === 'consent')
        return sendHtml(
          res,
          200,
          consentPage({
            action: `${base}/consent`,
            abort: `${base}/abort`,
            client: clientName,
            scopes: String(details.params.scope ?? '').split(' '),
            mailScope: deps.mailScope,
          }),
        );
      return sendHtml(res, 400, messagePage('Cannot continue', 'This request needs something Petrel does not offer.'));
    }
    // Allow on the consent page. As for the login form, the interaction cookie (SameSite=Lax) is what ties
    // the post to this browser's request: a cross-site form post arrives without it and is refused above.
    if (req.method === 'POST' && action === 'consent' && details.prompt.name === 'consent')
      return grantConsent(provider, details, req, res);
    if (req.method === 'GET' && action === 'abort')
      return provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user declined' },
        { mergeWithLastSubmission: false },
      );
    if (req.method !== 'POST' || details.prompt.name !== 'login')
      return sendHtml(res, 405, messagePage('Not allowed', 'Start again from your app.'));

    let fields: Map<string, string>;
    try {
      fields = await readFields(req);
    } catch (e) {
      if (e instanceof BodyError)
        return sendHtml(res, e.status, messagePage('Bad request', e.message), bodyErrorHeaders(e));
      throw e;
    }
    // Who is signing in, as the provider itself reads it (oauth.trust_proxy): what the limiter counts. Login
    // logs failures and lockouts as security events.
    const { ip } = clientOf(provider, req, res);
    const lockedPage = (username?: string) =>
      sendHtml(
        res,
        429,
        loginPage({
          action: `${base}/login`,
          client: clientName,
          ...(username !== undefined && { username }),
          error: 'Too many failed sign-ins; try again later.',
        }),
      );
    if (action === 'login') {
      const username = fields.get('username') ?? '';
      const r = await deps.login.password(username, fields.get('password') ?? '', { ip, via: 'oauth-login' });
      if (r === 'locked') return lockedPage(username);
      if (!r) {
        return sendHtml(
          res,
          401,
          loginPage({ action: `${base}/login`, client: clientName, username, error: 'Wrong address or password.' }),
        );
      }
      if (!r.needsSecondFactor) return finishLogin(r.account.id, ['pwd']);
      await deps.login.awaitSecondFactor(uid, r.account);
      return sendHtml(res, 200, secondFactorPage({ action: `${base}/code` }));
    }
    if (action === 'code') {
      const r = await deps.login.secondFactor(uid, fields.get('code') ?? '', { ip, via: 'oauth-2fa' });
      if (r === 'wrong')
        return sendHtml(res, 401, secondFactorPage({ action: `${base}/code`, error: 'That code is not valid.' }));
      if (r === 'locked') return lockedPage();
      if (r === 'expired')
        return sendHtml(res, 401, loginPage({ action: `${base}/login`, client: clientName, error: 'Sign in again.' }));
      return finishLogin(r.accountId, r.method === 'totp' ? ['pwd', 'otp'] : ['pwd', 'kba']);
    }
    return sendHtml(res, 404, messagePage('Not found', 'No such page.'));
  };
}

/**
 * Whether the user must allow this client on the consent page before it gets a code. RFC 8252 section 8.6:
 * a public client's identity cannot be assured (any program on the machine can listen on a loopback port and
 * name one, such as the built-in "thunderbird"), so its requests are never granted silently, not even while
 * a sign-in session exists. A confidential client proves itself with the secret from the admin's config
 * (first-party): granted at once. So is the device flow, where the user has just pressed Allow on the page
 * confirming the device's code, and a request for which the user has just signed in.
 */
function userMustAllow(client: { clientAuthMethod?: string } | undefined, details: Details): boolean {
  if (details.deviceCode) return false;
  // The user typed their password (and code) for this very request a moment ago: that was the interaction
  // section 8.6 asks for, and a second page would only train people to click through it. What the page
  // guards against is a request that finds a sign-in session and would be answered with nobody there.
  if ((details.lastSubmission as { login?: unknown } | undefined)?.login) return false;
  return !client || client.clientAuthMethod === 'none';
}

/** Grants what the client asks for: at once for first-party clients, after Allow for the others. */
async function grantConsent(provider: Provider, details: Details, req: IncomingMessage, res: ServerResponse) {
  const missing = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
  if (!grant) return sendHtml(res, 400, messagePage('Sign-in expired', 'Start again from your app.'));
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {}))
    grant.addResourceScope(indicator, scopes.join(' '));
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { consent: details.grantId ? {} : { grantId } },
    { mergeWithLastSubmission: true },
  );
}
