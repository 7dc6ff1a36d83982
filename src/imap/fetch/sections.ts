// Body sections (RFC 9051 section 6.4.5 BODY[section]): finding a part by its number in the MIME tree,
// and the byte range or filtered header a section names.
import { barePart } from '../../mime/part-info.ts';
import type { MimePart } from '../../mime/types.ts';
import type { SectionItem } from '../../protocol/imap/fetch-items.ts';

/**
 * The part a path names. Inside a message (the root, or a message/rfc822 part) a non-multipart body is
 * part 1; a multipart's children are 1..n (RFC 9051 section 6.4.5).
 */
export function findPart(root: MimePart, path: number[]): MimePart | null {
  let cur = root;
  let isMessageRoot = true;
  for (const n of path) {
    let base = cur;
    let messageRoot = isMessageRoot;
    if (!isMessageRoot) {
      if (cur.message) {
        base = cur.message.root; // a message/rfc822 part: its numbers are those of the inner message
        messageRoot = true;
      } else if (cur.type === 'message' && (cur.subtype === 'rfc822' || cur.subtype === 'global')) {
        // Not parsed (encoded, past a limit): BODYSTRUCTURE shows an empty text part inside; so does part 1.
        if (n !== 1) return null;
        cur = emptyPart(cur.bodyStart);
        isMessageRoot = false;
        continue;
      } else if (cur.type !== 'multipart') return null;
    }
    if (base.type === 'multipart') {
      // A multipart with no parts shows one empty text part (BODYSTRUCTURE does too): part 1 is "".
      const c = base.children[n - 1] ?? (n === 1 && base.children.length === 0 ? emptyPart(base.bodyStart) : null);
      if (!c) return null;
      cur = c;
    } else if (messageRoot && n === 1) cur = base;
    else return null;
    isMessageRoot = false;
  }
  return cur;
}

function emptyPart(at: number): MimePart {
  return barePart(at, at, 'text', 'plain');
}

/** What a section reads: a byte range of the message, optionally filtered to some header fields. */
export interface SectionPlan {
  start: number;
  end: number;
  /** HEADER.FIELDS[.NOT]: keep (or drop) these fields from the header in [start, end). */
  fields: { names: Set<string>; not: boolean } | null;
}

/** The bytes a BODY section names, or null when the part does not exist. */
export function planSection(root: MimePart, item: SectionItem, size: number): SectionPlan | null {
  const part = findPart(root, item.part);
  if (!part) return null;
  const top = item.part.length === 0;
  // HEADER/TEXT of a part: the part must be message/rfc822 (its inner message); at the top: the message.
  const msg = top ? part : (part.message?.root ?? null);
  const fields = item.fields.length
    ? { names: new Set(item.fields.map((f) => f.toLowerCase())), not: item.text === 'HEADER.FIELDS.NOT' }
    : null;
  switch (item.text) {
    case null:
      return top ? { start: 0, end: size, fields: null } : { start: part.bodyStart, end: part.bodyEnd, fields: null };
    case 'MIME':
      return { start: part.headerStart, end: part.headerEnd, fields: null };
    case 'TEXT':
      if (!msg) return { start: part.bodyStart, end: part.bodyStart, fields: null };
      return { start: msg.bodyStart, end: msg.bodyEnd, fields: null };
    default:
      if (!msg) return { start: part.headerStart, end: part.headerStart, fields: null };
      return { start: msg.headerStart, end: msg.headerEnd, fields };
  }
}

/**
 * The fields of a header block, in order: each field's lower-case name ('' for a line that is no field,
 * never sent) and where it starts and ends, its folded lines included. Made once per header in a FETCH:
 * scanning the header again for each HEADER.FIELDS item cost the whole header per item, and a command of
 * a few thousand such items (64 KB) on a message with a large header kept the process busy for minutes.
 */
export interface HeaderIndex {
  names: string[];
  starts: number[];
  ends: number[];
  /** Indexes into names of each name's fields, ascending. */
  byName: Map<string, number[]>;
  /**
   * Each name's runs of consecutive fields (first and last index, flattened, ascending); '' for lines
   * that are no field. HEADER.FIELDS.NOT cuts these out and sends what lies between, so an item costs the
   * runs of the fields it names plus what it keeps: 80,000 X-Filler fields in a row are one run, not a
   * pass over 80,000 entries for each of a few thousand items.
   */
  runs: Map<string, number[]>;
}

export function indexHeader(header: Buffer): HeaderIndex {
  const idx: HeaderIndex = { names: [], starts: [], ends: [], byName: new Map(), runs: new Map() };
  let i = 0;
  while (i < header.length) {
    let lf = header.indexOf(10, i);
    if (lf < 0) lf = header.length - 1;
    const first = header[i];
    if (first === 13 || first === 10) break; // the blank line ending the header
    // A continuation line extends the field before it; one before any field belongs to none.
    if (first !== 32 && first !== 9) {
      const colon = header.subarray(i, lf + 1).indexOf(58); // within the line: a search past it is quadratic
      const name =
        colon > 0
          ? header
              .toString('latin1', i, i + colon)
              .trimEnd()
              .toLowerCase()
          : '';
      const n = idx.names.length;
      idx.names.push(name);
      idx.starts.push(i);
      idx.ends.push(lf + 1);
      if (name) {
        const list = idx.byName.get(name);
        if (list) list.push(n);
        else idx.byName.set(name, [n]);
      }
      const runs = idx.runs.get(name);
      if (!runs) idx.runs.set(name, [n, n]);
      else if (runs[runs.length - 1] === n - 1) runs[runs.length - 1] = n;
      else runs.push(n, n);
    } else if (idx.names.length) idx.ends[idx.names.length - 1] = lf + 1;
    i = lf + 1;
  }
  return idx;
}

const CRLF = Buffer.from('\r\n');

/**
 * Keeps (or drops) the named fields (lower-case names) of a header block, in order, each with its folded
 * lines, and ends with the blank line (RFC 9051 section 6.4.5: HEADER.FIELDS includes the delimiting blank
 * line). Keeping costs what is kept, not the whole header.
 */
export function filterIndexed(header: Buffer, idx: HeaderIndex, names: Set<string>, not: boolean): Buffer {
  if (not) return dropFields(header, idx, names);
  const picked: number[] = [];
  // push, not concat: concat copied what was picked once per name, quadratic over thousands of names.
  for (const name of names) for (const i of idx.byName.get(name) ?? []) picked.push(i);
  picked.sort((a, b) => a - b);
  const out = picked.map((i) => header.subarray(idx.starts[i], idx.ends[i]));
  out.push(CRLF);
  return Buffer.concat(out);
}

/**
 * HEADER.FIELDS.NOT: the runs of the named fields and of lines that are no field, in header order, and
 * the stretches between them sent as they are (fields are contiguous: each ends where the next starts).
 */
function dropFields(header: Buffer, idx: HeaderIndex, names: Set<string>): Buffer {
  const cut: [number, number][] = [];
  for (const name of new Set([...names, ''])) {
    const runs = idx.runs.get(name) ?? [];
    for (let r = 0; r < runs.length; r += 2) cut.push([runs[r], runs[r + 1]]);
  }
  cut.sort((a, b) => a[0] - b[0]);
  const out: Buffer[] = [];
  let next = 0;
  for (const [first, last] of cut) {
    if (first > next) out.push(header.subarray(idx.starts[next], idx.ends[first - 1]));
    next = last + 1;
  }
  const n = idx.starts.length;
  if (next < n) out.push(header.subarray(idx.starts[next], idx.ends[n - 1]));
  out.push(CRLF);
  return Buffer.concat(out);
}

export function filterHeader(header: Buffer, names: Set<string>, not: boolean): Buffer {
  return filterIndexed(header, indexHeader(header), names, not);
}

/**
 * The header of a message whose body BINARY[] sends decoded: a Content-Transfer-Encoding still naming
 * base64 or quoted-printable would make a reader decode the body again, so, as Dovecot does, those fields
 * are dropped and "Content-Transfer-Encoding: binary" ends the header.
 */
export function binaryHeader(header: Buffer): Buffer {
  const kept = filterHeader(header, new Set(['content-transfer-encoding']), true);
  return Buffer.concat([kept.subarray(0, kept.length - 2), Buffer.from('Content-Transfer-Encoding: binary\r\n\r\n')]);
}
