// Rendering one message's FETCH response (RFC 9051 section 7.5.2), streaming large literals from the
// blob store with backpressure; small ones go through the session's output batch.

import type { MessageRecord } from '../../core/model.ts';
import { emailObjectId, threadObjectId } from '../../core/object-ids.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MessageSource } from '../../mailbox/content.ts';
import { CrlfLines, toCrlfLines } from '../../mime/crlf.ts';
import { TransferDecoder } from '../../mime/decode.ts';
import type { Envelope, MimePart } from '../../mime/types.ts';
import { formatDateTime, imapString, literalHeader, withoutNul } from '../../protocol/imap/encode.ts';
import type { FetchItem, SectionItem } from '../../protocol/imap/fetch-items.ts';
import { bodyStructureString, envelopeString } from '../../protocol/imap/structure.ts';
import type { ImapSession } from '../session.ts';
import { renderCache } from './cache.ts';
import { binaryHeader, filterIndexed, findPart, type HeaderIndex, indexHeader, planSection } from './sections.ts';

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
  /** Header blocks read for HEADER.FIELDS items, by their range: each read and indexed once per message. */
  headers?: Map<string, { data: Buffer; index: HeaderIndex }>;
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

/**
 * A section that names no part: an empty string, as Dovecot answers (RFC 9051 section 7.5.2 allows NIL or a
 * string; clients written against Dovecot expect a literal here).
 */
const NO_PART = literalHeader(0);

/** Writes `label {n}\r\n<bytes>` (empty for a part that does not exist). */
async function section(ctx: RenderContext, it: SectionItem): Promise<void> {
  if (it.binary) return binarySection(ctx, it);
  const { s } = ctx;
  const src = await ctx.source();
  const plan = planSection(src.root, it, src.size);
  if (!plan) {
    s.push(`${it.label} ${NO_PART}`);
    return;
  }
  // BODY sections go in literals, which carry no NUL (RFC 9051 section 4.3.1): withoutNul sends 0x80 instead.
  if (plan.fields) {
    ctx.headers ??= new Map();
    const key = `${plan.start}:${plan.end}`;
    let h = ctx.headers.get(key);
    if (!h) {
      const header = await src.read(plan.start, plan.end);
      h = { data: header, index: indexHeader(header) };
      ctx.headers.set(key, h);
    }
    let data = filterIndexed(h.data, h.index, plan.fields.names, plan.fields.not);
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
  await streamLiteral(s, `${it.label} ${literalHeader(n)}`, n, withoutNuls(await src.stream(a, b)));
}

async function* withoutNuls(stream: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const c of stream) yield withoutNul(c as Buffer);
}

/**
 * Large answers: the literal's header, then its n octets from the blob store as the client reads them
 * (Connection.write backpressure), never the whole in memory.
 */
async function streamLiteral(s: ImapSession, head: string, n: number, chunks: AsyncIterable<Buffer>): Promise<void> {
  s.push(head);
  await s.flush();
  let sent = 0;
  for await (const c of chunks) {
    sent += c.length;
    await s.conn.write(c);
  }
  if (sent !== n) throw new Error(`literal ended early (${sent} of ${n} octets)`);
}

const EMPTY = Buffer.alloc(0);

/** What BINARY[section] sends: `head`, then the octets [start, end) of the message decoded. */
interface BinaryPlan {
  /** BINARY[] of a single-part message: its header (as BINARY sends it); otherwise empty. */
  head: Buffer;
  start: number;
  end: number;
  /** The transfer encoding undone ('binary' for octets sent as stored). */
  encoding: string;
  /** Bare LFs are sent as CRLF (text/*). */
  lines: boolean;
  /** Where the decoded size is cached, or null when it is end - start. */
  key: string | null;
}

/**
 * What BINARY[path] and BINARY.SIZE[path] are made of, or null when the part does not exist. BINARY[]
 * (RFC 9051 defines BINARY for leaf parts only): a single-part message is its header (saying binary when
 * the body is decoded) and its decoded body, as Dovecot answers; any other message is sent as stored.
 */
async function binaryPlan(ctx: RenderContext, path: number[]): Promise<BinaryPlan | null> {
  const src = await ctx.source();
  const r = src.root;
  if (path.length === 0 && (r.type === 'multipart' || r.message || !KNOWN_CTE.includes(r.encoding)))
    return { head: EMPTY, start: 0, end: src.size, encoding: 'binary', lines: false, key: null };
  const part = path.length ? findPart(r, path) : r;
  if (!part) return null;
  if (!KNOWN_CTE.includes(part.encoding)) throw new UnknownCteError(part.encoding);
  // RFC 9051 section 7.5.2: textual line-oriented sections always in CRLF. The line ends are those of the
  // stored (or quoted-printable) text; what base64 decodes to is left as the sender encoded it, as Dovecot
  // does. A body stored with CRLF only (its CRLF size is its size) has nothing to change.
  const text = part.type === 'text';
  const lines = text && part.encoding !== 'base64' && src.body.crlfSize !== src.body.size;
  let head: Buffer = EMPTY;
  if (path.length === 0) {
    head = await src.read(0, r.bodyStart);
    if (text) head = toCrlfLines(head);
    if (DECODED.has(r.encoding)) head = binaryHeader(head);
  }
  const key = lines || DECODED.has(part.encoding) ? `${ctx.rec.bodyId}:${path.join('.')}` : null;
  return { head, start: part.bodyStart, end: part.bodyEnd, encoding: part.encoding, lines, key };
}

/** The plan's body, decoded, chunk by chunk as it is read. */
async function* decodedBody(src: MessageSource, plan: BinaryPlan): AsyncGenerator<Buffer> {
  if (plan.end <= plan.start) return;
  const lines = plan.lines ? new CrlfLines() : null;
  const decoder = new TransferDecoder(plan.encoding);
  for await (const chunk of await src.stream(plan.start, plan.end)) {
    const out = decoder.push(lines ? lines.push(chunk as Buffer) : (chunk as Buffer));
    if (out.length) yield out;
  }
  const last = decoder.end();
  if (last.length) yield last;
}

/** Octets [from, to) of what BINARY sends for the plan; reading stops at `to`. */
async function* binaryBytes(src: MessageSource, plan: BinaryPlan, from: number, to: number): AsyncGenerator<Buffer> {
  let pos = 0;
  const window = (c: Buffer): Buffer => {
    const a = Math.max(0, from - pos);
    const b = Math.max(a, Math.min(c.length, to - pos));
    pos += c.length;
    return c.subarray(a, b);
  };
  const head = window(plan.head);
  if (head.length) yield head;
  if (pos >= to) return;
  for await (const c of decodedBody(src, plan)) {
    const out = window(c);
    if (out.length) yield out;
    if (pos >= to) return;
  }
}

/** Octets of the decoded body, counted without keeping them, once per stored body and part. */
async function decodedSize(src: MessageSource, plan: BinaryPlan): Promise<number> {
  if (plan.key === null) return plan.end - plan.start;
  let n = renderCache.binarySize.get(plan.key);
  if (n === undefined) {
    n = 0;
    for await (const c of decodedBody(src, plan)) n += c.length;
    renderCache.binarySize.set(plan.key, n);
  }
  return n;
}

async function binarySection(ctx: RenderContext, it: SectionItem): Promise<void> {
  const { s } = ctx;
  const src = await ctx.source();
  const plan = await binaryPlan(ctx, it.part);
  if (!plan) {
    s.push(`${it.label} ${NO_PART}`);
    return;
  }
  const p = it.partial;
  if (plan.end - plan.start <= STREAM_OVER || (p && p.length <= STREAM_OVER)) {
    // Small, or a small partial (decoded up to its end only): in memory. literal8 when the content was
    // decoded (or holds NUL), as Dovecot sends it from a fresh session.
    const chunks: Buffer[] = [];
    for await (const c of binaryBytes(src, plan, p?.start ?? 0, p ? p.start + p.length : Number.POSITIVE_INFINITY))
      chunks.push(c);
    const data = Buffer.concat(chunks);
    const literal8 = data.length > 0 && (DECODED.has(plan.encoding) || data.includes(0));
    s.push(`${it.label} ${literalHeader(data.length, literal8)}`);
    s.push(data);
    return;
  }
  // Large: sized by a first pass that keeps nothing, then decoded again as it is sent; literal8 without
  // looking for NUL first (RFC 3516 section 4.3 allows literal8 for any BINARY answer).
  const size = plan.head.length + (await decodedSize(src, plan));
  const from = Math.min(size, p?.start ?? 0);
  const to = p ? Math.min(size, from + p.length) : size;
  await streamLiteral(
    s,
    `${it.label} ${literalHeader(to - from, to > from)}`,
    to - from,
    binaryBytes(src, plan, from, to),
  );
}

async function binarySize(ctx: RenderContext, path: number[], label: string): Promise<string> {
  const plan = await binaryPlan(ctx, path);
  // No such part: 0, the size of the empty BINARY answer (the grammar has a number here, never NIL).
  if (!plan) return `${label} 0`;
  return `${label} ${plan.head.length + (await decodedSize(await ctx.source(), plan))}`;
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
  const mark = s.mark();
  s.responseOpen = true;
  try {
    await renderItems(ctx, items);
  } catch (e) {
    s.abandon(mark);
    throw e;
  } finally {
    s.responseOpen = false;
  }
}

async function renderItems(ctx: RenderContext, items: FetchItem[]): Promise<void> {
  const { s } = ctx;
  s.push(`* ${ctx.seq} FETCH (`);
  let first = true;
  const sep = () => {
    if (!first) s.push(' ');
    first = false;
  };
  const done = new Set<string>();
  for (const it of items) {
    if (it.kind === 'simple') {
      done.add(it.name);
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
  // \Seen set implicitly: the new FLAGS, and, once CONDSTORE is on, the new MODSEQ and (QRESYNC) the UID
  // with them (RFC 7162 sections 3.1 and 3.2.4).
  if (ctx.addFlags) {
    const also = ['FLAGS'];
    if (s.condstore) also.push('MODSEQ');
    if (s.qresync) also.push('UID');
    for (const name of also)
      if (!done.has(name)) {
        sep();
        s.push(simple(ctx, name));
      }
  }
  s.push(')\r\n');
}
