// The mechanism table every protocol offers from, and the one entry point that runs an exchange.
import { OAUTHBEARER, XOAUTH2 } from './oauth.ts';
import { LOGIN, PLAIN } from './plain.ts';
import { SCRAM_SHA_256 } from './scram.ts';
import type { Authenticator, Mechanism, SaslIo, SaslPeer, SaslSuccess } from './types.ts';
import { SaslError } from './types.ts';

export const MECHANISMS: readonly Mechanism[] = [SCRAM_SHA_256, PLAIN, LOGIN, OAUTHBEARER, XOAUTH2];

/**
 * Mechanism names to announce: those carrying a readable secret (passwords, bearer tokens) only when
 * the connection is encrypted or plaintext is allowed here (loopback by configuration).
 */
export function offeredMechanisms(plaintextAllowed: boolean): string[] {
  return MECHANISMS.filter((m) => plaintextAllowed || !m.plaintext).map((m) => m.name);
}

export function findMechanism(name: string): Mechanism | undefined {
  const n = name.toUpperCase();
  return MECHANISMS.find((m) => m.name === n);
}

/**
 * Runs one exchange. Throws SaslError: 'credentials' (the protocol's auth failure), 'malformed'
 * (syntax), 'cancelled' (client sent "*"), 'locked' (brute-force defence; try later).
 */
export async function runSasl(
  mech: Mechanism,
  auth: Authenticator,
  peer: SaslPeer,
  initial: Buffer | null,
  io: SaslIo,
): Promise<SaslSuccess> {
  try {
    return await mech.run(auth, peer, initial, io);
  } catch (e) {
    if (e instanceof SaslError && e.kind === 'credentials') await auth.delayAfterFailure(peer);
    throw e;
  }
}

export { SaslError };
