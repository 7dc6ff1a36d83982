// String comparison for search and sort: case-insensitive substring matching (RFC 9051 section
// 6.4.4) and the i;unicode-casemap collation SORT and THREAD order strings by (RFC 5256 section 7).

/**
 * The folded form substring matching compares: Unicode lower case, so matching is case-insensitive
 * for every script, not only ASCII. The store's trigram index folds the same way, which keeps BODY and
 * TEXT (index) consistent with SUBJECT, FROM and HEADER (checked here).
 */
export function fold(s: string): string {
  return s.toLowerCase();
}

/** True if `needle` (already folded) occurs in `haystack` ignoring case. */
export function containsFolded(haystack: string, foldedNeedle: string): boolean {
  if (foldedNeedle === '') return true;
  return haystack.toLowerCase().includes(foldedNeedle);
}

const ASCII = /^[\x00-\x7f]*$/;

export function isAscii(s: string): boolean {
  return ASCII.test(s);
}

/**
 * i;unicode-casemap (RFC 5051 section 2): title-case each character (simple mappings only), then
 * decompose (NFKD). For ASCII that is upper case: "_" sorts after "Z", as Dovecot and Cyrus order it.
 */
export function casemap(s: string): string {
  if (ASCII.test(s)) return s.toUpperCase();
  let out = '';
  for (const ch of s) {
    const up = ch.toUpperCase();
    // A full mapping (ß -> SS) is not a simple one: keep the character.
    out += up.length === ch.length ? up : ch;
  }
  return out.normalize('NFKD');
}

/** Compares two strings by code point (the octet order of their UTF-8 forms), as RFC 5051 collates. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts surrogates (astral planes) below U+E000..U+FFFF; code point order puts them above.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
    }
    return x - y;
  }
  return a.length - b.length;
}
