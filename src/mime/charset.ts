// Decodes bytes in a named charset (RFC 2045 section 5.1 "charset") to a JS string, never throwing.
import { isAscii, isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

type Decoder = (buf: Buffer) => string;

const utf8: Decoder = (buf) => buf.toString('utf8');
const cp1252 = new TextDecoder('windows-1252');

/** Charset unknown or absent: UTF-8 when the bytes are valid UTF-8, else Windows-1252 (a Latin-1 superset). */
const guess: Decoder = (buf) => {
  if (isAscii(buf)) return buf.toString('latin1');
  return isUtf8(buf) ? buf.toString('utf8') : cp1252.decode(buf);
};

const cache = new Map<string, Decoder>();

/** Normalises a charset label as written: quotes, blanks and an RFC 2231 section 5 "*lang" suffix removed. */
function normalise(label: string): string {
  let s = label.trim().toLowerCase();
  if (s.length > 1 && s.startsWith('"') && s.endsWith('"')) s = s.slice(1, -1).trim();
  const star = s.indexOf('*');
  if (star >= 0) s = s.slice(0, star);
  return s;
}

function lookup(label: string): Decoder {
  // Labels that say "ASCII" are often wrong about 8-bit bytes, so they get the guess.
  if (label === '' || label === 'us-ascii' || label === 'ascii' || label === 'unknown-8bit' || label === 'x-unknown') {
    return guess;
  }
  if (label === 'utf-8' || label === 'utf8') return utf8;
  try {
    // WHATWG labels (Node's ICU): fast, and maps iso-8859-1 to windows-1252 as browsers do.
    const td = new TextDecoder(label);
    return (buf) => td.decode(buf);
  } catch {
    // not a WHATWG label; try iconv-lite below
  }
  if (iconv.encodingExists(label)) return (buf) => iconv.decode(buf, label);
  return guess;
}

/** Decodes `buf` as `charset`; unknown or missing charsets fall back to a UTF-8 / Windows-1252 guess. */
export function decodeCharset(buf: Buffer, charset?: string | null): string {
  const label = charset ? normalise(charset) : '';
  let dec = cache.get(label);
  if (dec === undefined) {
    dec = lookup(label);
    if (cache.size < 256) cache.set(label, dec);
  }
  try {
    return dec(buf);
  } catch {
    return guess(buf);
  }
}
