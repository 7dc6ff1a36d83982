// Turning raw bytes into stored content (blob + parsed body), and reading a stored message back:
// the per-recipient prefix and the shared blob seen as one message with one set of offsets.
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import type { MessageRecord } from '../core/model.ts';
import type { BlobStore, NewBody, StoredBody } from '../core/ports.ts';
import { crlfSize } from '../mime/crlf.ts';
import { parseMessage } from '../mime/parse.ts';
import type { Envelope, MimePart, ParsedMessage } from '../mime/types.ts';
import { sha256 } from '../store/blob/fs.ts';
import { baseSubject, firstMailbox } from './sort-keys.ts';

/**
 * The header column of the full-text index: the top-level header, then the MIME headers of the parts
 * (SEARCH TEXT covers both; HEADER, SUBJECT and the like check the top-level header on the message).
 */
function indexedHeaders(parsed: ParsedMessage): string {
  const top = parsed.headerFields.map((h) => `${h.name}: ${h.value}`).join('\n');
  return parsed.partHeaderText === '' ? top : `${top}\n${parsed.partHeaderText}`;
}

/**
 * What the full-text index holds of a message (NewBody.headerText, bodyText, textCut): written with a new
 * body, and rebuilt from the blob by `petrel mail reindex`. A change here is a change of
 * SEARCH_INDEX_VERSION (core/ports.ts), as is one of the text the parser extracts.
 */
export function indexText(parsed: ParsedMessage): { headerText: string; bodyText: string; textCut: boolean } {
  return { headerText: indexedHeaders(parsed), bodyText: parsed.text, textCut: parsed.textCut };
}

/** The body row for parsed content: search text, sort keys, structure with offsets relative to the blob. */
export function toNewBody(hash: string, parsed: ParsedMessage): NewBody {
  const e = parsed.envelope;
  return {
    hash,
    size: parsed.size,
    // Serialised here, on the delivering thread: the store's writer (another thread, for SQLite) then only
    // copies three strings instead of cloning and serialising object trees while every commit waits.
    structure: JSON.stringify(parsed.root),
    envelope: JSON.stringify(e),
    headers: JSON.stringify(parsed.headers),
    sentDate: parsed.headers.date,
    subject: parsed.headers.subject,
    sortSubject: baseSubject(parsed.headers.subject),
    sortFrom: firstMailbox(e.from),
    sortTo: firstMailbox(e.to),
    sortCc: firstMailbox(e.cc),
    messageId: parsed.headers.messageId,
    preview: parsed.preview,
    hasAttachment: parsed.hasAttachment,
    ...indexText(parsed),
  };
}

export interface Ingested {
  hash: string;
  size: number;
  parsed: ParsedMessage;
  body: NewBody;
}

/** Stores the raw bytes durably and parses them once. */
export async function ingest(blobs: BlobStore, raw: Buffer): Promise<Ingested> {
  const parsed = parseMessage(raw);
  if (raw.length <= blobs.inlineMax) {
    // Small: the bytes travel with the body row and are written in the same transaction (store/blob/tiered.ts).
    const hash = sha256(raw);
    return { hash, size: raw.length, parsed, body: { ...toNewBody(hash, parsed), crlfSize: crlfSize(raw), raw } };
  }
  const { hash, size } = await blobs.put(raw);
  return { hash, size, parsed, body: { ...toNewBody(hash, parsed), crlfSize: crlfSize(raw) } };
}

/** Shifts every offset of a part tree by delta; the root header then starts at 0 (the prefix is header). */
export function shiftPart(p: MimePart, delta: number, isRoot = true): MimePart {
  if (delta === 0) return p;
  return {
    ...p,
    headerStart: isRoot ? 0 : p.headerStart + delta,
    headerEnd: p.headerEnd + delta,
    bodyStart: p.bodyStart + delta,
    bodyEnd: p.bodyEnd + delta,
    children: p.children.map((c) => shiftPart(c, delta, false)),
    message: p.message ? { envelope: p.message.envelope, root: shiftPart(p.message.root, delta, false) } : null,
  };
}

/** A stored message as one byte sequence: what IMAP FETCH and POP3 RETR read. */
export interface MessageSource {
  size: number;
  /** The MIME tree with offsets into this message (prefix included). */
  root: MimePart;
  envelope: Envelope;
  body: StoredBody;
  /** Bytes [start, end) as a stream; never loads the whole message for a small range. */
  stream(start?: number, end?: number): Promise<Readable>;
  /** Bytes [start, end) in memory (small ranges, or whole messages when needed). */
  read(start?: number, end?: number): Promise<Buffer>;
}

export function messageSource(blobs: BlobStore, rec: MessageRecord, body: StoredBody): MessageSource {
  const prefix = rec.prefix ? Buffer.from(rec.prefix) : null;
  const plen = prefix?.length ?? 0;
  const size = plen + body.size;
  const clamp = (start = 0, end = size): [number, number] => {
    const s = Math.max(0, Math.min(start, size));
    return [s, Math.max(s, Math.min(end, size))];
  };
  const src: MessageSource = {
    size,
    root: shiftPart(body.structure as MimePart, plen),
    envelope: body.envelope as Envelope,
    body,
    async stream(start?: number, end?: number) {
      const [s, e] = clamp(start, end);
      if (!prefix || s >= plen) return blobs.stream(body.hash, s - plen, e - plen);
      const out = new PassThrough();
      out.write(prefix.subarray(s, Math.min(e, plen)));
      if (e <= plen) {
        out.end();
        return out;
      }
      const rest = await blobs.stream(body.hash, 0, e - plen);
      rest.on('error', (err) => out.destroy(err));
      rest.pipe(out);
      return out;
    },
    async read(start?: number, end?: number) {
      const [s, e] = clamp(start, end);
      if (s === 0 && e === size) {
        const data = await blobs.get(body.hash, body.size);
        return prefix ? Buffer.concat([prefix, data]) : data;
      }
      const chunks: Buffer[] = [];
      for await (const c of await src.stream(s, e)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
  };
  return src;
}
