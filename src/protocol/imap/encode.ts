// Writing IMAP values: quoted strings, literals, literal8, NIL, atoms and mailbox names.
// RFC 9051 sections 4.3 (strings) and 9 (nstring, astring, mailbox); RFC 3516 (literal8).
import { encodeMutf7 } from './utf7.ts';

/** Whether a string can go out quoted: no CR, LF or NUL, short, and 7-bit unless UTF-8 is allowed. */
function quotable(s: string, utf8: boolean): boolean {
  if (s.length > 1024) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
    if (c > 0x7e && !utf8) return false;
  }
  return true;
}

/** `"..."` with `\` and `"` escaped; the caller knows the string is quotable. */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * A string: quoted when possible, else a literal (RFC 9051 section 4.3). No string may carry NUL (RFC 9051
 * section 4.3.1: a literal is CHAR8s), so NUL is sent as U+FFFD, as Dovecot does.
 */
export function imapString(s: string, utf8 = false): string {
  const t = withoutNulText(s);
  if (quotable(t, utf8)) return quote(t);
  return `{${Buffer.byteLength(t)}}\r\n${t}`;
}

/** Text with every NUL made U+FFFD (RFC 9051 section 4.3.1: no IMAP string carries NUL). */
export function withoutNulText(s: string): string {
  return s.includes('\0') ? s.replace(/\0/g, '\uFFFD') : s;
}

/**
 * Message bytes for a literal (not literal8): every NUL, which a literal may not carry (RFC 9051 section
 * 4.3.1), becomes 0x80 as Dovecot sends it, so the size is unchanged. Copies only when there is a NUL.
 */
export function withoutNul(b: Buffer): Buffer {
  let i = b.indexOf(0);
  if (i < 0) return b;
  const out = Buffer.from(b);
  for (; i >= 0; i = out.indexOf(0, i + 1)) out[i] = 0x80;
  return out;
}

/** nstring: NIL or a string. */
export function nstring(s: string | null | undefined, utf8 = false): string {
  return s === null || s === undefined ? 'NIL' : imapString(s, utf8);
}

const ATOM = /^[!#&'+,\-./0-9:;<=>?@A-Z^_`a-z|~$]+$/;

/** astring: an atom when the text is one, else a string. */
export function astring(s: string, utf8 = false): string {
  return ATOM.test(s) && s.toUpperCase() !== 'NIL' ? s : imapString(s, utf8);
}

/** A mailbox name as sent: UTF-8 when UTF8=ACCEPT is enabled, else modified UTF-7 (RFC 3501 5.1.3). */
export function mailboxName(name: string, utf8: boolean): string {
  return astring(utf8 ? name : encodeMutf7(name), utf8);
}

/** Header of a literal carrying n octets; literal8 (`~{n}`) for BINARY with NULs (RFC 3516). */
export function literalHeader(n: number, binary = false): string {
  return `${binary ? '~' : ''}{${n}}\r\n`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => String(n).padStart(2, '0');

/**
 * The instant of a UTC calendar date and time. Not Date.UTC, which takes years 0 to 99 as 1900 to 1999:
 * an IMAP date-year is 4DIGIT (RFC 9051 section 9), and "01-Jan-0050" is the year 50.
 */
export function utcTime(year: number, month: number, day: number, hh = 0, mm = 0, ss = 0): number {
  const d = new Date(0);
  d.setUTCFullYear(year, month, day);
  d.setUTCHours(hh, mm, ss, 0);
  return d.getTime();
}

/** date-time (RFC 9051 section 9): "dd-Mon-yyyy hh:mm:ss +zzzz", in UTC (the zone written is kept out). */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  const year = String(d.getUTCFullYear()).padStart(4, '0');
  return `"${p2(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${year} ${p2(d.getUTCHours())}:${p2(
    d.getUTCMinutes(),
  )}:${p2(d.getUTCSeconds())} +0000"`;
}

const DATE_TIME = /^([ \d]\d)-([A-Za-z]{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$/;

/** Parses an APPEND date-time; null when malformed (RFC 9051 section 9: date-time). */
export function parseDateTime(s: string): number | null {
  const m = DATE_TIME.exec(s);
  if (!m) return null;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
  if (month < 0) return null;
  const [day, year, hh, mm, ss, zh, zm] = [m[1], m[3], m[4], m[5], m[6], m[8], m[9]].map((x) => Number(x.trim()));
  if (day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || zm > 59) return null;
  const utc = utcTime(year, month, day, hh, mm, ss);
  const check = new Date(utcTime(year, month, day));
  if (check.getUTCDate() !== day) return null;
  const offset = (zh * 60 + zm) * 60000 * (m[7] === '-' ? -1 : 1);
  return utc - offset;
}

/** date (RFC 9051 section 9: date, SEARCH SINCE/BEFORE/ON): "1-Feb-2024" or quoted; UTC midnight, or null. */
export function parseDate(s: string): number | null {
  const m = /^(\d{1,2})-([A-Za-z]{3})-(\d{4})$/.exec(s);
  if (!m) return null;
  const month = MONTHS.findIndex((x) => x.toLowerCase() === m[2].toLowerCase());
  const day = Number(m[1]);
  if (month < 0 || day < 1) return null;
  const t = utcTime(Number(m[3]), month, day);
  return new Date(t).getUTCDate() === day ? t : null;
}
