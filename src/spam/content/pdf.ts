// Links inside PDF attachments: a PDF that says "your invoice is ready, click to view" with the link in
// an annotation carries a phishing URL past every scanner that reads only text and HTML bodies (rspamd
// reads them too). ISO 32000-1 section 12.6.4.7: a URI action is a dictionary with /S /URI and /URI
// (the address), as a literal string "(...)" or a hex string "<...>" (section 7.3.4). Annotations are
// often inside compressed object streams (section 7.5.7, /FlateDecode), so those are inflated, within the
// message's allowance (ArchiveBudget) and at most MAX_STREAMS per file; what cannot be read is skipped.
import { constants, inflateSync } from 'node:zlib';
import type { ParsedMessage } from '../../mime/types.ts';
import type { ArchiveBudget } from './archive.ts';
import { leaves } from './parts.ts';
import { type FoundUrl, parseCandidate } from './urls.ts';

/** PDF files look for "%PDF-" this far in (some writers put junk before it; readers allow 1 KB). */
const MAGIC_WINDOW = 1024;
/** Compressed streams inflated per file (a page's content streams hold no links; object streams do). */
const MAX_STREAMS = 200;
/** One stream's inflated size at most. */
const MAX_STREAM_OUT = 4 * 1024 * 1024;
/** Characters of one URI string read. */
const MAX_URI = 4096;
/** "stream" keywords and "/URI" names looked at per file or stream: each costs up to a few KB of reading. */
const MAX_KEYWORDS = 2000;

export function isPdf(buf: Buffer): boolean {
  return buf.subarray(0, MAGIC_WINDOW).includes('%PDF-');
}

/** The URI strings of a PDF's URI actions, in file order, at most `max`. */
export function pdfUris(pdf: Buffer, budget: ArchiveBudget, max = 200): string[] {
  if (!isPdf(pdf)) return [];
  const out: string[] = [];
  urisIn(pdf, out, max);
  let streams = 0;
  let keywords = 0;
  // Every "stream" keyword: its dictionary (before it) says whether it is Flate-compressed.
  for (
    let at = pdf.indexOf('stream');
    at >= 0 && out.length < max && streams < MAX_STREAMS && keywords++ < MAX_KEYWORDS;
  ) {
    const next = pdf.indexOf('stream', at + 6);
    // "endstream" also contains the word: only a keyword that starts a stream counts.
    if (at >= 3 && pdf.toString('latin1', at - 3, at) === 'end') {
      at = next;
      continue;
    }
    let start = at + 6;
    if (pdf[start] === 0x0d) start++;
    if (pdf[start] === 0x0a) start++;
    const end = pdf.indexOf('endstream', start);
    if (end < 0) break;
    // The stream's dictionary: from its object's "obj" keyword (nested dictionaries such as /DecodeParms
    // come after /Filter or before it, so the whole of it is read, not the last "<<").
    const window = pdf.toString('latin1', Math.max(0, at - 1024), at);
    const filter = /\/Filter\s*(?:\[\s*)?\/(\w+)/.exec(window.slice(Math.max(0, window.lastIndexOf('obj'))))?.[1];
    if (filter === 'FlateDecode' && budget.unpacked > 0) {
      streams++;
      const limit = Math.max(1, Math.min(MAX_STREAM_OUT, budget.unpacked));
      try {
        // A truncated stream still gives what it holds (sync flush); never more than the allowance.
        const data = inflateSync(pdf.subarray(start, end), {
          maxOutputLength: limit,
          finishFlush: constants.Z_SYNC_FLUSH,
        });
        budget.unpacked -= data.length;
        urisIn(data, out, max);
      } catch {
        // Not deflate after all, or larger than allowed: skipped, charged as if inflated to the limit
        // (the work was done), so streams that each stop just short cannot add up.
        budget.unpacked -= limit;
      }
    }
    at = pdf.indexOf('stream', end + 9);
  }
  return out;
}

/** Appends the /URI strings found in `buf` (a PDF's bytes or an inflated object stream). */
function urisIn(buf: Buffer, out: string[], max: number): void {
  let seen = 0;
  for (
    let at = buf.indexOf('/URI');
    at >= 0 && out.length < max && seen++ < MAX_KEYWORDS;
    at = buf.indexOf('/URI', at + 4)
  ) {
    let i = at + 4;
    // "/URI" itself, not "/URIs" or another name starting with it.
    if (i < buf.length && /[A-Za-z0-9]/.test(String.fromCharCode(buf[i]))) continue;
    while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x0a || buf[i] === 0x0d || buf[i] === 0x09)) i++;
    const s = buf[i] === 0x28 ? literal(buf, i + 1) : buf[i] === 0x3c && buf[i + 1] !== 0x3c ? hex(buf, i + 1) : null;
    if (s) out.push(s);
  }
}

/** A literal string from after its "(": escapes and balanced parentheses (ISO 32000-1 section 7.3.4.2). */
function literal(buf: Buffer, from: number): string | null {
  let depth = 0;
  let s = '';
  for (let i = from; i < buf.length && s.length < MAX_URI; i++) {
    const c = buf[i];
    if (c === 0x5c) {
      const e = buf[++i];
      const map: Record<number, string> = { 110: '\n', 114: '\r', 116: '\t', 98: '\b', 102: '\f' };
      if (e >= 0x30 && e <= 0x37) {
        let v = e - 0x30;
        for (let k = 0; k < 2 && buf[i + 1] >= 0x30 && buf[i + 1] <= 0x37; k++) v = v * 8 + buf[++i] - 0x30;
        s += String.fromCharCode(v & 0xff);
      } else if (e === 0x0d || e === 0x0a) {
        if (e === 0x0d && buf[i + 1] === 0x0a) i++; // a line continuation
      } else if (e !== undefined) s += map[e] ?? String.fromCharCode(e);
      continue;
    }
    if (c === 0x28) depth++;
    else if (c === 0x29) {
      if (depth === 0) return s;
      depth--;
    }
    s += String.fromCharCode(c);
  }
  return null;
}

/** A hex string from after its "<" (whitespace ignored, an odd last digit padded with 0). */
function hex(buf: Buffer, from: number): string | null {
  const end = buf.indexOf('>', from);
  if (end < 0 || end - from > MAX_URI * 2 + 100) return null;
  const digits = buf.toString('latin1', from, end).replace(/\s+/g, '');
  if (!/^[0-9a-fA-F]*$/.test(digits)) return null;
  return Buffer.from(digits.length % 2 ? `${digits}0` : digits, 'hex').toString('latin1');
}

/** The links of a message's PDF attachments (by their bytes, whatever their name), at most `max`. */
export function pdfLinks(raw: Buffer, parsed: ParsedMessage, budget: ArchiveBudget, max: number): FoundUrl[] {
  const out: FoundUrl[] = [];
  for (const l of leaves(raw, parsed)) {
    if (out.length >= max) break;
    if (l.part.type === 'text' || l.part.type === 'multipart') continue;
    const body = l.body();
    if (!isPdf(body)) continue;
    for (const uri of pdfUris(body, budget, max - out.length)) {
      const u = parseCandidate(uri, { source: 'pdf' });
      if (u) out.push(u);
    }
  }
  return out;
}
