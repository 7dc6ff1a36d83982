// Content-Transfer-Encoding decoding (RFC 2045 sections 6.7 and 6.8) and body text extraction for one part.
import { charsetStream, decodeCharset, type StreamDecoder } from './charset.ts';
import { htmlToText } from './html.ts';
import type { MimePart } from './types.ts';

export { decodeCharset } from './charset.ts';

const CR = 13;
const LF = 10;
const SP = 32;
const TAB = 9;
const EQ = 61;

/** RFC 2045 section 6.8; characters outside the alphabet are skipped and missing padding is fine. */
export function decodeBase64(buf: Buffer): Buffer {
  return Buffer.from(buf.toString('latin1'), 'base64');
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * RFC 2045 section 6.7: "=XX" is a byte, "=" at a line end is a soft break, blanks at a line
 * end are transport padding. An "=" not starting a valid escape is kept literally.
 */
export function decodeQuotedPrintable(buf: Buffer): Buffer {
  const out = Buffer.allocUnsafe(buf.length);
  let n = 0;
  const len = buf.length;
  for (let i = 0; i < len; i++) {
    const c = buf[i];
    if (c === EQ) {
      const hi = i + 1 < len ? hexValue(buf[i + 1]) : -1;
      const lo = hi >= 0 && i + 2 < len ? hexValue(buf[i + 2]) : -1;
      if (lo >= 0) {
        out[n++] = hi * 16 + lo;
        i += 2;
        continue;
      }
      // Soft line break: "=" then optional blanks then CRLF or LF (or the end of the body).
      let j = i + 1;
      while (j < len && (buf[j] === SP || buf[j] === TAB)) j++;
      if (j >= len) break;
      if (buf[j] === LF) {
        i = j;
        continue;
      }
      if (buf[j] === CR && buf[j + 1] === LF) {
        i = j + 1;
        continue;
      }
      out[n++] = c;
    } else if (c === SP || c === TAB) {
      // Drop trailing blanks before a line break (rule 3).
      let j = i + 1;
      while (j < len && (buf[j] === SP || buf[j] === TAB)) j++;
      // The end of the body ends its last line too: blanks there are padding as well.
      if (j >= len || buf[j] === LF || (buf[j] === CR && buf[j + 1] === LF)) i = j - 1;
      else {
        for (let k = i; k < j; k++) out[n++] = buf[k];
        i = j - 1;
      }
    } else out[n++] = c;
  }
  return out.subarray(0, n);
}

/** Undoes a Content-Transfer-Encoding; identity encodings (7bit, 8bit, binary) and unknown ones pass through. */
export function decodeTransfer(buf: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return decodeBase64(buf);
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(buf);
  return buf;
}

const EMPTY = Buffer.alloc(0);

/** Values of the base64 alphabet (RFC 4648 sections 4 and 5, as Node decodes it); -1 for other octets. */
const B64 = new Int8Array(256).fill(-1);
for (const [i, c] of [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'].entries())
  B64[c.charCodeAt(0)] = i;
B64['-'.charCodeAt(0)] = 62;
B64['_'.charCodeAt(0)] = 63;

/**
 * Undoes a Content-Transfer-Encoding chunk by chunk, so a part of any size decodes in little memory (IMAP
 * BINARY): the chunks it returns, joined, are exactly what decodeTransfer gives for the whole body.
 */
export class TransferDecoder {
  private readonly encoding: string;
  /** base64: the sextets of the group being read, and how many there are (0 to 3). */
  private bits = 0;
  private sextets = 0;
  /** quoted-printable: octets held back until what follows them is known. */
  private held = EMPTY;
  /** base64: an "=" was met, which ends the data (as decodeBase64 reads it). */
  private ended = false;

  constructor(encoding: string) {
    this.encoding = encoding;
  }

  push(chunk: Buffer): Buffer {
    if (this.encoding === 'base64') return this.base64(chunk, false);
    if (this.encoding !== 'quoted-printable') return chunk;
    const buf = this.held.length ? Buffer.concat([this.held, chunk]) : chunk;
    // Holds back what the next octets may change: a trailing run of blanks or CR (padding, or half of a line
    // end) and an "=" with fewer than two octets after it. Every decision on what comes before is then made.
    let cut = buf.length;
    for (;;) {
      const c = buf[cut - 1];
      if (cut > 0 && (c === SP || c === TAB || c === CR || c === EQ)) cut--;
      else if (cut > 1 && buf[cut - 2] === EQ) cut -= 2;
      else break;
    }
    this.held = Buffer.from(buf.subarray(cut));
    return decodeQuotedPrintable(buf.subarray(0, cut));
  }

  /** What is left at the end of the body. */
  end(): Buffer {
    if (this.encoding === 'base64') return this.base64(EMPTY, true);
    if (this.encoding !== 'quoted-printable') return EMPTY;
    const out = decodeQuotedPrintable(this.held);
    this.held = EMPTY;
    return out;
  }

  /**
   * decodeBase64 in pieces, octet by octet (no strings: the body may be large): characters outside the
   * alphabet are skipped and the first "=" ends the data, as Node's decoder reads it.
   */
  private base64(chunk: Buffer, last: boolean): Buffer {
    const out = Buffer.allocUnsafe(Math.ceil(((chunk.length + 3) * 3) / 4));
    let o = 0;
    let bits = this.bits;
    let n = this.sextets;
    for (let i = 0; i < chunk.length && !this.ended; i++) {
      const c = chunk[i];
      if (c === EQ) this.ended = true;
      const v = B64[c];
      if (v < 0) continue;
      bits = (bits << 6) | v;
      if (++n === 4) {
        out[o++] = bits >> 16;
        out[o++] = (bits >> 8) & 255;
        out[o++] = bits & 255;
        bits = 0;
        n = 0;
      }
    }
    if (this.ended || last) {
      // An incomplete last group: two sextets make one octet, three make two.
      if (n >= 2) out[o++] = (n === 2 ? bits >> 4 : bits >> 10) & 255;
      if (n === 3) out[o++] = (bits >> 2) & 255;
      bits = 0;
      n = 0;
    }
    this.bits = bits;
    this.sextets = n;
    return out.subarray(0, o);
  }
}

/** The part's body with its transfer encoding removed (what IMAP BINARY returns, RFC 3516). */
export function decodePartBody(raw: Buffer, part: MimePart): Buffer {
  return decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** The part's body as text: transfer- and charset-decoded, HTML turned to plain text. */
export function partText(raw: Buffer, part: MimePart): string {
  const text = decodeCharset(decodePartBody(raw, part), part.params.charset);
  return part.type === 'text' && part.subtype === 'html' ? htmlToText(text) : text;
}

/** Longest HTML kept back between pieces (an unfinished tag, or a script or style whose end is to come). */
const HTML_CARRY = 1024 * 1024;
// What html.ts skips whole: comments, and elements whose content is not text.
const SKIPPED = /<!--|<(script|style|head|title|noscript|template)[\s/>]/gi;

/**
 * Where HTML can be cut so that each side turns to text as it would in the whole: before the last tag
 * (0 if none), and never inside a comment or a skipped element whose end is not before that tag.
 */
function htmlCut(s: string): number {
  const cut = s.lastIndexOf('<');
  if (cut <= 0) return 0;
  const re = new RegExp(SKIPPED);
  for (let m = re.exec(s); m !== null && m.index < cut; m = re.exec(s)) {
    let end: number;
    if (m[1] === undefined) end = s.indexOf('-->', re.lastIndex);
    else {
      const close = new RegExp(`</${m[1]}`, 'gi');
      close.lastIndex = re.lastIndex;
      end = close.exec(s)?.index ?? -1;
    }
    if (end < 0 || end >= cut) return m.index;
    re.lastIndex = end + 2;
  }
  return cut;
}

/**
 * partText for a body that arrives in pieces (a stream): the transfer encoding, the charset and HTML are
 * undone a piece at a time, so a huge part is read with bounded memory. The text is partText's, except
 * that HTML is turned to text up to a tag at a time and those runs are joined by a space (one more than
 * partText has where a piece ends at an inline tag inside a word), and that a charset guessed (none
 * given) is guessed per piece.
 */
export class PartTextDecoder {
  private readonly transfer: TransferDecoder;
  private readonly html: boolean;
  private readonly chars: StreamDecoder;
  private htmlHeld = '';
  private htmlStarted = false;

  constructor(part: Pick<MimePart, 'type' | 'subtype' | 'encoding' | 'params'>) {
    this.transfer = new TransferDecoder(part.encoding);
    this.html = part.type === 'text' && part.subtype === 'html';
    this.chars = charsetStream(part.params.charset);
  }

  write(chunk: Buffer): string {
    return this.text(this.chars.write(this.transfer.push(chunk)), false);
  }

  end(): string {
    const last = this.chars.write(this.transfer.end());
    return this.text(last + this.chars.end(), true);
  }

  private text(s: string, last: boolean): string {
    if (!this.html) return s;
    s = this.htmlHeld + s;
    let cut = last ? s.length : htmlCut(s);
    if (s.length - cut > HTML_CARRY) cut = s.length;
    this.htmlHeld = s.slice(cut);
    const text = htmlToText(s.slice(0, cut));
    if (text === '') return '';
    const sep = this.htmlStarted ? ' ' : '';
    this.htmlStarted = true;
    return sep + text;
  }
}
