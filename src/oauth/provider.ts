// Petrel's OpenID Provider (oidc-provider, OpenID Certified): configuration only. Authorization code with
// PKCE (S256; required for public clients), refresh tokens (rotated), device authorization grant (RFC 8628),
// introspection (RFC 7662), revocation (RFC 7009), discovery and JWKS. Access tokens are opaque and stored
// (so revocation takes effect at once); the login pages are ours (interactions.ts).
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';
import type { Account } from '../core/model.ts';
import type { OAuthStore } from '../core/oauth-port.ts';
import { sqlAdapter } from './adapter.ts';
import { providerKeys } from './keys.ts';
import { deviceConfirmPage, deviceInputPage, esc, messagePage, page } from './pages.ts';
import type { ClientMetadata } from './settings.ts';

export interface ProviderOptions {
  issuer: string;
  clients: ClientMetadata[];
  store: OAuthStore;
  /** The account with this id (the token subject), if it exists. */
  account: (id: number) => Promise<Account | undefined>;
  mailScope: string;
  ttl: { accessToken: number; refreshToken: number; deviceCode: number; session: number };
  /** A grant was revoked: its account's mail sessions ask whether they may go on (DirectoryService.accountChanged). */
  grantRevoked?: (accountId: number) => void;
}

/** Where oidc-provider's endpoints live; discovery stays at /.well-known/openid-configuration. */
export const OAUTH_PREFIX = '/oauth';
export const ROUTES = {
  authorization: `${OAUTH_PREFIX}/authorize`,
  token: `${OAUTH_PREFIX}/token`,
  userinfo: `${OAUTH_PREFIX}/userinfo`,
  jwks: `${OAUTH_PREFIX}/jwks`,
  introspection: `${OAUTH_PREFIX}/introspect`,
  revocation: `${OAUTH_PREFIX}/revoke`,
  device_authorization: `${OAUTH_PREFIX}/device/auth`,
  code_verification: `${OAUTH_PREFIX}/device`,
  end_session: `${OAUTH_PREFIX}/logout`,
  pushed_authorization_request: `${OAUTH_PREFIX}/par`,
};
export const INTERACTION_PREFIX = `${OAUTH_PREFIX}/interaction/`;

export async function createProvider(o: ProviderOptions): Promise<Provider> {
  const keys = await providerKeys(o.store);
  /** The account a token subject names while it may still use tokens: it exists and is not disabled. */
  const liveAccount = async (sub: string): Promise<Account | undefined> => {
    const acc = /^\d+$/.test(sub) ? await o.account(Number(sub)) : undefined;
    return acc && !acc.disabled ? acc : undefined;
  };
  const configuration: Configuration = {
    adapter: sqlAdapter(o.store, { grantRevoked: o.grantRevoked }),
    clients: o.clients as Configuration['clients'],
    jwks: keys.jwks as Configuration['jwks'],
    cookies: { keys: keys.cookieKeys },
    scopes: ['openid', 'offline_access', 'email', 'profile', o.mailScope],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'] },
    // The subject is the account id: stable when an address is renamed.
    async findAccount(_ctx, sub) {
      const acc = await liveAccount(sub);
      if (!acc) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          email: acc.address,
          email_verified: true,
          name: acc.displayName ?? acc.address,
          preferred_username: acc.address,
        }),
      };
    },
    interactions: { url: (_ctx, interaction) => `${INTERACTION_PREFIX}${interaction.uid}` },
    routes: ROUTES,
    features: {
      devInteractions: { enabled: false },
      // Tokens carry OpenID scopes plus the mail scope; no per-resource audiences (one resource: the mailbox).
      resourceIndicators: { enabled: false },
      introspection: {
        enabled: true,
        // A public client may only ask about its own tokens; an authenticated client about any. A token of
        // an account removed or disabled since is not active (RFC 7662 section 2.2), as the mail protocols
        // and userinfo already refuse it (OAuthService.verify, findAccount).
        allowedPolicy: async (ctx, client, token) =>
          (client.clientAuthMethod !== 'none' || token.clientId === ctx.oidc.client?.clientId) &&
          (token.kind === 'ClientCredentials' || (await liveAccount(token.accountId)) !== undefined),
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, form, _out, err) {
          ctx.body = deviceInputPage(
            form,
            err
              ? err.name === 'NoCodeError' || 'userCode' in err
                ? 'That code is not valid; try again.'
                : 'The request failed; try again.'
              : undefined,
          );
        },
        async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
          ctx.body = deviceConfirmPage(form, client.clientName ?? client.clientId, userCode);
        },
        async successSource(ctx) {
          ctx.body = messagePage('Device connected', 'You can close this page and return to your device.');
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page(
            'Sign out',
            `${form}<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = messagePage('Signed out', 'You are signed out.');
        },
      },
    },
    pkce: { required: (_ctx, client) => client.clientAuthMethod === 'none' },
    // Mail apps stay signed in: every client allowed the refresh grant gets a refresh token (offline_access
    // or not); public clients' are rotated on each use, and a reused one revokes the grant.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: () => true,
    ttl: {
      AccessToken: o.ttl.accessToken,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: o.ttl.refreshToken,
      DeviceCode: o.ttl.deviceCode,
      Interaction: 3600,
      Session: o.ttl.session,
      Grant: o.ttl.refreshToken,
    },
    // The ID token carries the granted claims (email) itself: a mail app learns the address to use without a
    // userinfo call.
    conformIdTokenClaims: false,
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'Sign-in error',
        `<p class="err">${esc(out.error)}</p>${out.error_description ? `<p>${esc(out.error_description)}</p>` : ''}`,
      );
    },
  };
  const provider = new Provider(o.issuer, configuration);
  // On an error, the device pages' handler (POST /oauth/device, GET /oauth/device/<uid>) gives the session a
  // new form secret after the session middleware is done, and the provider then persists it: a session never
  // saved (no cookie) threw TypeError, a 500 with a stack trace on stderr. Such a session has no cookie to be
  // found by, so there is nothing to persist; the error's page (the code form) is sent.
  const persist = provider.Session.prototype.persist;
  provider.Session.prototype.persist = function (this: InstanceType<Provider['Session']>) {
    return typeof this.exp === 'number' ? persist.call(this) : Promise.resolve('');
  };
  // oidc-provider logs nothing itself; its errors reach us through events where we need them.
  return provider;
}

export type { KoaContextWithOIDC, Provider };
