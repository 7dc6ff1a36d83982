// The Sender Rewriting Scheme (SRS, Shevek's scheme as implemented by libsrs2 and postsrsd): mail an alias
// forwards to another server leaves with its envelope sender rewritten into our forwarding domain, so the
// next receiver's SPF check (RFC 7208) is made against our domain, not the original sender's, and bounces
// come back to us; we turn the address back into the original one and relay the bounce there.
//
//   SRS0=HHHHHH=TT=orig-domain=orig-local@forwarding-domain
//
// TT is the day (mod 1024) in two base32 characters; HHHHHH is a keyed hash (HMAC-SHA256, base32, 30 bits)
// of TT, the domain and the local part, lower-cased, so only addresses we made reverse, and only for
// MAX_AGE_DAYS (postsrsd's default). Base32 (not libsrs2's base64) survives case-folding MTAs. An
// address already in SRS form is wrapped again as SRS0 (no SRS1 shortening): it still reverses exactly.
import { createHmac, timingSafeEqual } from 'node:crypto';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const DAY = 86_400_000;
/** How long a rewritten address is accepted back. */
export const MAX_AGE_DAYS = 21;
const HASH_CHARS = 6;

function base32(buf: Buffer, chars: number): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < chars) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= 0xff;
    if (out.length >= chars) break;
  }
  return out;
}

export type SrsReverse =
  | { ok: true; address: string }
  | { ok: false; reason: 'not-srs' | 'malformed' | 'bad-hash' | 'expired' };

export class Srs {
  private readonly key: Buffer;

  constructor(secret: string) {
    if (secret.length < 16) throw new Error('the SRS secret must be at least 16 characters');
    this.key = Buffer.from(secret);
  }

  private hash(stamp: string, domain: string, local: string): string {
    const mac = createHmac('sha256', this.key).update(`${stamp}\0${domain}\0${local}`.toLowerCase()).digest();
    return base32(mac, HASH_CHARS);
  }

  /** The SRS0 form of `address` in `domain` (the alias's domain), as of `now`. */
  forward(address: string, domain: string, now = Date.now()): string {
    const at = address.lastIndexOf('@');
    if (at <= 0) throw new Error('SRS needs a local part and a domain');
    const local = address.slice(0, at);
    const origDomain = address.slice(at + 1);
    const day = Math.floor(now / DAY) % 1024;
    const stamp = B32[day >> 5] + B32[day & 31];
    return `SRS0=${this.hash(stamp, origDomain, local)}=${stamp}=${origDomain}=${local}@${domain}`;
  }

  /** The original address an SRS0 local part stands for, if we made it and it has not expired. */
  reverse(localPart: string, now = Date.now()): SrsReverse {
    if (!/^srs0[=+-]/i.test(localPart)) return { ok: false, reason: 'not-srs' };
    // SRS0=hash=TT=domain=local: the original local part may itself contain "=" (it is last).
    const m = /^srs0[=+-]([a-z2-7]+)=([a-z2-7]{2})=([^=]+)=(.+)$/i.exec(localPart);
    if (!m) return { ok: false, reason: 'malformed' };
    const [, given, stamp, domain, local] = m;
    const want = this.hash(stamp.toUpperCase(), domain, local);
    const a = Buffer.from(given.toUpperCase());
    const b = Buffer.from(want);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { ok: false, reason: 'bad-hash' };
    const then = B32.indexOf(stamp[0].toUpperCase()) * 32 + B32.indexOf(stamp[1].toUpperCase());
    const today = Math.floor(now / DAY) % 1024;
    const age = (today - then + 1024) % 1024;
    if (age > MAX_AGE_DAYS) return { ok: false, reason: 'expired' };
    return { ok: true, address: `${local}@${domain}` };
  }
}
