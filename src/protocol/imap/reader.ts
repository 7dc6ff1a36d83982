// Reads one IMAP command from a byte source: lines and literals, with every limit checked before
// anything is buffered. It asks its caller for the `+ ` continuation of a synchronising literal.
// RFC 9051 sections 2.2.1 and 4.3; RFC 7888 (LITERAL+/LITERAL-).
import { type LiteralSpec, literalAtEnd, type ParseLimits, parseCommand, type RawCommand, tagOf } from './parser.ts';
import type { ImapCommand } from './types.ts';

export interface CommandSource {
  /** The next line without its terminator; throws when longer than max (the rest of it is skipped). */
  readLine(max: number): Promise<Buffer>;
  /** Up to max octets, whatever has arrived (at least one). */
  readChunk(max: number): Promise<Buffer>;
  /** Sends `+ ` so the client sends a synchronising literal. */
  continuation(): Promise<void>;
}

export interface ReaderLimits extends ParseLimits {
  /** One line of a command, without literals. */
  maxLine: number;
  /** One literal in APPEND (the message). */
  maxAppendLiteral: number;
  /** One literal in any other command. */
  maxLiteral: number;
  /** All literals of one non-APPEND command together. */
  maxCommandLiterals: number;
}

export type ReadOutcome =
  | { kind: 'command'; command: ImapCommand }
  | { kind: 'bad'; tag: string | null; error: string; code?: 'TOOBIG'; append?: boolean }
  /** A non-synchronising literal too large even to skip: say BYE and close. */
  | { kind: 'fatal'; tag: string | null; error: string };

/**
 * Most literals one command may carry (MULTIAPPEND's messages and CATENATE's parts included). Each literal
 * is kept with its line and a few objects (~400 octets of heap): without a count, `{0+}` lines (6 octets
 * each on the wire, nothing towards the octet limits) grew one command without end, ~60 times its size.
 */
export const MAX_LITERALS = 10_000;

/** Above this the octets of a refused non-synchronising literal are not worth reading to stay in sync. */
const MAX_DISCARD = 64 * 1024 * 1024;
const EMPTY = Buffer.alloc(0);

async function discard(src: CommandSource, n: number): Promise<void> {
  while (n > 0) n -= (await src.readChunk(Math.min(n, 65536))).length;
}

/** Reads exactly n octets into one buffer, chunk by chunk (the connection never holds them all). */
async function readLiteral(src: CommandSource, n: number): Promise<Buffer> {
  const out = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    const c = await src.readChunk(Math.min(n - got, 262144));
    c.copy(out, got);
    got += c.length;
  }
  return out;
}

/** `tag APPEND ...`: the only command whose literals are messages. */
function isAppend(first: Buffer): boolean {
  return /^[^ ]+ APPEND( |$)/i.test(first.toString('latin1', 0, 80));
}

/**
 * Reads one command. Literal limits are checked when announced: a synchronising literal over the
 * limit is refused without the `+ ` (the client never sends it); a non-synchronising one is read and
 * dropped to keep the stream in step (RFC 7888 section 4, choice 1), or the session ends when it is huge.
 */
export async function readCommand(src: CommandSource, limits: ReaderLimits): Promise<ReadOutcome> {
  const raw: RawCommand = { lines: [], literals: [] };
  let literalTotal = 0;
  let line = await src.readLine(limits.maxLine);
  for (;;) {
    // A copy: the line is a view of the connection's (up to 1 MB) input buffer, which it would pin.
    raw.lines.push(raw.literals.length ? Buffer.from(line) : line);
    const spec: LiteralSpec | null = literalAtEnd(line);
    if (!spec) break;
    const tag = tagOf(raw.lines[0]);
    const append = isAppend(raw.lines[0]);
    const max = append ? limits.maxAppendLiteral : limits.maxLiteral;
    // The lines between literals are held too, and count with them (each line is bounded, their number not).
    literalTotal += spec.size + line.length;
    // All of an APPEND's literals (MULTIAPPEND's messages, CATENATE's TEXT parts) are held until the
    // command is complete: twice the message limit in all, so one connection cannot buffer without end.
    const totalMax = append ? 2 * max : limits.maxCommandLiterals;
    const over = spec.size > max || literalTotal > totalMax || raw.literals.length >= MAX_LITERALS;
    if (over) {
      const error =
        spec.size > max
          ? `literal of ${spec.size} octets is over the limit of ${max}`
          : raw.literals.length >= MAX_LITERALS
            ? `more than ${MAX_LITERALS} literals in one command`
            : `the command's literals are over the limit of ${totalMax} octets in all`;
      if (spec.sync) return { kind: 'bad', tag, error, code: 'TOOBIG', append };
      if (spec.size > MAX_DISCARD) return { kind: 'fatal', tag, error };
      await discard(src, spec.size);
      // The rest of the command follows the literal: skip it too.
      let rest = await src.readLine(limits.maxLine);
      for (let s = literalAtEnd(rest); s; s = literalAtEnd(rest)) {
        if (s.sync) break;
        if (s.size > MAX_DISCARD) return { kind: 'fatal', tag, error };
        await discard(src, s.size);
        rest = await src.readLine(limits.maxLine);
      }
      return { kind: 'bad', tag, error, code: 'TOOBIG', append };
    }
    if (spec.sync) await src.continuation();
    raw.literals.push({ spec, data: spec.size === 0 ? EMPTY : await readLiteral(src, spec.size) });
    line = await src.readLine(limits.maxLine);
  }
  const parsed = parseCommand(raw, limits);
  if (!parsed.ok) return { kind: 'bad', tag: parsed.tag, error: parsed.error };
  return { kind: 'command', command: parsed.command };
}
