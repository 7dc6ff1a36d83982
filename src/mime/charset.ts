// Decodes bytes in a named charset (RFC 2045 section 5.1 "charset") to a JS string, never throwing.
import { isAscii, isUtf8 } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
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

/** Labels that say "ASCII" are often wrong about 8-bit bytes, so they get the guess. */
function guessed(label: string): boolean {
  return label === '' || label === 'us-ascii' || label === 'ascii' || label === 'unknown-8bit' || label === 'x-unknown';
}

function lookup(label: string): Decoder {
  if (guessed(label)) return guess;
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

/** Decodes bytes that arrive in pieces; a character split between two pieces comes out whole. */
export interface StreamDecoder {
  write(buf: Buffer): string;
  end(): string;
}

/** Where a trailing incomplete UTF-8 sequence starts (buf.length if none): it waits for the next piece. */
function utf8Boundary(buf: Buffer): number {
  for (let i = buf.length - 1; i >= Math.max(0, buf.length - 3); i--) {
    const c = buf[i];
    if (c < 0x80) return buf.length;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return buf.length - i < need ? i : buf.length;
    }
  }
  return buf.length;
}

/** The guess, piece by piece: each piece (cut at a character boundary) is UTF-8 if valid, else Windows-1252. */
function guessStream(): StreamDecoder {
  let held: Buffer = Buffer.alloc(0);
  return {
    write(buf) {
      const all = held.length === 0 ? buf : Buffer.concat([held, buf]);
      const cut = utf8Boundary(all);
      held = Buffer.from(all.subarray(cut));
      return guess(all.subarray(0, cut));
    },
    end() {
      const rest = guess(held);
      held = Buffer.alloc(0);
      return rest;
    },
  };
}

function streamFor(label: string): StreamDecoder {
  if (guessed(label)) return guessStream();
  if (label === 'utf-8' || label === 'utf8') {
    const sd = new StringDecoder('utf8');
    return { write: (buf) => sd.write(buf), end: () => sd.end() };
  }
  try {
    const td = new TextDecoder(label);
    return { write: (buf) => td.decode(buf, { stream: true }), end: () => td.decode() };
  } catch {
    // not a WHATWG label; try iconv-lite below
  }
  if (iconv.encodingExists(label)) {
    const dec = iconv.getDecoder(label);
    return { write: (buf) => dec.write(buf), end: () => dec.end() ?? '' };
  }
  return guessStream();
}

/** A decoder for `charset` that takes the bytes in pieces; what decodeCharset gives for the whole, mostly. */
export function charsetStream(charset?: string | null): StreamDecoder {
  const inner = streamFor(charset ? normalise(charset) : '');
  return {
    write(buf) {
      try {
        return inner.write(buf);
      } catch {
        return guess(buf);
      }
    },
    end() {
      try {
        return inner.end();
      } catch {
        return '';
      }
    },
  };
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
