// Self-service for a signed-in user under /account (JSON, or HTML for a browser):
//   POST /account/login {username, password, code?}   sets the session cookie (code when 2FA is on)
//   POST /account/logout
//   GET  /account/2fa                                  {enabled, pending, recoveryCodesLeft}
//   POST /account/2fa/enrol                            {secret, uri, qr}: a new secret, not active yet
//   POST /account/2fa/confirm {code}                   turns it on; {recoveryCodes} shown only now
//   POST /account/2fa/recovery-codes {code}            new recovery codes
//   POST /account/2fa/disable {code}                   turns it off (a current code or a recovery code)
//   GET  /account/spam                                 {allow, block, max, junkScore, junkReport, refused, junk, inbox}: spam settings
//   POST /account/spam/allow|block {entry}             adds an address or domain ({entry, added})
//   POST /account/spam/allow|block/remove {entry}      takes it off ({entry, removed}; 404 if not on)
//   POST /account/spam/junk-score {score}              the user's own junk threshold ("" or null: the admin's)
//   POST /account/spam/junk-report {report}            "daily" or "never": the daily Junk report
//   POST /account/spam/release {uid}                   "Not spam": a message of the Junk list to the INBOX ({uid, released}; 404 if gone)
//   POST /account/spam/report {uid}                    "Spam": a message of the INBOX list into Junk ({uid, reported}; 404 if gone)
//   GET  /account/release?t=TOKEN, POST {t}            the Junk report's "Not spam" link: a page, then the move (no sign-in)
// The session cookie is HttpOnly and SameSite=Strict: a cross-site form or script cannot use it (CSRF); a
// browser's POST from another origin of the same site is refused by its Sec-Fetch-Site (or its Origin).
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPetrelError } from '../core/errors.ts';
import type { OAuthStore } from '../core/oauth-port.ts';
import { type AccountSpamSettings, type MailItem, type OwnSpamSettings, SettingError } from '../spam/user-settings.ts';
import {
  BodyError,
  bodyErrorHeaders,
  type Client,
  cookies,
  crossOrigin,
  readFields,
  requestPath,
  sendHtml,
  sendJson,
} from './http-util.ts';
import type { Login } from './login.ts';
import { esc, page } from './pages.ts';
import type { TwoFactor } from './two-factor.ts';

export const ACCOUNT_PREFIX = '/account';
const COOKIE = 'petrel_account';
const SESSION = 'PetrelAccountSession';

interface Deps {
  /** The client's address and TLS, as oauth.trust_proxy says to read them (http-util clientOf). */
  client: (req: IncomingMessage, res: ServerResponse) => Promise<Client>;
  login: Login;
  twoFactor: TwoFactor;
  store: OAuthStore;
  account: (id: number) => Promise<{ id: number; address: string; disabled: boolean } | undefined>;
  sessionTtlS: number;
  /** The user's own spam settings (lists, junk threshold); absent when the spam filter is off. */
  spam?: AccountSpamSettings;
}

/** The session id is kept hashed: a copy of the database does not sign anyone in. */
const sessionKey = (cookie: string) => createHash('sha256').update(cookie).digest('hex');

export function accountHandler(d: Deps) {
  const wantsHtml = (req: IncomingMessage) =>
    !(req.headers['content-type'] ?? '').includes('json') && (req.headers.accept ?? '').includes('text/html');
  const reply = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    body: Record<string, unknown>,
    html?: string,
  ) => (wantsHtml(req) && html ? sendHtml(res, status, page('Your account', html)) : sendJson(res, status, body));

  async function session(req: IncomingMessage) {
    const c = cookies(req).get(COOKIE);
    if (!c || c.length > 100) return undefined;
    const m = await d.store.findModel(SESSION, sessionKey(c), Date.now());
    if (!m) return undefined;
    const acc = await d.account((JSON.parse(m.payload) as { accountId: number }).accountId);
    return acc && !acc.disabled ? acc : undefined;
  }

  const statusHtml = (address: string, s: { enabled: boolean; pending: boolean; recoveryCodesLeft: number }) =>
    `<p>Signed in as ${esc(address)}.</p><p>Two-factor authentication is <strong>${s.enabled ? 'on' : 'off'}</strong>${s.enabled ? ` (${s.recoveryCodesLeft} recovery codes left)` : ''}.</p>` +
    (s.enabled
      ? `<form method="post" action="/account/2fa/disable"><label>Code<input name="code" required></label><button>Turn off</button></form>`
      : `<form method="post" action="/account/2fa/enrol"><button>Set up an authenticator app</button></form>`) +
    (d.spam ? `<p><a href="/account/spam">Spam settings</a></p>` : '') +
    `<form method="post" action="/account/logout"><button>Sign out</button></form>`;

  const refusedHtml = (l: OwnSpamSettings) =>
    '<h2>Refused for you</h2><p class="muted">Mail the spam filter refused; the sender was told, no copy was kept.</p>' +
    (l.refused.length === 0
      ? '<p class="muted">none</p>'
      : `<table><tr><th>When (UTC)</th><th>Sender</th><th>Score</th><th>Why</th><th></th></tr>${l.refused
          .map(
            (r) =>
              `<tr><td>${esc(new Date(r.at).toISOString().slice(0, 16).replace('T', ' '))}</td><td>${esc(r.from || '<>')}</td><td>${esc(r.score)}</td><td>${esc(r.reasons.join(', '))}</td><td>${
                l.max > 0 && r.from && !l.locked
                  ? `<form method="post" action="/account/spam/allow"><input type="hidden" name="entry" value="${esc(r.from)}"><button>Allow this sender</button></form>`
                  : ''
              }</td></tr>`,
          )
          .join('')}</table>`);

  const mailTable = (items: MailItem[], action: 'release' | 'report', button: string) =>
    items.length === 0
      ? '<p class="muted">empty</p>'
      : `<table><tr><th>When (UTC)</th><th>From</th><th>Subject</th><th>Score</th><th></th></tr>${items
          .map(
            (j) =>
              `<tr><td>${esc(new Date(j.date).toISOString().slice(0, 16).replace('T', ' '))}</td><td>${esc(j.from)}</td><td>${esc(j.subject)}</td><td>${esc(j.score ?? '')}</td><td><form method="post" action="/account/spam/${action}"><input type="hidden" name="uid" value="${esc(j.uid)}"><button>${button}</button></form></td></tr>`,
          )
          .join('')}</table>`;
  const mailHtml = (l: OwnSpamSettings) =>
    (l.junk
      ? '<h2>In your Junk folder</h2><p class="muted">The newest messages the filter (or you) put there. "Not spam" moves one to your Inbox and teaches the filter.</p>' +
        mailTable(l.junk, 'release', 'Not spam')
      : '') +
    (l.inbox
      ? '<h2>In your Inbox</h2><p class="muted">The newest messages. "Spam" moves one to your Junk folder and teaches the filter.</p>' +
        mailTable(l.inbox, 'report', 'Spam')
      : '');

  const spamHtml = (l: OwnSpamSettings, error?: string) => {
    const list = (kind: 'allow' | 'block') =>
      l[kind].length === 0
        ? '<p class="muted">none</p>'
        : l[kind]
            .map((e) =>
              l.locked
                ? `<p>${esc(e.entry)}</p>`
                : `<form method="post" action="/account/spam/${kind}/remove"><input type="hidden" name="entry" value="${esc(e.entry)}"><button>Remove ${esc(e.entry)}</button></form>`,
            )
            .join('');
    const add = (kind: 'allow' | 'block', label: string) =>
      l.locked
        ? ''
        : `<form method="post" action="/account/spam/${kind}"><label>${label}<input name="entry" required placeholder="name@example.com or example.com"></label><button>Add</button></form>`;
    return (
      `${error ? `<p class="err" role="alert">${esc(error)}</p>` : ''}` +
      (l.locked
        ? '<p class="muted">Your administrator manages your allow and block lists and your junk threshold.</p>'
        : '') +
      (l.junkScore
        ? `<h2>Junk threshold</h2><p class="muted">Mail scoring at least this goes to Junk; lower is stricter. The server's setting for you is ${esc(l.junkScore.default)}; mail scoring ${esc(l.junkScore.reject)} or more is refused.</p>` +
          (l.locked
            ? `<p>Yours: ${esc(l.junkScore.own ?? l.junkScore.default)}</p>`
            : `<form method="post" action="/account/spam/junk-score"><label>Your threshold (empty: the server's)<input name="score" inputmode="decimal" value="${esc(l.junkScore.own ?? '')}"></label><button>Save</button></form>`)
        : '') +
      (l.junkReport
        ? `<h2>Daily Junk report</h2><p class="muted">A message listing what was put in your Junk folder the day before.</p><form method="post" action="/account/spam/junk-report"><label>Send it<select name="report"><option value="daily"${l.junkReport === 'daily' ? ' selected' : ''}>daily</option><option value="never"${l.junkReport === 'never' ? ' selected' : ''}>never</option></select></label><button>Save</button></form>`
        : '') +
      mailHtml(l) +
      refusedHtml(l) +
      (l.max > 0
        ? '<h2>Always allowed</h2><p class="muted">Mail from these senders is not treated as spam when the sender is verified (SPF, DKIM or DMARC).</p>' +
          list('allow') +
          add('allow', 'Allow a sender') +
          '<h2>Blocked</h2><p class="muted">Mail from these senders goes to Junk, or is refused when only you receive it.</p>' +
          list('block') +
          add('block', 'Block a sender') +
          `<p class="muted">${l.allow.length + l.block.length} of ${l.max} entries.</p>`
        : '') +
      '<p><a href="/account">Back</a></p>'
    );
  };

  const loginHtml = (error?: string) =>
    `${error ? `<p class="err">${esc(error)}</p>` : ''}<form method="post" action="/account/login">
<label>Address<input name="username" type="email" autocomplete="username" required></label>
<label>Password<input name="password" type="password" autocomplete="current-password" required></label>
<label>Two-factor code (if on)<input name="code" autocomplete="one-time-code"></label><button>Sign in</button></form>`;

  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = requestPath(req) || ACCOUNT_PREFIX;
    let fields = new Map<string, string>();
    // SameSite=Strict keeps the cookie from other sites, not from other origins of the same site (a page on
    // pages.example.com posting to mail.example.com, RFC 6265bis section 5.2). A browser says where a request
    // comes from (Fetch Metadata, Sec-Fetch-Site): a POST from anything but our own pages changes nothing, as
    // Go's http.CrossOriginProtection refuses it. Clients that are no browser send no such field.
    if (req.method === 'POST' && crossOrigin(req))
      return sendJson(res, 403, { error: 'a request from another site is refused' });
    if (req.method === 'POST') {
      try {
        fields = await readFields(req);
      } catch (e) {
        if (e instanceof BodyError) return sendJson(res, e.status, { error: e.message }, bodyErrorHeaders(e));
        throw e;
      }
    } else if (req.method !== 'GET' && req.method !== 'HEAD')
      // A 405 names the methods the resource has (RFC 9110 section 15.5.6).
      return sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD, POST' });

    if (path === '/account/login' && req.method === 'POST') {
      const client = await d.client(req, res);
      const from = { ip: client.ip, via: 'account-login' };
      const r = await d.login.password(fields.get('username') ?? '', fields.get('password') ?? '', from);
      const locked = () => {
        const error = 'too many failed sign-ins; try again later';
        return reply(req, res, 429, { error }, loginHtml(error));
      };
      if (r === 'locked') return locked();
      const code = fields.get('code')?.trim();
      let ok = r !== null;
      if (r?.needsSecondFactor) {
        // No code yet is no guess (the form asks for it); a wrong one counts as a failed sign-in.
        const checked = code ? await d.login.code(r.account, code, from) : 'wrong';
        if (checked === 'locked') return locked();
        ok = checked !== 'wrong';
      }
      // Failures and lockouts are logged as security events by Login (with the user name).
      if (!r || !ok) {
        const error = r?.needsSecondFactor ? 'two-factor code required or wrong' : 'wrong address or password';
        return reply(req, res, 401, { error }, loginHtml(error));
      }
      const cookie = randomBytes(32).toString('base64url');
      await d.store.upsertModel({
        kind: SESSION,
        id: sessionKey(cookie),
        payload: JSON.stringify({ accountId: r.account.id }),
        grantId: null,
        userCode: null,
        uid: null,
        expiresAt: Date.now() + d.sessionTtlS * 1000,
      });
      const set = `${COOKIE}=${cookie}; Path=${ACCOUNT_PREFIX}; HttpOnly; SameSite=Strict; Max-Age=${d.sessionTtlS}${client.secure ? '; Secure' : ''}`;
      if (wantsHtml(req)) {
        res.writeHead(303, { location: ACCOUNT_PREFIX, 'set-cookie': set });
        return void res.end();
      }
      return sendJson(res, 200, { address: r.account.address }, { 'set-cookie': set });
    }

    // The Junk report's one-click "Not spam" links carry their own authority (a signed token): no session.
    if (path === '/account/release' && d.spam) return releaseLink(req, res, fields, d.spam);

    const acc = await session(req);
    if (!acc) return reply(req, res, 401, { error: 'sign in first (POST /account/login)' }, loginHtml());

    if (path === '/account/logout' && req.method === 'POST') {
      await d.store.destroyModel(SESSION, sessionKey(cookies(req).get(COOKIE)!));
      return reply(req, res, 200, { signedOut: true }, '<p>Signed out.</p>');
    }
    if ((path === '/account/2fa' || path === ACCOUNT_PREFIX) && req.method !== 'POST') {
      const s = await d.twoFactor.status(acc.id);
      return reply(req, res, 200, { ...s }, statusHtml(acc.address, s));
    }
    if (d.spam && (path === '/account/spam' || path.startsWith('/account/spam/')))
      return spamSettings(req, res, path, fields, acc, d.spam);
    if (req.method !== 'POST') return sendJson(res, 404, { error: 'not found' });
    try {
      if (path === '/account/2fa/enrol') {
        const e = await d.twoFactor.begin(acc.id, acc.address);
        const qr = `data:image/svg+xml;base64,${Buffer.from(e.qrSvg).toString('base64')}`;
        return reply(
          req,
          res,
          200,
          { secret: e.secret, uri: e.uri, qr },
          `<p>Scan this code with your authenticator app, or type the key <code>${esc(e.secret)}</code>.</p><img alt="QR code" width="220" src="${qr}">
<form method="post" action="/account/2fa/confirm"><label>Code shown by the app<input name="code" inputmode="numeric" required></label><button>Turn on</button></form>`,
        );
      }
      if (path === '/account/2fa/confirm') {
        // The other web sessions, tokens and password-only mail sessions end; this one has just proved the code.
        const keep = { kind: SESSION, id: sessionKey(cookies(req).get(COOKIE)!) };
        const codes = await d.twoFactor.confirm(acc.id, fields.get('code') ?? '', keep);
        if (!codes) return reply(req, res, 400, { error: 'wrong code' }, '<p class="err">Wrong code.</p>');
        return reply(req, res, 200, { enabled: true, recoveryCodes: codes }, recoveryHtml(codes));
      }
      if (path === '/account/2fa/recovery-codes' || path === '/account/2fa/disable') {
        // Re-proving the factor: a wrong code counts and locks out like one at sign-in (a stolen session
        // must not be a way to guess codes without limit).
        const checked = await d.login.code(acc, fields.get('code') ?? '', {
          ip: (await d.client(req, res)).ip,
          via: 'account-2fa',
        });
        if (checked === 'locked') {
          const error = 'too many failed sign-ins; try again later';
          return reply(req, res, 429, { error }, `<p class="err">${esc(error)}</p>`);
        }
        if (checked === 'wrong') return reply(req, res, 400, { error: 'wrong code' }, '<p class="err">Wrong code.</p>');
        if (path === '/account/2fa/disable') {
          await d.twoFactor.disable(acc.id);
          return reply(req, res, 200, { enabled: false }, '<p>Two-factor authentication is off.</p>');
        }
        const codes = await d.twoFactor.regenerateRecoveryCodes(acc.id);
        return reply(req, res, 200, { recoveryCodes: codes }, recoveryHtml(codes));
      }
    } catch (e) {
      if (isPetrelError(e, 'CONFLICT'))
        return reply(req, res, 409, { error: e.message }, `<p class="err">${esc(e.message)}</p>`);
      throw e;
    }
    return sendJson(res, 404, { error: 'not found' });
  };

  /**
   * GET /account/release?t=TOKEN: a page naming the message, with a button; POST /account/release {t}: the
   * release. A GET changes nothing, so a link scanner that fetches every URL of a message releases nothing.
   */
  async function releaseLink(
    req: IncomingMessage,
    res: ServerResponse,
    fields: Map<string, string>,
    spam: AccountSpamSettings,
  ): Promise<void> {
    const invalidLink = () =>
      reply(
        req,
        res,
        403,
        { error: 'this link is not valid (or has expired)' },
        '<p class="err">This link is not valid, or has expired.</p>',
      );
    if (req.method === 'POST') {
      const r = await spam.releaseByLink(fields.get('t') ?? '');
      if (r === 'invalid') return invalidLink();
      if (r === 'gone')
        return reply(req, res, 404, { released: false }, '<p>This message is no longer in your Junk folder.</p>');
      return reply(
        req,
        res,
        200,
        { released: true },
        '<p>The message is in your Inbox now. Thank you: the filter learns from it.</p>',
      );
    }
    const t = new URL(req.url ?? '/', 'http://x').searchParams.get('t') ?? '';
    const target = await spam.linkTarget(t);
    if (!target) return invalidLink();
    if (!target.inJunk)
      return reply(req, res, 404, { inJunk: false }, '<p>This message is no longer in your Junk folder.</p>');
    return reply(
      req,
      res,
      200,
      { ...target },
      `<p>Move this message from your Junk folder to your Inbox?</p><p>From: ${esc(target.from)}<br>Subject: ${esc(target.subject)}</p><form method="post" action="/account/release"><input type="hidden" name="t" value="${esc(t)}"><button>Not spam: move it to my Inbox</button></form>`,
    );
  }

  async function spamSettings(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    fields: Map<string, string>,
    acc: { id: number; address: string },
    spam: AccountSpamSettings,
  ): Promise<void> {
    if (path === '/account/spam' && req.method !== 'POST') {
      const l = await spam.show(acc);
      return reply(req, res, 200, { ...l }, spamHtml(l));
    }
    const list = /^\/account\/spam\/(allow|block)(\/remove)?$/.exec(path);
    const threshold = path === '/account/spam/junk-score';
    const report = path === '/account/spam/junk-report';
    const release = path === '/account/spam/release';
    const spamReport = path === '/account/spam/report';
    if (req.method !== 'POST' || !(threshold || report || release || spamReport || (list && spam.listsEditable)))
      return sendJson(res, 404, { error: 'not found' });
    try {
      if (release || spamReport) {
        const uid = fields.get('uid') ?? '';
        const r = release ? await spam.release(acc.id, uid) : await spam.report(acc.id, uid);
        const done = 'released' in r ? r.released : r.reported;
        if (!done && !wantsHtml(req))
          return sendJson(res, 404, { error: `no message ${r.uid} in your ${release ? 'Junk' : 'Inbox'}`, ...r });
        if (!wantsHtml(req)) return sendJson(res, 200, r);
      } else if (report) {
        const junkReport = await spam.setJunkReport(acc.id, fields.get('report') ?? '');
        if (!wantsHtml(req)) return sendJson(res, 200, { junkReport });
      } else if (threshold) {
        // Only an explicit "" (or null) goes back to the admin's threshold; a request without the field
        // (a client that named it otherwise) must not clear the user's own.
        const score = fields.get('score');
        if (score === undefined) throw new SettingError(400, 'give the threshold as "score" ("" for the server\'s)');
        const junkScore = await spam.setJunkScore(acc, score);
        if (!wantsHtml(req)) return sendJson(res, 200, { junkScore });
      } else if (list) {
        const kind = list[1] as 'allow' | 'block';
        const entry = fields.get('entry') ?? '';
        if (list[2]) {
          const r = await spam.remove(acc, kind, entry);
          if (!r.removed && !wantsHtml(req))
            return sendJson(res, 404, { error: `${r.entry} is not on your ${kind} list` });
          if (!wantsHtml(req)) return sendJson(res, 200, r);
        } else {
          const r = await spam.add(acc, kind, entry);
          if (!wantsHtml(req)) return sendJson(res, 200, r);
        }
      }
    } catch (e) {
      if (!(e instanceof SettingError)) throw e;
      return reply(req, res, e.status, { error: e.message }, spamHtml(await spam.show(acc), e.message));
    }
    // A browser's form: back to the settings (POST, redirect, GET), so a reload does not post again.
    res.writeHead(303, { location: '/account/spam' });
    res.end();
  }
}

const recoveryHtml = (codes: string[]) =>
  `<p>Two-factor authentication is on. Keep these recovery codes somewhere safe; each works once, and they are shown only now:</p><pre>${codes.map(esc).join('\n')}</pre>`;
