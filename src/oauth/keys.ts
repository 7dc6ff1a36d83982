// The OpenID Provider's secrets, generated once and kept in the oauth sub-store (so every node of a cluster
// signs with the same key): an RS256 signing key (JWKS; RS256 is what OpenID Connect clients must accept)
// and the cookie-signing keys. Never logged.
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { OAuthStore } from '../core/oauth-port.ts';

export interface ProviderKeys {
  jwks: { keys: JWK[] };
  cookieKeys: string[];
}

async function newSigningKey(): Promise<JWK> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

export async function providerKeys(store: OAuthStore): Promise<ProviderKeys> {
  const jwks = JSON.parse(await store.ensureSecret('jwks', JSON.stringify({ keys: [await newSigningKey()] })));
  const cookieKeys = JSON.parse(
    await store.ensureSecret('cookie-keys', JSON.stringify([randomBytes(32).toString('base64url')])),
  );
  return { jwks, cookieKeys };
}
