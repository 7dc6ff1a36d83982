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
 * Keeps (or drops) the named fields of a header block, in order, each with its folded lines, and ends
 * with the blank line (RFC 9051 section 6.4.5: HEADER.FIELDS includes the delimiting blank line).
 */
export function filterHeader(header: Buffer, names: Set<string>, not: boolean): Buffer {
  const out: Buffer[] = [];
  let i = 0;
  let keep = false;
  while (i < header.length) {
    let lf = header.indexOf(10, i);
    if (lf < 0) lf = header.length - 1;
    const line = header.subarray(i, lf + 1);
    const first = line[0];
    if (first === 13 || first === 10) break; // the blank line ending the header
    if (first !== 32 && first !== 9) {
      const colon = line.indexOf(58);
      const name = colon > 0 ? line.toString('latin1', 0, colon).trimEnd().toLowerCase() : '';
      keep = name !== '' && names.has(name) !== not;
    }
    if (keep) out.push(line);
    i = lf + 1;
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
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
