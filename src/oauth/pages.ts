// The HTML of Petrel's own sign-in pages (login, second factor, consent, device code, errors): small, no
// scripts, no outside resources; every value escaped.

export function esc(s: unknown): string {
  return String(s ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:22rem;margin:3rem auto;padding:0 1rem}' +
  'input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0;padding:.5rem;font-size:1rem}' +
  '.err{color:#b00020}.muted{color:#666;font-size:.9rem}';

export function page(title: string, body: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(title)}</title><style>${STYLE}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

const error = (msg?: string) => (msg ? `<p class="err" role="alert">${esc(msg)}</p>` : '');

export function loginPage(p: { action: string; client: string; username?: string; error?: string }): string {
  return page(
    'Sign in',
    `<p class="muted">to ${esc(p.client)}</p>${error(p.error)}
<form method="post" action="${esc(p.action)}" autocomplete="on">
<label>Address<input name="username" type="email" autocomplete="username" required value="${esc(p.username)}" autofocus></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form>`,
  );
}

export function secondFactorPage(p: { action: string; error?: string }): string {
  return page(
    'Two-factor code',
    `${error(p.error)}<form method="post" action="${esc(p.action)}">
<label>Code from your authenticator app, or a recovery code
<input name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus></label>
<button type="submit">Continue</button></form>`,
  );
}

/** What a scope lets an app do, in the user's words (scopes not listed here are not shown). */
const SCOPE_WORDS: Record<string, string> = {
  email: 'see your address',
  profile: 'see your name',
  offline_access: 'stay connected until you sign it out',
};

/**
 * RFC 8252 section 8.6: the page where the user allows a mail app (a public client) to use the account.
 * Allow posts the form (the interaction cookie, SameSite=Lax, is not sent with a cross-site post); Deny ends
 * the request with access_denied.
 */
export function consentPage(p: { action: string; abort: string; client: string; scopes: string[]; mailScope: string }) {
  const can = p.scopes.flatMap((s) => (s === p.mailScope ? ['read and send your mail'] : (SCOPE_WORDS[s] ?? [])));
  return page(
    'Allow access',
    `<p><strong>${esc(p.client)}</strong> asks to use your mail account.</p>${
      can.length ? `<p class="muted">It will be able to ${esc(can.join(', '))}.</p>` : ''
    }<form id="allow" method="post" action="${esc(p.action)}"><button type="submit" name="consent" value="allow">Allow</button></form>
<form id="deny" method="get" action="${esc(p.abort)}"><button type="submit">Deny</button></form>`,
  );
}

/** RFC 8628 section 3.3: the page where the user types the code the device shows. `form` comes from oidc-provider. */
export function deviceInputPage(form: string, error?: string): string {
  return page(
    'Connect a device',
    `${error ? `<p class="err">${esc(error)}</p>` : '<p>Enter the code your device shows.</p>'}${form}<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

export function deviceConfirmPage(form: string, client: string, userCode: string): string {
  return page(
    'Confirm the device',
    `<p>${esc(client)} asks to use your mail account. Check that it shows <strong>${esc(userCode)}</strong>.</p>${form}
<button type="submit" form="op.deviceConfirmForm">Allow</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Deny</button>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(title, `<p>${esc(message)}</p>`);
}
