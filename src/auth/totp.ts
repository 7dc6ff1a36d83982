// TOTP second factor (RFC 6238 over HOTP, RFC 4226) and recovery codes: pure functions, the clock passed in.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

/** RFC 6238 section 4: T0 = 0, X = 30 s; 6 digits and HMAC-SHA-1 are what every authenticator app reads. */
const PERIOD = 30;
const DIGITS = 6;
/** Steps accepted either side of now (RFC 6238 section 5.2 recommends at most one for network delay). */
const WINDOW = 1;

/** A new shared secret: 160 random bits (RFC 4226 section 4, R6), base32 as authenticator apps expect. */
export function newTotpSecret(): string {
  return new Secret({ buffer: randomBytes(20).buffer }).base32;
}

function totp(secret: string, issuer = 'Petrel', label = 'account'): TOTP {
  return new TOTP({
    issuer,
    label,
    secret: Secret.fromBase32(secret),
    algorithm: 'SHA1',
    digits: DIGITS,
    period: PERIOD,
  });
}

/** The otpauth:// URI an authenticator app scans (Key Uri Format: issuer, account label, secret). */
export function totpUri(secret: string, issuer: string, label: string): string {
  return totp(secret, issuer, label).toString();
}

/** The code for a time (tests and enrolment checks). */
export function totpCode(secret: string, nowMs: number): string {
  return totp(secret).generate({ timestamp: nowMs });
}

/**
 * The time step (T, RFC 6238 section 4.2) whose code `code` is, within one step of now, or null. The caller
 * records the step so that the same code is not accepted twice (section 5.2).
 */
export function totpStep(secret: string, code: string, nowMs: number): number | null {
  const c = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(c)) return null;
  const delta = totp(secret).validate({ token: c, timestamp: nowMs, window: WINDOW });
  return delta === null ? null : Math.floor(nowMs / 1000 / PERIOD) + delta;
}

const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i: read aloud, typed by hand

/** `n` one-time recovery codes like "k7fq-2mzx-9tbe" (about 74 bits each). */
export function newRecoveryCodes(n = 10): string[] {
  return Array.from({ length: n }, () => {
    let s = '';
    for (let i = 0; i < 15; i++) s += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    return `${s.slice(0, 5)}-${s.slice(5, 10)}-${s.slice(10)}`;
  });
}

/** What the store keeps of a recovery code: SHA-256 (hex) of it without dashes, spaces or case. */
export function hashRecoveryCode(code: string): string {
  return createHash('sha256')
    .update(code.toLowerCase().replace(/[\s-]+/g, ''))
    .digest('hex');
}

/** Whether `code` has the shape of a recovery code (rather than a 6-digit TOTP code). */
export function looksLikeRecoveryCode(code: string): boolean {
  return /^[a-z0-9]{15}$/.test(code.toLowerCase().replace(/[\s-]+/g, ''));
}
