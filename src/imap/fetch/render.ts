// Rendering one message's FETCH response (RFC 9051 section 7.5.2), streaming large literals from the
// blob store with backpressure; small ones go through the session's output batch.

import type { MessageRecord } from '../../core/model.ts';
import { emailObjectId, threadObjectId } from '../../core/object-ids.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MessageSource } from '../../mailbox/content.ts';
import { toCrlfLines } from '../../mime/crlf.ts';
import { decodeTransfer } from '../../mime/decode.ts';
import type { Envelope, MimePart } from '../../mime/types.ts';
import { formatDateTime, imapString, literalHeader, withoutNul } from '../../protocol/imap/encode.ts';
import type { FetchItem, SectionItem } from '../../protocol/imap/fetch-items.ts';
import { bodyStructureString, envelopeString } from '../../protocol/imap/structure.ts';
import type { ImapSession } from '../session.ts';
import { renderCache } from './cache.ts';
import { binaryHeader, filterHeader, findPart, planSection } from './sections.ts';

/** Sections up to this size are read into memory; larger ones are streamed. */
const STREAM_OVER = 256 * 1024;

export class UnknownCteError extends Error {}

/** Encodings BINARY decodes. */
const DECODED = new Set(['base64', 'quoted-printable']);

const KNOWN_CTE = ['7bit', '8bit', 'binary', 'base64', 'quoted-printable'];

function cached(cache: typeof renderCache.envelope, id: number, utf8: boolean, make: () => string): string {
  if (utf8) return make();
  let v = cache.get(id);
  if (v === undefined) {
    v = make();
    cache.set(id, v);
  }
  return v;
}

/** Whether rendering these items for this body can do without the parsed body (all strings cached). */
export function renderedFromCache(items: FetchItem[], bodyId: number, utf8: boolean): boolean {
  if (utf8) return false;
  for (const it of items) {
    if (it.kind !== 'simple') return false;
    if (it.name === 'PREVIEW') return false;
    if (it.name === 'ENVELOPE' && renderCache.envelope.get(bodyId) === undefined) return false;
    if (it.name === 'BODY' && renderCache.body.get(bodyId) === undefined) return false;
    if (it.name === 'BODYSTRUCTURE' && renderCache.bodystructure.get(bodyId) === undefined) return false;
  }
  return true;
}

/** What a message's rendering needs loaded. */
export function needs(items: FetchItem[]): { body: boolean; source: boolean } {
  let body = false;
  let source = false;
  for (const it of items) {
    if (it.kind === 'simple') {
      if (it.name === 'ENVELOPE' || it.name === 'BODY' || it.name === 'BODYSTRUCTURE' || it.name === 'PREVIEW')
        body = true;
    } else source = true;
  }
  return { body, source };
}

export interface RenderContext {
  s: ImapSession;
  seq: number;
  rec: MessageRecord;
  body: StoredBody | undefined;
  /** Loaded lazily, once per message. */
  source: () => Promise<MessageSource>;
  /** FLAGS must be included (\Seen was set implicitly). */
  addFlags: boolean;
}

/** `* seq FETCH (...)` for items that need no message bytes: synchronous, for whole-mailbox fetches. */
export function renderSimple(ctx: RenderContext, items: FetchItem[]): string {
  let out = `* ${ctx.seq} FETCH (`;
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    if (i) out += ' ';
    out += simple(ctx, (it as { name: string }).name);
  }
  return `${out})\r\n`;
}

function simple(ctx: RenderContext, name: string): string {
  const { rec, s } = ctx;
  const sel = s.selected!;
  switch (name) {
    case 'UID':
      return `UID ${rec.uid}`;
    case 'FLAGS':
      return `FLAGS (${sel.flagsWithRecent(rec.uid, rec.flags)})`;
    case 'INTERNALDATE':
      return `INTERNALDATE ${formatDateTime(rec.internalDate)}`;
    case 'RFC822.SIZE':
      return `RFC822.SIZE ${rec.size}`;
    case 'MODSEQ':
      return `MODSEQ (${rec.modseq})`;
    case 'EMAILID':
      return `EMAILID (${emailObjectId(rec.emailId)})`;
    case 'THREADID':
      return `THREADID (${threadObjectId(rec.threadId)})`;
    case 'SAVEDATE':
      return `SAVEDATE ${formatDateTime(rec.saveDate)}`;
    case 'ENVELOPE':
      return `ENVELOPE ${cached(renderCache.envelope, rec.bodyId, s.utf8, () =>
        envelopeString(ctx.body!.envelope as Envelope, s.utf8),
      )}`;
    case 'BODY':
      return `BODY ${cached(renderCache.body, rec.bodyId, s.utf8, () =>
        bodyStructureString(ctx.body!.structure as MimePart, false, s.utf8),
      )}`;
    case 'BODYSTRUCTURE':
      return `BODYSTRUCTURE ${cached(renderCache.bodystructure, rec.bodyId, s.utf8, () =>
        bodyStructureString(ctx.body!.structure as MimePart, true, s.utf8),
      )}`;
    case 'PREVIEW':
      return `PREVIEW ${ctx.body!.preview ? imapString(ctx.body!.preview, s.utf8) : 'NIL'}`;
  }
  return '';
}

function applyPartial(start: number, end: number, p: SectionItem['partial']): [number, number] {
  if (!p) return [start, end];
  const a = Math.min(end, start + p.start);
  return [a, Math.min(end, a + p.length)];
}

/** Writes `label {n}\r\n<bytes>` (or NIL / "" for what does not exist). */
async function section(ctx: RenderContext, it: SectionItem): Promise<void> {
  const { s } = ctx;
  const src = await ctx.source();
  if (it.binary) {
    const part = it.part.length ? findPart(src.root, it.part) : src.root;
    if (!part) {
      s.push(`${it.label} NIL`);
      return;
    }
    let data: Buffer;
    // literal8 when the content was decoded (or holds NUL), as Dovecot sends it from a fresh session;
    // RFC 3516 section 4.3 allows literal8 for any BINARY answer.
    let literal8: boolean;
    if (it.part.length === 0) {
      data = await wholeBinary(src);
      const r = src.root;
      literal8 = r.type !== 'multipart' && !r.message && DECODED.has(r.encoding);
    } else {
      if (!KNOWN_CTE.includes(part.encoding)) throw new UnknownCteError(part.encoding);
      data = binaryBody(await src.read(part.bodyStart, part.bodyEnd), part);
      literal8 = DECODED.has(part.encoding);
    }
    if (it.partial) data = data.subarray(Math.min(data.length, it.partial.start), it.partial.start + it.partial.length);
    s.push(`${it.label} ${literalHeader(data.length, data.length > 0 && (literal8 || data.includes(0)))}`);
    s.push(data);
    return;
  }
  const plan = planSection(src.root, it, src.size);
  if (!plan) {
    s.push(`${it.label} NIL`);
    return;
  }
  // BODY sections go in literals, which carry no NUL (RFC 9051 section 4.3.1): withoutNul sends 0x80 instead.
  if (plan.fields) {
    let data = filterHeader(await src.read(plan.start, plan.end), plan.fields.names, plan.fields.not);
    if (it.partial) data = data.subarray(Math.min(data.length, it.partial.start), it.partial.start + it.partial.length);
    s.push(`${it.label} ${literalHeader(data.length)}`);
    s.push(withoutNul(data));
    return;
  }
  const [a, b] = applyPartial(plan.start, plan.end, it.partial);
  const n = b - a;
  if (n <= STREAM_OVER) {
    const data = n ? await src.read(a, b) : Buffer.alloc(0);
    s.push(`${it.label} ${literalHeader(data.length)}`);
    s.push(withoutNul(data));
    return;
  }
  // Large: stream from the blob store, waiting for the client to read (Connection.write backpressure).
  s.push(`${it.label} ${literalHeader(n)}`);
  await s.flush();
  const stream = await src.stream(a, b);
  let sent = 0;
  for await (const chunk of stream) {
    const c = chunk as Buffer;
    sent += c.length;
    await s.conn.write(withoutNul(c));
  }
  if (sent !== n) throw new Error(`blob stream ended early (${sent} of ${n})`);
}

/**
 * BINARY[] (RFC 9051 defines BINARY for leaf parts only): a single-part message is its header (saying
 * binary when the body was decoded) and its decoded body, as Dovecot answers; any other message is
 * returned as stored.
 */
async function wholeBinary(src: MessageSource): Promise<Buffer> {
  const r = src.root;
  if (r.type === 'multipart' || r.message || !KNOWN_CTE.includes(r.encoding)) return src.read(0, src.size);
  let header = await src.read(0, r.bodyStart);
  if (r.type === 'text') header = toCrlfLines(header);
  return Buffer.concat([
    DECODED.has(r.encoding) ? binaryHeader(header) : header,
    binaryBody(await src.read(r.bodyStart, r.bodyEnd), r),
  ]);
}

/**
 * A part's body as BINARY sends it: decoded, and for text/* in CRLF lines (RFC 9051 section 7.5.2: textual
 * line-oriented sections always in CRLF). Line ends are those of the stored (or quoted-printable) text;
 * what base64 decodes to is left as the sender encoded it, as Dovecot does.
 */
function binaryBody(raw: Buffer, part: MimePart): Buffer {
  const lines = part.type === 'text' && part.encoding !== 'base64';
  return decodeTransfer(lines ? toCrlfLines(raw) : raw, part.encoding);
}

async function binarySize(ctx: RenderContext, part: number[], label: string): Promise<string> {
  const src = await ctx.source();
  if (part.length === 0) return `${label} ${(await wholeBinary(src)).length}`;
  const p = findPart(src.root, part);
  if (!p) return `${label} NIL`;
  if (!KNOWN_CTE.includes(p.encoding)) throw new UnknownCteError(p.encoding);
  if (!DECODED.has(p.encoding) && p.type !== 'text') return `${label} ${p.size}`;
  return `${label} ${binaryBody(await src.read(p.bodyStart, p.bodyEnd), p).length}`;
}

/** Whether the items decode a part (BINARY[part], BINARY.SIZE[part]), which an unknown CTE refuses. */
export function decodesParts(items: FetchItem[]): boolean {
  return items.some((it) => (it.kind === 'binarySize' || (it.kind === 'section' && it.binary)) && it.part.length > 0);
}

/** The unknown transfer encoding of a part the items decode, or null when all can be decoded. */
export function undecodable(root: MimePart, items: FetchItem[]): string | null {
  for (const it of items)
    if ((it.kind === 'binarySize' || (it.kind === 'section' && it.binary)) && it.part.length) {
      const p = findPart(root, it.part);
      if (p && !KNOWN_CTE.includes(p.encoding)) return p.encoding;
    }
  return null;
}

/** Pushes `* seq FETCH (...)\r\n` for one message. */
export async function renderMessage(ctx: RenderContext, items: FetchItem[]): Promise<void> {
  const { s } = ctx;
  // BINARY of an unknown encoding is refused before anything of this message is written (RFC 3516 4.3).
  if (decodesParts(items)) {
    const bad = undecodable((await ctx.source()).root, items);
    if (bad !== null) throw new UnknownCteError(bad);
  }
  s.push(`* ${ctx.seq} FETCH (`);
  let first = true;
  const sep = () => {
    if (!first) s.push(' ');
    first = false;
  };
  let flagsDone = false;
  for (const it of items) {
    if (it.kind === 'simple') {
      if (it.name === 'FLAGS') flagsDone = true;
      sep();
      s.push(simple(ctx, it.name));
    } else if (it.kind === 'binarySize') {
      sep();
      s.push(await binarySize(ctx, it.part, it.label));
    } else {
      sep();
      await section(ctx, it);
    }
  }
  if (ctx.addFlags && !flagsDone) {
    sep();
    s.push(simple(ctx, 'FLAGS'));
  }
  s.push(')\r\n');
}
