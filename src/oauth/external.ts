// Bearer tokens from external identity providers: JWTs checked with jose against each configured issuer's
// JWKS (fetched over HTTP(S), cached), its audience and the clock; a configured claim names the account,
// which must be of one of the provider's domains when it has any (and an email claim must not be unverified).
import { createRemoteJWKSet, decodeJwt, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Account } from '../core/model.ts';
import type { ExternalIdp } from './settings.ts';

/** Signatures with a public key only: a shared-secret (HS*) token could be forged by anyone holding it. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export type ExternalVerifier = (token: string) => Promise<{ accountId: number; scope?: string } | null>;

export function externalVerifier(
  idps: ExternalIdp[],
  opts: { clockToleranceS: number; account: (address: string) => Promise<Account | undefined> },
): ExternalVerifier {
  const byIssuer = new Map<string, { idp: ExternalIdp; keys: JWTVerifyGetKey }>();
  for (const idp of idps)
    byIssuer.set(idp.issuer, {
      idp,
      keys: createRemoteJWKSet(new URL(idp.jwksUri), { timeoutDuration: 5000, cooldownDuration: 30_000 }),
    });
  return async (token) => {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss; // unverified: only to pick the issuer whose keys must verify it
    } catch {
      return null;
    }
    const e = iss ? byIssuer.get(iss) : undefined;
    if (!e) return null;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, e.keys, {
        issuer: e.idp.issuer,
        audience: e.idp.audience,
        clockTolerance: opts.clockToleranceS,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp'],
      }));
    } catch {
      return null; // bad signature, expired, not yet valid, wrong audience, keys unreachable
    }
    const scope =
      typeof payload.scope === 'string'
        ? payload.scope
        : Array.isArray(payload.scp)
          ? payload.scp.join(' ')
          : typeof payload.scp === 'string'
            ? payload.scp
            : undefined;
    if (e.idp.scope && !(scope ?? '').split(' ').includes(e.idp.scope)) return null;
    const value = payload[e.idp.claim];
    if (typeof value !== 'string' || !value || value.length > 320) return null;
    // An address the provider says it has not verified is anyone's to claim (OpenID Connect Core 5.1);
    // some providers send the flag as a string.
    if (e.idp.claim === 'email' && (payload.email_verified === false || payload.email_verified === 'false'))
      return null;
    const acc = await opts.account(value.trim().toLowerCase());
    if (!acc || acc.disabled) return null;
    // A provider trusted for some domains (tenants) signs in their accounts only.
    if (e.idp.domains && !e.idp.domains.includes(acc.address.slice(acc.address.lastIndexOf('@') + 1))) return null;
    return scope === undefined ? { accountId: acc.id } : { accountId: acc.id, scope };
  };
}
