// What search, sort and thread read about messages beyond the snapshot's records, loaded lazily and
// at most once per command: parsed bodies (envelope, decoded headers) and raw header blocks.
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

/** Blob reads in flight at once when header blocks are needed for many messages. */
const READ_PARALLEL = 16;
/** Bodies asked of the store per call: bounds one query's size and the memory held at once. */
const BODY_BATCH = 5000;

export class MessageData {
  private readonly mail: MailService;
  private readonly bodies = new Map<number, StoredBody>();
  private readonly headerFields = new Map<number, HeaderField[]>();

  constructor(mail: MailService) {
    this.mail = mail;
  }

  /** Parsed bodies of these messages, loaded in batches; keyed by body id. */
  async loadBodies(recs: readonly MessageRecord[]): Promise<void> {
    const missing: number[] = [];
    const asked = new Set<number>();
    for (const r of recs)
      if (!this.bodies.has(r.bodyId) && !asked.has(r.bodyId)) {
        asked.add(r.bodyId);
        missing.push(r.bodyId);
      }
    for (let i = 0; i < missing.length; i += BODY_BATCH) {
      const got = await this.mail.bodiesFor(missing.slice(i, i + BODY_BATCH));
      for (const [id, b] of got) this.bodies.set(id, b);
    }
  }

  /** The body of a message whose body was loaded (loadBodies first); undefined if its content is gone. */
  body(rec: MessageRecord): StoredBody | undefined {
    return this.bodies.get(rec.bodyId);
  }

  /**
   * Header fields of each message's top-level header, prefix lines included (what HEADER searches),
   * read from the blob once per message.
   */
  async loadHeaderFields(recs: readonly MessageRecord[]): Promise<void> {
    const todo = recs.filter((r) => !this.headerFields.has(r.id));
    await this.loadBodies(todo);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const rec = todo[next++];
        const body = this.bodies.get(rec.bodyId);
        if (!body) {
          this.headerFields.set(rec.id, []);
          continue;
        }
        const src = messageSource(this.mail.blobs, rec, body);
        const block = await src.read(0, src.root.headerEnd);
        this.headerFields.set(rec.id, parseHeaderBlock(block, 0, block.length, DEFAULT_LIMITS, []).fields);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_PARALLEL, todo.length) }, worker));
  }

  fields(rec: MessageRecord): HeaderField[] {
    return this.headerFields.get(rec.id) ?? [];
  }
}
