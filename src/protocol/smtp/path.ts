// Reverse-path and forward-path syntax (RFC 5321 section 4.1.2, internationalised by RFC 6531 section
// 3.3) and the relay tricks a path can hide (percent hack, bang path, literal, quoted '@'); source routes are
// parsed and then ignored.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** A parsed Mailbox (RFC 5321 section 4.1.2). */
export interface SmtpAddress {
  /** Local part, unquoted (quoted-pairs resolved). */
  localPart: string;
  /** Domain as written (U-labels kept), or an address literal with its brackets. */
  domain: string;
  /** Whether the local part was written as a Quoted-string. */
  quoted: boolean;
  /** The domain is an address literal, e.g. [192.0.2.1]. */
  literal: boolean;
  /** Source route (A-d-l) domains before the ':', obsolete: never honoured, never copied (section 4.1.1.3). */
  route: string[];
  /** Contains non-ASCII (needs SMTPUTF8, RFC 6531 section 3.2). */
  utf8: boolean;
  /** local@domain, the local part re-quoted only when a dot-string cannot carry it. */
  address: string;
}

export type PathResult =
  | { ok: true; path: SmtpAddress | null; postmaster: boolean; rest: string }
  | { ok: false; reason: string };

// RFC 5321 section 4.1.2 atext (RFC 5322 section 3.2.3), plus any non-ASCII character (RFC 6531).
const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+$/u;
const DOT_STRING =
  /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+(?:\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\u{10FFFF}]+)*$/u;
// sub-domain = Let-dig [Ldh-str]; RFC 6531 adds U-labels, checked again through IDNA below.
const SUB_DOMAIN = /^[A-Za-z0-9\u0080-\u{10FFFF}](?:[A-Za-z0-9\u0080-\u{10FFFF}-]*[A-Za-z0-9\u0080-\u{10FFFF}])?$/u;

// RFC 5321 section 4.5.3.1.1 sets 64 octets, and section 4.5.3.1 asks servers to impose no such limits
// where they can: SRS and VERP addresses of real mail (bounces of forwarded mail among them) are longer.
// The command line limit bounds it anyway; this only refuses the absurd, as Postfix's 254 does.
const MAX_LOCAL = 254;
const MAX_DOMAIN = 255; // section 4.5.3.1.2

/** Whether a string is a syntactically valid Domain (no trailing dot, labels of letters, digits, hyphens). */
export function isDomain(d: string): boolean {
  if (d.length === 0 || Buffer.byteLength(d) > MAX_DOMAIN) return false;
  const labels = d.split('.');
  if (!labels.every((l) => l.length <= 63 && SUB_DOMAIN.test(l))) return false;
  // U-labels must survive IDNA conversion; an ASCII domain always does.
  return !/[^\x00-\x7f]/.test(d) || domainToASCII(d) !== '';
}

/** RFC 5321 section 4.1.3 address-literal: IPv4, "IPv6:" addr, or a General-address-literal. */
function isAddressLiteral(inner: string): boolean {
  if (isIP(inner) === 4) return true;
  if (/^IPv6:/i.test(inner)) return isIP(inner.slice(5)) === 6;
  // General-address-literal = Standardized-tag ":" 1*dcontent
  return /^[A-Za-z0-9-]*[A-Za-z0-9]:[\x21-\x5a\x5e-\x7e]+$/.test(inner);
}

/** Reads a Quoted-string at s[i] === '"'; returns the unquoted text and the index after the closing quote. */
function readQuoted(s: string, i: number): { text: string; end: number } | null {
  let text = '';
  for (let j = i + 1; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { text, end: j + 1 };
    if (c === 0x5c) {
      // quoted-pairSMTP = %d92 %d32-126
      const n = s.charCodeAt(j + 1);
      if (!(n >= 32 && n <= 126)) return null;
      text += s[j + 1];
      j++;
    } else if ((c >= 32 && c <= 126) || c >= 0x80) text += s[j];
    else return null;
  }
  return null;
}

/** The address in its simplest correct form: a dot-string local part when possible. */
export function formatAddress(localPart: string, domain: string): string {
  const local = DOT_STRING.test(localPart) ? localPart : `"${localPart.replace(/(["\\])/g, '\\$1')}"`;
  return `${local}@${domain}`;
}

/**
 * Parses "<...>" at the start of s: a Path, "<>" when allowEmpty (reverse-path), or "<Postmaster>" when
 * allowPostmaster (RCPT, section 4.1.1.3). `rest` is what follows '>' (the ESMTP parameters).
 */
export function parsePath(s: string, opts: { allowEmpty?: boolean; allowPostmaster?: boolean } = {}): PathResult {
  if (s[0] !== '<') return { ok: false, reason: 'the address must be enclosed in <>' };
  if (s[1] === '>') {
    if (!opts.allowEmpty) return { ok: false, reason: 'an empty address is not allowed here' };
    return { ok: true, path: null, postmaster: false, rest: s.slice(2) };
  }
  let i = 1;
  const route: string[] = [];
  // A-d-l = At-domain *( "," At-domain ) ":"
  if (s[i] === '@') {
    const colon = s.indexOf(':', i);
    if (colon < 0) return { ok: false, reason: 'bad source route' };
    for (const hop of s.slice(i, colon).split(',')) {
      if (hop[0] !== '@' || !isDomain(hop.slice(1))) return { ok: false, reason: 'bad source route' };
      route.push(hop.slice(1));
    }
    i = colon + 1;
  }
  let localPart: string;
  let quoted = false;
  if (s[i] === '"') {
    const q = readQuoted(s, i);
    if (!q) return { ok: false, reason: 'bad quoted local part' };
    localPart = q.text;
    quoted = true;
    i = q.end;
  } else {
    let j = i;
    while (j < s.length && s[j] !== '@' && s[j] !== '>') j++;
    localPart = s.slice(i, j);
    if (s[j] === '>' && route.length === 0 && opts.allowPostmaster && /^postmaster$/i.test(localPart))
      return { ok: true, path: null, postmaster: true, rest: s.slice(j + 1) };
    if (!DOT_STRING.test(localPart)) return { ok: false, reason: 'bad local part' };
    i = j;
  }
  if (Buffer.byteLength(localPart) > MAX_LOCAL) return { ok: false, reason: 'local part too long' };
  if (s[i] !== '@') return { ok: false, reason: 'the address needs a domain' };
  i++;
  const close = s.indexOf('>', i);
  if (close < 0) return { ok: false, reason: 'missing >' };
  const domain = s.slice(i, close);
  let literal = false;
  if (domain.startsWith('[')) {
    if (!domain.endsWith(']') || !isAddressLiteral(domain.slice(1, -1)))
      return { ok: false, reason: 'bad address literal' };
    literal = true;
  } else if (!isDomain(domain)) {
    return { ok: false, reason: domain.endsWith('.') ? 'a domain may not end with a dot' : 'bad domain' };
  }
  const utf8 = /[^\x00-\x7f]/.test(localPart) || /[^\x00-\x7f]/.test(domain);
  return {
    ok: true,
    path: { localPart, domain, quoted, literal, route, utf8, address: formatAddress(localPart, domain) },
    postmaster: false,
    rest: s.slice(close + 1),
  };
}

/**
 * Relay tricks (RFC 5321 section 3.6, RFC 2505): forms that ask this server to relay onwards through a
 * local-looking address. Returns what the trick is, or null for a plain address. A source route is not one:
 * it is stripped and only the mailbox is used (section 4.1.1.3, appendix C), so it cannot relay anything.
 */
export function relayTrick(a: SmtpAddress): string | null {
  if (a.literal) return 'address literals are not accepted';
  if (a.localPart.includes('@')) return 'a local part may not contain @';
  if (a.localPart.includes('%')) return 'the percent hack is not accepted';
  if (a.localPart.includes('!')) return 'bang paths are not accepted';
  if (a.domain.endsWith('.')) return 'a domain may not end with a dot';
  return null;
}

/** Whether a string is plain ATEXT (used by tests and by the ESMTP AUTH= parameter check). */
export function isAtom(s: string): boolean {
  return ATEXT.test(s);
}
