// What search, sort and thread read about messages beyond the snapshot's records: parsed bodies
// (envelope, decoded headers) and raw header blocks, streamed in batches so that a command over a huge
// mailbox holds only one batch of them (plus the MailService's bounded cache) at a time.
import type { MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import { type MessageSource, messageSource } from '../../mailbox/content.ts';
import type { MailService } from '../../mailbox/service.ts';
import { PartTextDecoder } from '../../mime/decode.ts';
import { type HeaderField, parseHeaderBlock } from '../../mime/header.ts';
import { DEFAULT_LIMITS } from '../../mime/limits.ts';
import { fieldText } from '../../mime/parse.ts';
import { textLeaves } from '../../mime/summary.ts';
import type { Envelope, MimePart } from '../../mime/types.ts';

/** The decoded header values delivery stored with each body (mime ParsedMessage.headers). */
export interface StoredHeaders {
  subject: string;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  date: number | null;
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
}

export function headersOf(b: StoredBody): StoredHeaders {
  return b.headers as StoredHeaders;
}

export function envelopeOf(b: StoredBody): Envelope {
  return b.envelope as Envelope;
}

/** Bodies asked of the store per call: bounds one query's size and the memory held at once. */
const BATCH = 2000;
/** Blob reads in flight at once when header blocks are needed. */
const READ_PARALLEL = 16;

/** Calls `fn` with each message's parsed body (undefined if its content is gone), in order. */
export async function eachBody(
  mail: MailService,
  recs: readonly MessageRecord[],
  fn: (rec: MessageRecord, body: StoredBody | undefined, index: number) => void,
): Promise<void> {
  for (let i = 0; i < recs.length; i += BATCH) {
    const batch = recs.slice(i, i + BATCH);
    const bodies = await mail.bodiesFor([...new Set(batch.map((r) => r.bodyId))]);
    for (let j = 0; j < batch.length; j++) fn(batch[j], bodies.get(batch[j].bodyId), i + j);
  }
}

/**
 * Calls `fn` with the header fields of each message's top-level header, per-recipient prefix lines
 * included (what HEADER searches), read from the blob; in order.
 */
export async function eachHeader(
  mail: MailService,
  recs: readonly MessageRecord[],
  fn: (rec: MessageRecord, fields: HeaderField[], index: number) => void,
): Promise<void> {
  for (let i = 0; i < recs.length; i += BATCH) {
    const batch = recs.slice(i, i + BATCH);
    const bodies = await mail.bodiesFor([...new Set(batch.map((r) => r.bodyId))]);
    const fields: HeaderField[][] = new Array(batch.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batch.length) {
        const j = next++;
        const body = bodies.get(batch[j].bodyId);
        if (!body) {
          fields[j] = [];
          continue;
        }
        const src = messageSource(mail.blobs, batch[j], body);
        const block = await src.read(0, src.root.headerEnd);
        fields[j] = parseHeaderBlock(block, 0, block.length, DEFAULT_LIMITS, []).fields;
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_PARALLEL, batch.length) }, worker));
    for (let j = 0; j < batch.length; j++) fn(batch[j], fields[j], i + j);
  }
}

/** Bytes of a text part decoded at a time when a message is read for search. */
const SCAN_WINDOW = 256 * 1024;

/** Feeds text in pieces and says when the folded needle has appeared, also across two pieces. */
function finder(needle: string): (text: string) => boolean {
  let tail = '';
  return (text) => {
    if (text === '') return false;
    // Folded and with NUL as a space, as the index holds the text (store/sql/messages.ts).
    const s = tail + text.toLowerCase().replaceAll('\0', ' ');
    if (s.includes(needle)) return true;
    tail = needle.length > 1 ? s.slice(1 - needle.length) : '';
    return false;
  };
}

/** The entities below the top level (body parts and encapsulated messages), in order. */
function innerParts(root: MimePart): MimePart[] {
  const out: MimePart[] = [];
  const visit = (p: MimePart): void => {
    for (const c of p.children) {
      out.push(c);
      visit(c);
    }
    if (p.message !== null) {
      out.push(p.message.root);
      visit(p.message.root);
    }
  };
  visit(root);
  return out;
}

/** Whether the text of a part, read from the blob and decoded a window at a time, holds the needle. */
async function partHolds(src: MessageSource, part: MimePart, found: (text: string) => boolean): Promise<boolean> {
  const dec = new PartTextDecoder(part);
  const stream = await src.stream(part.bodyStart, part.bodyEnd);
  try {
    let window: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream) {
      window.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size < SCAN_WINDOW) continue;
      if (found(dec.write(Buffer.concat(window)))) return true;
      window = [];
      size = 0;
    }
    return found(dec.write(Buffer.concat(window)) + dec.end());
  } finally {
    stream.destroy();
  }
}

/** Whether the message holds the needle where the index would have it, had it not been cut. */
async function holds(src: MessageSource, needle: string, partHeaders: boolean): Promise<boolean> {
  if (partHeaders) {
    const found = finder(needle);
    for (const p of innerParts(src.root)) {
      const block = await src.read(p.headerStart, p.headerEnd);
      const fields = parseHeaderBlock(block, 0, block.length, DEFAULT_LIMITS, []).fields;
      if (found(fields.map((f) => `${fieldText(f)}\n`).join(''))) return true;
    }
  }
  const found = finder(needle);
  for (const [i, { part }] of textLeaves(src.root).entries()) {
    // The index joins the parts' text with line ends.
    if (i > 0 && found('\n')) return true;
    if (await partHolds(src, part, found)) return true;
  }
  return false;
}

/**
 * Whether each message's content holds the folded needle: the text of its text/* parts and, with
 * `partHeaders`, the header fields of its body parts and encapsulated messages (what the index holds
 * for a message when nothing is cut). For messages whose indexed text was cut: a part at a time is read
 * from the blob and decoded as it streams, so one message costs a pass over its text parts in bounded
 * memory, and stops at the first match.
 */
export async function contentMatches(
  mail: MailService,
  recs: readonly MessageRecord[],
  needle: string,
  partHeaders: boolean,
): Promise<boolean[]> {
  const out: boolean[] = [];
  for (let i = 0; i < recs.length; i += BATCH) {
    const batch = recs.slice(i, i + BATCH);
    const bodies = await mail.bodiesFor([...new Set(batch.map((r) => r.bodyId))]);
    for (const rec of batch) {
      const body = bodies.get(rec.bodyId);
      out.push(body !== undefined && (await holds(messageSource(mail.blobs, rec, body), needle, partHeaders)));
    }
  }
  return out;
}
