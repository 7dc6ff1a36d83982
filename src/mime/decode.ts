// Content-Transfer-Encoding decoding (RFC 2045 sections 6.7 and 6.8) and body text extraction for one part.
import { decodeCharset } from './charset.ts';
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

/** The part's body with its transfer encoding removed (what IMAP BINARY returns, RFC 3516). */
export function decodePartBody(raw: Buffer, part: MimePart): Buffer {
  return decodeTransfer(raw.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** The part's body as text: transfer- and charset-decoded, HTML turned to plain text. */
export function partText(raw: Buffer, part: MimePart): string {
  const text = decodeCharset(decodePartBody(raw, part), part.params.charset);
  return part.type === 'text' && part.subtype === 'html' ? htmlToText(text) : text;
}
