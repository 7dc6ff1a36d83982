// What search, sort and thread read about messages beyond the snapshot's records: parsed bodies
// (envelope, decoded headers) and raw header blocks, streamed in batches so that a command over a huge
// mailbox holds only one batch of them (plus the MailService's bounded cache) at a time.
import type { MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import { messageSource } from '../../mailbox/content.ts';
import type { MailService } from '../../mailbox/service.ts';
import { type HeaderField, parseHeaderBlock } from '../../mime/header.ts';
import { DEFAULT_LIMITS } from '../../mime/limits.ts';
import type { Envelope } from '../../mime/types.ts';

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
