// The [oauth] config's compact strings read into client metadata and external identity providers.
import { PetrelError } from '../core/errors.ts';
import { normaliseDomain } from '../directory/address.ts';

/** oidc-provider client metadata (RFC 7591 names). */
export interface ClientMetadata {
  client_id: string;
  client_secret?: string;
  client_name?: string;
  redirect_uris: string[];
  grant_types: string[];
  response_types: string[];
  token_endpoint_auth_method: 'none' | 'client_secret_basic' | 'client_secret_post';
  application_type: 'web' | 'native';
  /** Other oidc-provider metadata. */
  [extra: string]: unknown;
}

export interface ExternalIdp {
  issuer: string;
  jwksUri: string;
  audience: string;
  /** The claim whose value is the account's address (e.g. "email"). */
  claim: string;
  /** A scope the token must carry (in "scope" or "scp"), if set. */
  scope?: string;
  /** The domains whose accounts this provider may sign in (lower-case A-labels); unset: any. */
  domains?: string[];
}

const GRANTS: Record<string, string> = {
  authorization_code: 'authorization_code',
  refresh_token: 'refresh_token',
  device_code: 'urn:ietf:params:oauth:grant-type:device_code',
  'urn:ietf:params:oauth:grant-type:device_code': 'urn:ietf:params:oauth:grant-type:device_code',
};

/** "a=1;b=x y" -> {a: "1", b: "x y"}; keys lower-case, values trimmed. */
function pairs(spec: string, what: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of spec.split(';')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new PetrelError('INVALID_ARGUMENT', `${what}: "${part.trim()}" is not key=value`);
    m.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return m;
}

const words = (v: string | undefined) => (v ?? '').split(/[\s,]+/).filter(Boolean);

function isLoopback(uri: string): boolean {
  try {
    const u = new URL(uri);
    return u.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(u.hostname);
  } catch {
    return false;
  }
}

export function parseClient(spec: string): ClientMetadata {
  const p = pairs(spec, 'oauth.clients');
  const id = p.get('id') ?? p.get('client_id');
  if (!id) throw new PetrelError('INVALID_ARGUMENT', 'oauth.clients: an entry has no id');
  const grants = words(p.get('grant_types') ?? 'authorization_code refresh_token').map((g) => {
    const v = GRANTS[g];
    if (!v) throw new PetrelError('INVALID_ARGUMENT', `oauth.clients ${id}: unknown grant type ${g}`);
    return v;
  });
  const redirects = words(p.get('redirect_uris'));
  if (grants.includes('authorization_code') && redirects.length === 0)
    throw new PetrelError('INVALID_ARGUMENT', `oauth.clients ${id}: the code grant needs redirect_uris`);
  const secret = p.get('secret') ?? p.get('client_secret');
  return {
    client_id: id,
    ...(secret ? { client_secret: secret } : {}),
    client_name: p.get('name') ?? id,
    redirect_uris: redirects,
    grant_types: grants,
    response_types: grants.includes('authorization_code') ? ['code'] : [],
    token_endpoint_auth_method: secret ? 'client_secret_basic' : 'none',
    // RFC 8252 section 7.3: loopback redirects of native apps match on any port.
    application_type: redirects.length > 0 && redirects.every(isLoopback) ? 'native' : 'web',
  };
}

/** Built-in public client for desktop mail apps: loopback redirect (any port), code + PKCE, refresh, device. */
export const BUILTIN_CLIENTS: ClientMetadata[] = [
  {
    client_id: 'thunderbird',
    client_name: 'Mail app (Thunderbird and other desktop clients)',
    redirect_uris: ['http://127.0.0.1/', 'http://localhost/', 'http://[::1]/'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'none',
    application_type: 'native',
  },
];

export function parseExternalIdp(spec: string): ExternalIdp {
  const p = pairs(spec, 'oauth.external_idps');
  const need = (k: string) => {
    const v = p.get(k);
    if (!v) throw new PetrelError('INVALID_ARGUMENT', `oauth.external_idps: an entry has no ${k}`);
    return v;
  };
  const idp: ExternalIdp = {
    issuer: need('issuer'),
    jwksUri: need('jwks_uri'),
    audience: need('audience'),
    claim: p.get('claim') ?? 'email',
  };
  const scope = p.get('scope');
  if (scope) idp.scope = scope;
  const domains = words(p.get('domains')).map(normaliseDomain);
  if (domains.length) idp.domains = domains;
  new URL(idp.jwksUri); // a bad URL fails at start, not at the first token
  return idp;
}
