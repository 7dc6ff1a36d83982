// Parses a raw message once into a MIME tree with exact byte offsets (RFC 5322, RFC 2045, RFC 2046).
import { splitMultipart } from './boundary.ts';
import { parseDate } from './date.ts';
import { decodeWords } from './encoded-words.ts';
import { buildEnvelope } from './envelope.ts';
import { getField, type HeaderField, parseHeaderBlock } from './header.ts';
import { addProblem, DEFAULT_LIMITS, type ParseLimits } from './limits.ts';
import { barePart, partInfo } from './part-info.ts';
import { summarize } from './summary.ts';
import type { MimePart, ParsedMessage } from './types.ts';

export { DEFAULT_LIMITS, type ParseLimits } from './limits.ts';

interface Context {
  raw: Buffer;
  limits: Required<ParseLimits>;
  problems: string[];
  parts: number;
  /** Header text of the entities below the top level, for SEARCH TEXT; at most maxTextLength characters. */
  partHeaders: string[];
  partHeaderChars: number;
  /** Part header text was left out for the cap. */
  partHeadersCut: boolean;
}

interface Entity {
  part: MimePart;
  fields: HeaderField[];
}

/** Line count as IMAP BODYSTRUCTURE reports it: LFs, plus a final line without a line break. */
function countLines(raw: Buffer, start: number, end: number): number {
  if (end <= start) return 0;
  const view = raw.subarray(start, end);
  let lines = 0;
  // Line breaks, not text lines: a last line without one (before a boundary) is not counted, as Dovecot
  // counts body-fld-lines, so clients see the same BODYSTRUCTURE from either server.
  for (let i = view.indexOf(10); i >= 0; i = view.indexOf(10, i + 1)) lines++;
  return lines;
}

/** message/rfc822 and message/global (RFC 6532 section 3.7) hold a whole message. */
function isEncapsulated(part: MimePart): boolean {
  return part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global');
}

/** A header field's value with RFC 2047 encoded words decoded (what search and clients read). */
function decodedValue(value: string): string {
  return value.includes('=?') ? decodeWords(value) : value;
}

/** A header field as the full-text index holds it: "name: value", the value decoded. */
export function fieldText(f: HeaderField): string {
  return `${f.name}: ${decodedValue(f.value)}`;
}

/**
 * Keeps the "name: value" lines of a body part's or an encapsulated message's header: SEARCH TEXT looks
 * "in the header (including MIME header fields)" (RFC 9051 section 6.4.4), not only the top-level one.
 */
function keepPartHeader(ctx: Context, fields: HeaderField[]): void {
  for (const f of fields) {
    const room = ctx.limits.maxTextLength - ctx.partHeaderChars;
    if (room <= 0) {
      ctx.partHeadersCut = true;
      return;
    }
    let line = fieldText(f);
    if (line.length > room) {
      line = line.slice(0, room);
      ctx.partHeadersCut = true;
    }
    ctx.partHeaders.push(line);
    ctx.partHeaderChars += line.length + 1;
  }
}

/**
 * Makes a part, and the last part inside it, run to `end`: at the part limit the rest of a multipart
 * stays in its last part (as Dovecot folds it) rather than being dropped from FETCH and SEARCH.
 */
function extendTo(raw: Buffer, part: MimePart, end: number): void {
  if (part.type === 'text' || isEncapsulated(part)) part.lines += countLines(raw, part.bodyEnd, end);
  part.bodyEnd = end;
  part.size = end - part.bodyStart;
  const inner = part.message?.root ?? part.children.at(-1);
  if (inner !== undefined) extendTo(raw, inner, end);
}

/** Parses the entity (header and body) in [start, end) at the given depth, children included. */
function parseEntity(ctx: Context, start: number, end: number, depth: number, inDigest: boolean): Entity {
  ctx.parts++;
  const { raw, limits, problems } = ctx;
  const block = parseHeaderBlock(raw, start, end, limits, problems);
  if (depth > 0) keepPartHeader(ctx, block.fields);
  const info = partInfo(block.fields, inDigest, problems);
  const bodyStart = block.bodyStart;
  const part: MimePart = {
    headerStart: start,
    headerEnd: bodyStart,
    bodyStart,
    bodyEnd: end,
    ...info,
    size: end - bodyStart,
    lines: 0,
    children: [],
    message: null,
  };
  const encapsulated = isEncapsulated(part);
  if (part.type === 'text' || encapsulated) part.lines = countLines(raw, bodyStart, end);
  if (part.type !== 'multipart' && !encapsulated) return { part, fields: block.fields };
  if (depth + 1 > limits.maxDepth) {
    addProblem(problems, `nesting deeper than ${limits.maxDepth}; inner parts not parsed`);
    return { part, fields: block.fields };
  }
  if (part.type === 'multipart') {
    // The boundary as written: RFC 2047 decoding of params could alter one holding "=?".
    const written = part.rawParams.find(([name]) => name.toLowerCase() === 'boundary');
    const boundary = written === undefined ? part.params.boundary : written[1];
    if (!boundary) {
      addProblem(problems, 'multipart without boundary parameter');
      return { part, fields: block.fields };
    }
    const room = Math.max(0, limits.maxParts - ctx.parts);
    const split = splitMultipart(raw, bodyStart, end, boundary, room + 1, problems);
    // RFC 2046 section 5.1.5: in multipart/digest the default type is message/rfc822.
    const digest = part.subtype === 'digest';
    for (const [s, e] of split.parts) {
      if (ctx.parts >= limits.maxParts) {
        addProblem(problems, `more than ${limits.maxParts} parts; the rest kept in the last part`);
        const last = part.children.at(-1);
        if (last !== undefined) extendTo(raw, last, end);
        break;
      }
      part.children.push(parseEntity(ctx, s, e, depth + 1, digest).part);
    }
  } else if (part.encoding === '7bit' || part.encoding === '8bit' || part.encoding === 'binary') {
    if (ctx.parts >= limits.maxParts) addProblem(problems, `more than ${limits.maxParts} parts; the rest not parsed`);
    else {
      const inner = parseEntity(ctx, bodyStart, end, depth + 1, false);
      part.message = { envelope: buildEnvelope(inner.fields), root: inner.part };
    }
  } else {
    // RFC 2046 section 5.2.1 forbids encoding message/rfc822; such a body stays opaque.
    addProblem(problems, `message/${part.subtype} with ${part.encoding} encoding not parsed`);
  }
  return { part, fields: block.fields };
}

/** Message ids (RFC 5322 section 3.6.4) without angle brackets, in order. */
function messageIds(value: string | undefined): string[] {
  if (value === undefined) return [];
  const ids: string[] = [];
  for (const m of value.matchAll(/<([^<>]*)>/g)) {
    const id = m[1].replace(/\s+/g, '');
    if (id !== '') ids.push(id);
  }
  return ids;
}

function decoded(fields: HeaderField[], name: string): string {
  const v = getField(fields, name);
  return v === undefined ? '' : decodeWords(v).trim();
}

/** Text plus part headers stay within maxTextLength, the body's text first. */
function partHeaderText(ctx: Context, textLength: number): string {
  const s = ctx.partHeaders.join('\n');
  const room = Math.max(0, ctx.limits.maxTextLength - textLength);
  if (s.length <= room) return s;
  ctx.partHeadersCut = true;
  return s.slice(0, room);
}

function build(raw: Buffer, ctx: Context): ParsedMessage {
  const { part: root, fields } = parseEntity(ctx, 0, raw.length, 0, false);
  const messageId = getField(fields, 'message-id');
  const summary = summarize(raw, root, ctx.limits.maxTextLength, ctx.problems);
  const partHeaders = partHeaderText(ctx, summary.text.length);
  const date = getField(fields, 'date');
  return {
    size: raw.length,
    root,
    envelope: buildEnvelope(fields),
    headers: {
      subject: decoded(fields, 'subject'),
      from: decoded(fields, 'from'),
      to: decoded(fields, 'to'),
      cc: decoded(fields, 'cc'),
      bcc: decoded(fields, 'bcc'),
      date: date === undefined ? null : parseDate(date),
      messageId: messageId === undefined ? null : (messageIds(messageId)[0] ?? (messageId.trim() || null)),
      inReplyTo: messageIds(getField(fields, 'in-reply-to')),
      references: messageIds(getField(fields, 'references')),
    },
    headerFields: fields.map((f) => ({ name: f.name, value: decodedValue(f.value) })),
    partHeaderText: partHeaders,
    text: summary.text,
    textCut: summary.cut || ctx.partHeadersCut,
    preview: summary.preview,
    hasAttachment: summary.hasAttachment,
    problems: ctx.problems,
  };
}

/** A tree of one opaque part: what a caller gets if parsing failed unexpectedly. */
function fallback(raw: Buffer, problems: string[]): ParsedMessage {
  const root = barePart(0, raw.length, 'application', 'octet-stream');

  const envelope = buildEnvelope([]);
  const headers = { subject: '', from: '', to: '', cc: '', bcc: '', date: null, messageId: null };
  return {
    size: raw.length,
    root,
    envelope,
    headers: { ...headers, inReplyTo: [], references: [] },
    headerFields: [],
    partHeaderText: '',
    text: '',
    textCut: false,
    preview: '',
    hasAttachment: false,
    problems,
  };
}

/** Parses a raw message (CRLF, bare LF or mixed line ends). Never throws; limits bound the work. */
export function parseMessage(raw: Buffer, opts?: ParseLimits): ParsedMessage {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(limits) as (keyof ParseLimits)[]) {
    const v = opts?.[key];
    if (typeof v === 'number' && v >= 0) limits[key] = v;
  }
  const ctx: Context = {
    raw,
    limits,
    problems: [],
    parts: 0,
    partHeaders: [],
    partHeaderChars: 0,
    partHeadersCut: false,
  };
  try {
    return build(raw, ctx);
  } catch (err) {
    addProblem(ctx.problems, `internal error: ${err instanceof Error ? err.message : String(err)}`);
    return fallback(raw, ctx.problems);
  }
}
