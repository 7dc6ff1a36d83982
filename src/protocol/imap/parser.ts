// The IMAP command grammar: from the text lines and literals of one command to an ImapCommand.
// RFC 9051 section 9 (formal syntax), RFC 7888 (LITERAL+), RFC 3516 (literal8 for BINARY APPEND).
import type { ImapCommand, ImapValue } from './types.ts';

/** A literal announced at the end of a line: `{n}`, `{n+}` or `~{n}` (RFC 9051 section 4.3). */
export interface LiteralSpec {
  size: number;
  /** Synchronising: the server must send `+ ` before the client sends the octets. */
  sync: boolean;
  /** literal8 (`~{n}`): may contain NUL (RFC 3516). */
  binary: boolean;
}

/** Grammar limits; the reader enforces them before anything is buffered. */
export interface ParseLimits {
  /** Nesting depth of parenthesised lists. */
  maxDepth: number;
  /** Total values in a command (a bound on work for hostile input). */
  maxValues: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = { maxDepth: 16, maxValues: 100000 };

const LITERAL_AT_END = /(~?)\{(\d{1,20})(\+?)\}$/;

/** The literal a line announces at its end, if any; 'bad' for a malformed number. */
export function literalAtEnd(line: Buffer): LiteralSpec | null {
  if (line.length < 3 || line[line.length - 1] !== 0x7d /* } */) return null;
  const tail = line.subarray(Math.max(0, line.length - 26)).toString('latin1');
  const m = LITERAL_AT_END.exec(tail);
  if (!m) return null;
  return { size: Number(m[2]), sync: m[3] !== '+', binary: m[1] === '~' };
}

/** One command as read from the wire: text lines (without CRLF) and the literals between them. */
export interface RawCommand {
  lines: Buffer[];
  literals: { spec: LiteralSpec; data: Buffer }[];
}

export class ImapSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImapSyntaxError';
  }
}

export type ParseOutcome = { ok: true; command: ImapCommand } | { ok: false; tag: string | null; error: string };

// atom-specials (RFC 9051 section 9): ( ) { SP CTL % * " \ ]. We accept % * ] \ inside atoms because
// list-mailbox, flags (\Seen) and fetch attributes (BODY[...]) reuse atom-like tokens; handlers check shape.
function isAtomChar(c: number): boolean {
  return c > 0x20 && c < 0x7f && c !== 0x28 && c !== 0x29 && c !== 0x7b && c !== 0x22;
}

/** Tag: astring-chars except '+' (RFC 9051 section 9: tag). */
function isTagChar(c: number): boolean {
  return isAtomChar(c) && c !== 0x2b && c !== 0x25 && c !== 0x2a;
}

/** Fetch attributes whose "[" opens a section (RFC 9051 section 9: fetch-att; RFC 3516: BINARY). */
const SECTIONED = /^(BODY|BODY\.PEEK|BINARY|BINARY\.PEEK|BINARY\.SIZE)$/i;

class Cursor {
  private seg = 0;
  pos = 0;
  values = 0;
  private readonly raw: RawCommand;
  private readonly limits: ParseLimits;
  constructor(raw: RawCommand, limits: ParseLimits) {
    this.raw = raw;
    this.limits = limits;
  }
  get line(): Buffer {
    return this.raw.lines[this.seg];
  }
  /** Current octet, or -1 at the end of the current line. */
  peek(): number {
    return this.pos < this.line.length ? this.line[this.pos] : -1;
  }
  atLineEnd(): boolean {
    return this.pos >= this.line.length;
  }
  /** True when nothing follows (last line consumed). */
  atEnd(): boolean {
    return this.atLineEnd() && this.seg === this.raw.lines.length - 1;
  }
  sp(): void {
    if (this.peek() !== 0x20) throw new ImapSyntaxError('expected a space');
    this.pos++;
  }
  count() {
    if (++this.values > this.limits.maxValues) throw new ImapSyntaxError('too many arguments');
  }
  /** After a `{n}` at the end of a line: take the literal and move to the next line. */
  literal(): ImapValue {
    const lit = this.raw.literals[this.seg];
    if (!lit || this.seg + 1 >= this.raw.lines.length) throw new ImapSyntaxError('literal data missing');
    this.seg++;
    this.pos = 0;
    return { type: 'string', value: lit.data, literal: true, binary: lit.spec.binary };
  }
  atom(): string {
    const start = this.pos;
    const line = this.line;
    let depth = 0;
    while (this.pos < line.length) {
      const c = line[this.pos];
      // "[" is an ATOM-CHAR (RFC 9051 section 9): it opens a section only after a fetch attribute's name,
      // so "a[b" is a mailbox name or keyword like any other.
      if (c === 0x5b /* [ */ && (depth > 0 || SECTIONED.test(line.toString('latin1', start, this.pos)))) depth++;
      else if (c === 0x5d /* ] */) depth = Math.max(0, depth - 1);
      else if (depth > 0) {
        // Inside a section: HEADER.FIELDS (A B) carries spaces and parentheses.
        if (c < 0x20 || c > 0x7e) throw new ImapSyntaxError('invalid octet in section');
        this.pos++;
        continue;
      }
      if (!isAtomChar(c)) break;
      this.pos++;
    }
    if (depth > 0) throw new ImapSyntaxError('unbalanced [ in argument');
    if (this.pos === start) {
      const c = this.peek();
      if (c >= 0x80) throw new ImapSyntaxError('8-bit octet outside a string');
      if (c >= 0 && c < 0x20) throw new ImapSyntaxError('control character in command');
      throw new ImapSyntaxError('expected an argument');
    }
    const next = this.peek();
    if (next >= 0x80) throw new ImapSyntaxError('8-bit octet outside a string');
    if (next >= 0 && next < 0x20) throw new ImapSyntaxError('control character in command');
    return line.toString('latin1', start, this.pos);
  }
  quoted(): ImapValue {
    const line = this.line;
    this.pos++; // opening quote
    const out: number[] = [];
    while (this.pos < line.length) {
      const c = line[this.pos++];
      if (c === 0x22) return { type: 'string', value: Buffer.from(out), literal: false, binary: false };
      if (c === 0x5c /* \ */) {
        const e = line[this.pos++];
        if (e !== 0x22 && e !== 0x5c) throw new ImapSyntaxError('bad escape in quoted string');
        out.push(e);
      } else if (c === 0 || c === 0x0d || c === 0x0a) throw new ImapSyntaxError('invalid octet in quoted string');
      else out.push(c);
    }
    throw new ImapSyntaxError('unterminated quoted string');
  }
  /** A `{n}` / `~{n}` marker: only valid at the very end of a line. */
  literalMarker(): ImapValue {
    const line = this.line;
    const m = LITERAL_AT_END.exec(line.toString('latin1', this.pos));
    if (m?.index !== 0) throw new ImapSyntaxError('bad literal');
    this.pos = line.length;
    return this.literal();
  }
  value(depth: number): ImapValue {
    this.count();
    const c = this.peek();
    if (c === 0x28 /* ( */) {
      if (depth >= this.limits.maxDepth) throw new ImapSyntaxError('lists nested too deeply');
      this.pos++;
      const items: ImapValue[] = [];
      if (this.peek() === 0x29) {
        this.pos++;
        return { type: 'list', items };
      }
      for (;;) {
        items.push(this.value(depth + 1));
        const n = this.peek();
        if (n === 0x29) {
          this.pos++;
          return { type: 'list', items };
        }
        if (n === -1) throw new ImapSyntaxError('unbalanced parenthesis');
        this.sp();
      }
    }
    if (c === 0x22) return this.quoted();
    if (c === 0x7b || (c === 0x7e && this.line[this.pos + 1] === 0x7b)) return this.literalMarker();
    if (c === 0x29) throw new ImapSyntaxError('unbalanced parenthesis');
    if (c === -1) throw new ImapSyntaxError('missing argument');
    return { type: 'atom', value: this.atom() };
  }
}

/** Reads the tag of a line, for a BAD answer when the rest does not parse; null when there is none. */
export function tagOf(line: Buffer): string | null {
  let i = 0;
  while (i < line.length && isTagChar(line[i])) i++;
  if (i === 0 || (i < line.length && line[i] !== 0x20)) return null;
  return line.toString('latin1', 0, i);
}

/** Parses one whole command (RFC 9051 section 9: command). */
export function parseCommand(raw: RawCommand, limits: ParseLimits = DEFAULT_PARSE_LIMITS): ParseOutcome {
  const first = raw.lines[0] ?? Buffer.alloc(0);
  const tag = tagOf(first);
  if (tag === null) return { ok: false, tag: null, error: 'missing or invalid tag' };
  const cur = new Cursor(raw, limits);
  cur.pos = tag.length;
  try {
    cur.sp();
    let name = cur.atom().toUpperCase();
    if (!/^[A-Z][A-Z0-9.=-]*$/.test(name)) throw new ImapSyntaxError('invalid command name');
    if (name === 'UID') {
      cur.sp();
      name = `UID ${cur.atom().toUpperCase()}`;
    }
    const args: ImapValue[] = [];
    while (!cur.atEnd()) {
      cur.sp();
      if (cur.atEnd()) break; // one trailing space: tolerated, as most servers do
      args.push(cur.value(0));
    }
    return { ok: true, command: { tag, name, args } };
  } catch (e) {
    if (e instanceof ImapSyntaxError) return { ok: false, tag, error: e.message };
    throw e;
  }
}
