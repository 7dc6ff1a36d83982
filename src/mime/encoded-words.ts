// Decodes RFC 2047 encoded words ("=?charset?B|Q?text?=") in header text, leniently.
import { decodeCharset } from './charset.ts';

// RFC 2047 section 2: encoded-word = "=?" charset "?" encoding "?" encoded-text "?=".
// Lenient: encoded-text may hold blanks (some mailers fail to encode them).
const WORD = /=\?([^?\s]+)\?([BbQq])\?([^?]*)\?=/g;
const BLANKS = /^[ \t\r\n]*$/;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 2047 section 4.2: "_" is a space, "=XX" a byte; a bad escape is kept as written. */
export function decodeQWord(text: string): Buffer {
  const out = Buffer.allocUnsafe(text.length * 3);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 95) out[n++] = 32;
    else if (c === 61 && i + 2 < text.length) {
      const hi = hexValue(text.charCodeAt(i + 1));
      const lo = hexValue(text.charCodeAt(i + 2));
      if (hi >= 0 && lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
      } else out[n++] = 61;
    } else if (c < 128) out[n++] = c;
    else n += out.write(text[i], n, 'utf8');
  }
  return out.subarray(0, n);
}

/**
 * Decodes every encoded word in `s`. Blanks between two adjacent encoded words are dropped
 * (RFC 2047 section 6.2); adjacent words in the same charset are joined as bytes first, so a
 * multi-byte character split across two words still decodes.
 */
export function decodeWords(s: string): string {
  if (s.indexOf('=?') < 0) return s;
  let out = '';
  let last = 0;
  let pending: Buffer[] = [];
  let pendingCharset = '';
  const flush = (): void => {
    if (pending.length === 0) return;
    out += decodeCharset(pending.length === 1 ? pending[0] : Buffer.concat(pending), pendingCharset);
    pending = [];
  };
  WORD.lastIndex = 0;
  for (let m = WORD.exec(s); m !== null; m = WORD.exec(s)) {
    const between = s.slice(last, m.index);
    const charset = m[1].toLowerCase();
    const joined = pending.length > 0 && BLANKS.test(between);
    if (!joined || charset !== pendingCharset) flush();
    if (!joined) out += between;
    const bytes = m[2] === 'B' || m[2] === 'b' ? Buffer.from(m[3], 'base64') : decodeQWord(m[3]);
    pending.push(bytes);
    pendingCharset = charset;
    last = m.index + m[0].length;
  }
  flush();
  return out + s.slice(last);
}
