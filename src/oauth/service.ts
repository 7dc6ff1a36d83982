// The OAuth part of the server as one service: the OpenID Provider (built once the HTTP port is known),
// its HTTP mounts, the two-factor service, and App.bearer (our own tokens and external IdPs' JWTs).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import type { BearerVerifier } from '../core/auth-port.ts';
import type { Store } from '../core/ports.ts';
import type { DirectoryService } from '../directory/service.ts';
import type { AccountSpamSettings } from '../spam/user-settings.ts';
import type { Logger } from '../telemetry/log.ts';
import { ACCOUNT_PREFIX, accountHandler } from './account-pages.ts';
import { type ExternalVerifier, externalVerifier } from './external.ts';
import { clientOf, sendJson } from './http-util.ts';
import { interactionHandler } from './interactions.ts';
import { Login, type SignInLimiter } from './login.ts';
import { createProvider, INTERACTION_PREFIX, OAUTH_PREFIX } from './provider.ts';
import { BUILTIN_CLIENTS, parseClient, parseExternalIdp } from './settings.ts';
import { TwoFactor } from './two-factor.ts';

export interface OAuthSettings {
  enabled: boolean;
  issuer: string;
  mail_scope: string;
  clients: string[];
  builtin_clients: boolean;
  access_token_ttl_s: number;
  refresh_token_ttl_s: number;
  device_code_ttl_s: number;
  session_ttl_s: number;
  external_idps: string[];
  clock_tolerance_s: number;
  totp_issuer: string;
  trust_proxy: boolean;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** Opaque access tokens are random base64url strings; anything else is not worth a database read. */
const OPAQUE = /^[A-Za-z0-9_-]{20,200}$/;

export class OAuthService {
  readonly twoFactor: TwoFactor;
  readonly login: Login;
  /** Verifies a bearer token for SASL OAUTHBEARER / XOAUTH2: whose it is, or null. */
  readonly bearer: BearerVerifier;
  private readonly settings: OAuthSettings;
  private readonly store: Store;
  private readonly directory: DirectoryService;
  private readonly log: Logger;
  private readonly external: ExternalVerifier | null;
  private readonly spamSettings: AccountSpamSettings | undefined;
  private httpPort: number;
  private readonly httpScheme: 'http' | 'https';
  private providerP: Promise<Provider> | null = null;
  private purge: NodeJS.Timeout | null = null;

  constructor(deps: {
    settings: OAuthSettings;
    httpPort: number;
    /** The HTTP listener serves TLS itself (the default issuer is then https://). */
    httpTls?: boolean;
    store: Store;
    directory: DirectoryService;
    log: Logger;
    /** The mail protocols' brute-force limiter, shared by the web sign-in (read at each use). */
    limiter?: () => SignInLimiter | undefined;
    /** The users' own spam settings on /account/spam (absent: the spam filter is off, or nothing is theirs). */
    spamSettings?: AccountSpamSettings;
  }) {
    this.settings = deps.settings;
    this.spamSettings = deps.spamSettings;
    this.store = deps.store;
    this.directory = deps.directory;
    this.log = deps.log;
    this.httpPort = deps.httpPort;
    this.httpScheme = deps.httpTls ? 'https' : 'http';
    // Parsed now: a config mistake stops the start, not the first sign-in.
    const idps = deps.settings.external_idps.map(parseExternalIdp);
    this.clients();
    this.twoFactor = new TwoFactor({
      auth: deps.store.auth,
      oauth: deps.store.oauth,
      issuer: deps.settings.totp_issuer,
      accountChanged: (id) => deps.directory.accountChanged(id),
    });
    this.login = new Login({
      directory: deps.directory,
      twoFactor: this.twoFactor,
      store: deps.store.oauth,
      log: deps.log,
      limiter: deps.limiter,
    });
    this.external = idps.length
      ? externalVerifier(idps, {
          clockToleranceS: deps.settings.clock_tolerance_s,
          account: (address) => deps.directory.findAccount(address),
        })
      : null;
    this.bearer = (token) => this.verify(token);
  }

  /** The issuer: configured, else the quick-start URL on the HTTP port actually bound. */
  get issuer(): string {
    return (this.settings.issuer || `${this.httpScheme}://127.0.0.1:${this.httpPort}`).replace(/\/+$/, '');
  }

  private clients() {
    const configured = this.settings.clients.map(parseClient);
    const ids = new Set(configured.map((c) => c.client_id));
    return [
      ...configured,
      ...(this.settings.builtin_clients ? BUILTIN_CLIENTS.filter((c) => !ids.has(c.client_id)) : []),
    ];
  }

  /** The provider, made on first use (its keys are generated once and stored). */
  provider(): Promise<Provider> {
    this.providerP ??= createProvider({
      issuer: this.issuer,
      clients: this.clients(),
      store: this.store.oauth,
      account: (id) => this.store.getAccount(id),
      mailScope: this.settings.mail_scope,
      ttl: {
        accessToken: this.settings.access_token_ttl_s,
        refreshToken: this.settings.refresh_token_ttl_s,
        deviceCode: this.settings.device_code_ttl_s,
        session: this.settings.session_ttl_s,
      },
      // Sessions signed in with one of its tokens then end (AuthService.stillSignedIn checks the grant).
      grantRevoked: (id) => this.directory.accountChanged(id),
    }).then((p) => {
      // Behind a TLS-terminating proxy: X-Forwarded-Proto/Host say how the client reached us (secure cookies),
      // and the last X-Forwarded-For address, the one the proxy appended, who the client is (http-util clientOf).
      p.proxy = this.settings.trust_proxy;
      p.maxIpsCount = 1;
      p.on('server_error', (_ctx, err) => this.log.error({ err }, 'OpenID Provider error'));
      return p;
    });
    return this.providerP;
  }

  /** Called by serve.ts once the HTTP listener is bound: fixes the default issuer, starts the hourly purge. */
  listening(httpPort: number): void {
    this.httpPort = httpPort;
    this.purge ??= setInterval(() => {
      this.store.oauth
        .purgeExpired(Date.now())
        .catch((err) => this.log.warn({ err }, 'purging expired OAuth records failed'));
    }, 3_600_000);
    this.purge.unref();
  }

  /** Path prefixes the HTTP listener hands to this service (empty when [oauth] is off). */
  mounts(): [string, Handler][] {
    if (!this.settings.enabled) return [];
    const interactions = interactionHandler({
      provider: () => this.provider(),
      login: this.login,
      mailScope: this.settings.mail_scope,
    });
    const account = accountHandler({
      client: async (req, res) => clientOf(await this.provider(), req, res),
      login: this.login,
      twoFactor: this.twoFactor,
      store: this.store.oauth,
      account: (id) => this.store.getAccount(id),
      sessionTtlS: this.settings.session_ttl_s,
      spam: this.spamSettings,
    });
    let callback: ReturnType<Provider['callback']> | undefined;
    const toProvider: Handler = async (req, res) => {
      // RFC 8414 metadata is the same document as OpenID discovery.
      if ((req.url ?? '').split('?')[0] === '/.well-known/oauth-authorization-server')
        req.url = '/.well-known/openid-configuration';
      // oidc-provider builds every URL it advertises (discovery's endpoints, the device page's form, its own
      // redirects) from the request's Host, or X-Forwarded-Host with proxy on: a host the client chose, which a
      // cache in front would serve to every client (their codes and tokens sent there). Ours is the issuer's.
      req.headers.host = new URL(this.issuer).host;
      delete req.headers['x-forwarded-host'];
      callback ??= (await this.provider()).callback();
      // oidc-provider's own pages (device code and its Allow, sign-out, errors) are never framed, as ours are
      // not (http-util sendHtml): a framing page could have the user press Allow (RFC 6819 section 4.4.1.9).
      // Only frame-ancestors: its form_post answer submits itself with an inline script.
      res.setHeader('x-frame-options', 'DENY');
      res.setHeader('content-security-policy', "frame-ancestors 'none'");
      await callback(req, res);
    };
    const guard =
      (h: Handler): Handler =>
      async (req, res) => {
        try {
          await h(req, res);
        } catch (err) {
          this.log.error({ err, path: (req.url ?? '').split('?')[0] }, 'OAuth handler failed');
          if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
          else res.destroy();
        }
      };
    return [
      [INTERACTION_PREFIX, guard(interactions)],
      [`${OAUTH_PREFIX}/`, guard(toProvider)],
      ['/.well-known/openid-configuration', guard(toProvider)],
      ['/.well-known/oauth-authorization-server', guard(toProvider)],
      [ACCOUNT_PREFIX, guard(account)],
    ];
  }

  private async verify(token: string): Promise<{ accountId: number; scope?: string; grantId?: string } | null> {
    if (!token || token.length > 8192) return null;
    if (token.split('.').length === 3) return this.external ? this.external(token) : null;
    if (!this.settings.enabled || !OPAQUE.test(token)) return null;
    const p = await this.provider();
    const at = await p.AccessToken.find(token);
    if (!at || at.isExpired || !at.accountId) return null;
    // A token whose grant was revoked is dead, however late it was saved (as introspection and userinfo read
    // it): a reused code or refresh token revokes the grant while a concurrent request may still be issuing.
    if (!at.grantId || !(await p.Grant.find(at.grantId))) return null;
    const scope = at.scope ?? '';
    if (!scope.split(' ').includes(this.settings.mail_scope)) return null;
    const acc = /^\d+$/.test(at.accountId) ? await this.store.getAccount(Number(at.accountId)) : undefined;
    if (!acc || acc.disabled) return null;
    return { accountId: acc.id, scope, grantId: at.grantId };
  }

  close(): void {
    if (this.purge) clearInterval(this.purge);
    this.purge = null;
    this.login.close();
  }
}
