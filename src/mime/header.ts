// Splits a header block (RFC 5322 section 2.2) into unfolded fields, working on the raw bytes.
import { isAscii, isUtf8 } from 'node:buffer';
import { addProblem } from './limits.ts';

/** One header field; value is unfolded (CR and LF removed, RFC 5322 section 2.2.3) but otherwise as written. */
export interface HeaderField {
  /** Field name as written (trailing blanks before the colon dropped). */
  name: string;
  /** Value after the colon, leading blanks skipped, continuation lines' leading blanks kept. */
  value: string;
}

export interface HeaderBlock {
  fields: HeaderField[];
  /** First byte after the blank line that ends the block, or the end of the range when there is none. */
  bodyStart: number;
}

export interface HeaderLimits {
  maxHeaderFields: number;
  maxHeaderLineLength: number;
}

const LF = 10;
const CR = 13;
const SP = 32;
const TAB = 9;
const COLON = 58;

/** Turns header bytes into a string: UTF-8 when valid (RFC 6532), else Latin-1 so no byte is lost. */
export function headerString(buf: Buffer): string {
  if (isAscii(buf) || !isUtf8(buf)) return buf.toString('latin1');
  return buf.toString('utf8');
}

/** RFC 5322 section 3.6.8: field-name = 1*ftext, printable US-ASCII except colon. */
function validName(raw: Buffer, start: number, end: number): boolean {
  if (end <= start) return false;
  for (let i = start; i < end; i++) {
    const c = raw[i];
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/**
 * Parses the header block that starts at `start` and lies within [start, end).
 * The block ends at the first empty line (CRLF or bare LF); lines without a valid
 * "name:" that are not continuations are skipped and reported, never thrown.
 */
export function parseHeaderBlock(
  raw: Buffer,
  start: number,
  end: number,
  limits: HeaderLimits,
  problems: string[],
): HeaderBlock {
  const fields: HeaderField[] = [];
  let bodyStart = end;
  // The field being collected: its name and the [start, end) byte ranges of its value pieces.
  let name: string | null = null;
  let pieces: number[] = [];
  let kept = 0;

  const finish = (): void => {
    if (name === null) return;
    let value: string;
    if (pieces.length === 2) value = headerString(raw.subarray(pieces[0], pieces[1]));
    else {
      const bufs: Buffer[] = [];
      for (let i = 0; i < pieces.length; i += 2) bufs.push(raw.subarray(pieces[i], pieces[i + 1]));
      value = headerString(Buffer.concat(bufs));
    }
    fields.push({ name, value });
    name = null;
  };

  const addPiece = (from: number, to: number): void => {
    const room = limits.maxHeaderLineLength - kept;
    if (to - from > room) {
      to = from + Math.max(0, room);
      addProblem(problems, 'header field longer than limit truncated');
    }
    if (to > from) {
      pieces.push(from, to);
      kept += to - from;
    }
  };

  let pos = start;
  while (pos < end) {
    let nl = raw.indexOf(LF, pos);
    if (nl < 0 || nl >= end) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && raw[lineEnd - 1] === CR) lineEnd--;
    if (lineEnd === pos) {
      // The empty line that ends the header (RFC 5322 section 2.1).
      bodyStart = nl < end ? nl + 1 : end;
      break;
    }
    const first = raw[pos];
    if (first === SP || first === TAB) {
      // Continuation line: unfolding keeps its leading blank (RFC 5322 section 2.2.3).
      if (name !== null) addPiece(pos, lineEnd);
      else addProblem(problems, 'header continuation line without a field');
    } else {
      finish();
      // A manual scan keeps a colon-less line from searching past its own end.
      let colon = pos;
      while (colon < lineEnd && raw[colon] !== COLON) colon++;
      if (colon === lineEnd) colon = -1;
      let nameEnd = colon;
      while (nameEnd > pos && (raw[nameEnd - 1] === SP || raw[nameEnd - 1] === TAB)) nameEnd--;
      if (colon < 0 || !validName(raw, pos, nameEnd)) {
        addProblem(problems, 'header line without a valid field name skipped');
      } else if (fields.length >= limits.maxHeaderFields) {
        addProblem(problems, 'too many header fields; later ones dropped');
      } else {
        name = raw.toString('latin1', pos, nameEnd);
        pieces = [];
        kept = 0;
        let v = colon + 1;
        while (v < lineEnd && (raw[v] === SP || raw[v] === TAB)) v++;
        addPiece(v, lineEnd);
        if (pieces.length === 0) pieces.push(v, v);
      }
    }
    pos = nl + 1;
  }
  finish();
  return { fields, bodyStart };
}

/** First field with this name (case-insensitive), or undefined. */
export function getField(fields: HeaderField[], lowerName: string): string | undefined {
  for (const f of fields) {
    if (f.name.length === lowerName.length && f.name.toLowerCase() === lowerName) return f.value;
  }
  return undefined;
}
