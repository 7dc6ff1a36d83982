// SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel binding: the server keeps only
// StoredKey and ServerKey, so neither the password nor anything that signs in directly is stored.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { saslprep } from '@mongodb-js/saslprep';
import { accountKey, sameAccount } from '../limiter.ts';
import { type Mechanism, SaslError } from './types.ts';

/** PBKDF2 rounds for new verifiers; RFC 7677 section 4 asks for at least 4096. */
export const SCRAM_ITERATIONS = 10000;

const hmac = (key: Buffer, data: string | Buffer) => createHmac('sha256', key).update(data).digest();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();

/** RFC 5802 section 2.2: Hi(Normalize(password), salt, i). */
function saltedPassword(password: string, salt: Buffer, iterations: number): Buffer {
  return pbkdf2Sync(Buffer.from(normalize(password), 'utf8'), salt, iterations, 32, 'sha256');
}

/**
 * SASLprep (RFC 4013) of a password; one it refuses (an emoji: unassigned in Unicode 3.2; a control
 * character) is used as it is, as PostgreSQL does, rather than throwing in the middle of a password change.
 */
function normalize(password: string): string {
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}

/** The stored verifier "iterations:salt:StoredKey:ServerKey" (base64 parts) for a password. */
export function scramVerifier(password: string, iterations = SCRAM_ITERATIONS, salt = randomBytes(16)): string {
  const salted = saltedPassword(password, salt, iterations);
  const storedKey = sha256(hmac(salted, 'Client Key'));
  const serverKey = hmac(salted, 'Server Key');
  return [iterations, salt.toString('base64'), storedKey.toString('base64'), serverKey.toString('base64')].join(':');
}

function parseVerifier(v: string) {
  const [i, salt, storedKey, serverKey] = v.split(':');
  return {
    iterations: Number(i),
    salt: Buffer.from(salt, 'base64'),
    storedKey: Buffer.from(storedKey, 'base64'),
    serverKey: Buffer.from(serverKey, 'base64'),
  };
}

/** Parses "k=v,k=v" attributes (values may contain '='). */
function attributes(s: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of s.split(',')) {
    if (part.length < 2 || part[1] !== '=') throw new SaslError('malformed', 'Malformed SCRAM message');
    m.set(part[0], part.slice(2));
  }
  return m;
}

/** RFC 5802 section 5.1: saslname, "=2C" is ',' and "=3D" is '='; any other '=' is invalid. */
function decodeSaslName(s: string): string {
  if (/=(?!2C|3D)/.test(s)) throw new SaslError('malformed', 'Invalid user name encoding');
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const PRINTABLE_NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

export const SCRAM_SHA_256: Mechanism = {
  name: 'SCRAM-SHA-256',
  // The password never crosses the wire, so SCRAM may be used before TLS.
  plaintext: false,
  async run(auth, peer, initial, io) {
    const first = (initial ?? (await io.next(Buffer.alloc(0)))).toString('utf8');
    // gs2-header: "n" (no channel binding) or "y" (client could but thinks we can't); "p=" needs -PLUS.
    const m = /^([nyp])(=[^,]*)?,(a=[^,]*)?,(.*)$/s.exec(first);
    if (!m) throw new SaslError('malformed', 'Malformed SCRAM client-first message');
    if (m[1] === 'p') throw new SaslError('credentials', 'Channel binding is not supported');
    const gs2Header = first.slice(0, first.length - m[4].length);
    const bare = m[4];
    const a = attributes(bare);
    if (a.has('m')) throw new SaslError('malformed', 'Unsupported mandatory SCRAM extension');
    const user = decodeSaslName(a.get('n') ?? '');
    const cnonce = a.get('r') ?? '';
    if (!user || !PRINTABLE_NONCE.test(cnonce))
      throw new SaslError('malformed', 'Malformed SCRAM client-first message');
    const authzid = m[3] ? decodeSaslName(m[3].slice(2)) : '';
    auth.gate(user, peer, 'SCRAM-SHA-256');
    const found = await auth.scramVerifier(user, peer);
    // An unknown user gets a plausible exchange (a salt derived from the name), so replies do not tell
    // which accounts exist; it fails at the proof like a wrong password. The name as the account lookup
    // reads it: every spelling of one name gets one salt, as an account has one.
    const v = found
      ? parseVerifier(found.verifier)
      : {
          iterations: SCRAM_ITERATIONS,
          salt: hmac(auth.secret, `scram-salt:${accountKey(user)}`).subarray(0, 16),
          storedKey: randomBytes(32),
          serverKey: randomBytes(32),
        };
    const nonce = cnonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${v.salt.toString('base64')},i=${v.iterations}`;
    const final = (await io.next(Buffer.from(serverFirst))).toString('utf8');
    const pIndex = final.lastIndexOf(',p=');
    if (pIndex < 0) throw new SaslError('malformed', 'Malformed SCRAM client-final message');
    const withoutProof = final.slice(0, pIndex);
    const f = attributes(final);
    if (f.get('r') !== nonce) throw new SaslError('malformed', 'SCRAM nonce mismatch');
    if (f.get('c') !== Buffer.from(gs2Header).toString('base64'))
      throw new SaslError('malformed', 'SCRAM channel binding data mismatch');
    const proof = Buffer.from(f.get('p') ?? '', 'base64');
    const authMessage = `${bare},${serverFirst},${withoutProof}`;
    const clientSignature = hmac(v.storedKey, authMessage);
    let ok = found !== null && proof.length === clientSignature.length;
    if (ok) {
      const clientKey = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ clientSignature[i];
      ok = timingSafeEqual(sha256(clientKey), v.storedKey);
    }
    // No proxy authorisation: an authzid must name the same user.
    if (ok && authzid && !sameAccount(authzid, user)) ok = false;
    await auth.record(user, peer, ok, 'SCRAM-SHA-256');
    if (!ok || !found) throw new SaslError('credentials', 'Authentication failed');
    // server-final-message, sent as a last challenge: the client checks it and answers empty (RFC 4422 5).
    const serverSignature = hmac(v.serverKey, authMessage).toString('base64');
    await io.next(Buffer.from(`v=${serverSignature}`));
    return { account: found.account, via: 'password' };
  },
};
