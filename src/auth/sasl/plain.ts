// SASL PLAIN (RFC 4616) and the non-standard but ubiquitous LOGIN mechanism (draft-murchison-sasl-login).
import { sameAccount } from '../limiter.ts';
import { type Mechanism, SaslError } from './types.ts';

export interface PlainCredentials {
  authzid: string;
  authcid: string;
  password: string;
}

/** Decodes the base64 PLAIN response; null when it is not valid base64 or not three NUL-separated fields. */
export function decodePlain(b64: string): PlainCredentials | null {
  const s = b64.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) return null;
  return parsePlain(Buffer.from(s, 'base64'));
}

/** RFC 4616 section 2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
export function parsePlain(raw: Buffer): PlainCredentials | null {
  const parts = raw.toString('utf8').split('\0');
  if (parts.length !== 3 || !parts[1] || !parts[2]) return null;
  return { authzid: parts[0], authcid: parts[1], password: parts[2] };
}

export const PLAIN: Mechanism = {
  name: 'PLAIN',
  plaintext: true,
  async run(auth, peer, initial, io) {
    const raw = initial ?? (await io.next(Buffer.alloc(0)));
    const creds = parsePlain(raw);
    if (!creds) throw new SaslError('malformed', 'Malformed PLAIN response');
    auth.gate(creds.authcid, peer, 'PLAIN');
    // No proxy authorisation: an authzid, if given, must name the same user.
    const sameUser = !creds.authzid || sameAccount(creds.authzid, creds.authcid);
    const ok = sameUser ? await auth.password(creds.authcid, creds.password, peer) : null;
    if (!sameUser) await auth.record(creds.authcid, peer, false, 'PLAIN');
    if (!ok) throw new SaslError('credentials', 'Authentication failed');
    return ok;
  },
};

export const LOGIN: Mechanism = {
  name: 'LOGIN',
  plaintext: true,
  async run(auth, peer, initial, io) {
    // The traditional prompts "Username:" and "Password:"; an initial response is the user name.
    const user = (initial ?? (await io.next(Buffer.from('Username:')))).toString('utf8');
    if (!user) throw new SaslError('malformed', 'Empty user name');
    const password = (await io.next(Buffer.from('Password:'))).toString('utf8');
    auth.gate(user, peer, 'LOGIN');
    const ok = await auth.password(user, password, peer);
    if (!ok) throw new SaslError('credentials', 'Authentication failed');
    return ok;
  },
};
