// Splits a multipart body into its body parts by boundary delimiter lines (RFC 2046 section 5.1.1).
import { addProblem } from './limits.ts';

const LF = 10;
const CR = 13;
const SP = 32;
const TAB = 9;
const DASH = 45;

/** Byte ranges of the body parts; the bytes around them are preamble, delimiter lines and epilogue. */
export interface Split {
  parts: [number, number][];
  /** True when the close delimiter "--boundary--" was seen. */
  closed: boolean;
}

function boundaryBytes(boundary: string): Buffer {
  // Header text was decoded as Latin-1 unless it was valid UTF-8; encode back the same way.
  let wide = false;
  for (let i = 0; i < boundary.length; i++) if (boundary.charCodeAt(i) > 255) wide = true;
  return Buffer.from('--' + boundary, wide ? 'utf8' : 'latin1');
}

/** Only blanks (transport-padding, and a stray CR) between from and to. */
function onlyPadding(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = buf[i];
    if (c !== SP && c !== TAB && c !== CR) return false;
  }
  return true;
}

/**
 * One pass over [start, end). Grammar (RFC 2046 section 5.1.1):
 *   dash-boundary := "--" boundary
 *   delimiter := CRLF dash-boundary ; the line break before it belongs to the delimiter
 *   close-delimiter := delimiter "--"
 * Each delimiter line must start a line and, in strict mode, hold only transport-padding after
 * the boundary (and its closing "--"), so a longer boundary of an enclosing or nested multipart
 * never matches a shorter one that is its prefix. Loose mode accepts any text after the boundary.
 */
function scan(buf: Buffer, start: number, end: number, delim: Buffer, strict: boolean, maxParts: number): Split {
  const parts: [number, number][] = [];
  const view = buf.subarray(0, end);
  let partStart = -1;
  let pos = start;
  while (pos < end) {
    const p = view.indexOf(delim, pos);
    if (p < 0) break;
    const q = p + delim.length;
    if (p > start && buf[p - 1] !== LF) {
      pos = q;
      continue;
    }
    let nl = view.indexOf(LF, q);
    if (nl < 0) nl = end;
    const close = q + 1 < end && buf[q] === DASH && buf[q + 1] === DASH;
    if (strict && !onlyPadding(buf, close ? q + 2 : q, nl)) {
      pos = q;
      continue;
    }
    if (partStart >= 0) {
      // The line break before the delimiter is not part of the body part.
      let bodyEnd = p;
      if (bodyEnd > partStart && buf[bodyEnd - 1] === LF) bodyEnd--;
      if (bodyEnd > partStart && buf[bodyEnd - 1] === CR) bodyEnd--;
      parts.push([partStart, bodyEnd]);
    }
    if (close) return { parts, closed: true };
    partStart = nl < end ? nl + 1 : end;
    pos = partStart;
    if (parts.length >= maxParts) return { parts, closed: false };
  }
  if (partStart >= 0) parts.push([partStart, end]);
  return { parts, closed: false };
}

/** Finds the body parts of a multipart body in [start, end); problems are recorded, never thrown. */
export function splitMultipart(
  buf: Buffer,
  start: number,
  end: number,
  boundary: string,
  maxParts: number,
  problems: string[],
): Split {
  const delim = boundaryBytes(boundary);
  let split = scan(buf, start, end, delim, true, maxParts);
  if (split.parts.length === 0) {
    split = scan(buf, start, end, delim, false, maxParts);
    if (split.parts.length > 0) addProblem(problems, 'multipart boundary lines with trailing garbage accepted');
  }
  if (split.parts.length === 0) addProblem(problems, 'multipart boundary never found');
  else if (!split.closed) addProblem(problems, 'multipart close delimiter missing');
  return split;
}
