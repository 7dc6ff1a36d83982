// Streaming message content in: DATA (dot-terminated, RFC 5321 section 4.1.1.4) and BDAT chunks (RFC 3030).
// Octets are kept only while the total stays within smtp.max_message_size; past it they are read and
// dropped, so an oversized message never sits in memory (the reply is then 552 5.3.4).
import { DotDecoder } from '../protocol/smtp/dot-decoder.ts';
import type { SmtpSession } from './session.ts';

const READ_SIZE = 256 * 1024;

/**
 * Kept octets are copied into blocks of at most this size (the first ones smaller, doubling from MIN_BLOCK,
 * so a small message does not hold a large block). The pieces that come in are views of the connection's
 * buffers, one per line of DATA (the dot decoder's output) or per BDAT chunk: kept as they came, each cost
 * a Buffer object (~120 octets of heap per 3-octet line: some 2 GB for a message of short lines within the
 * default 50 MB limit, enough to end the process) and pinned the larger buffer it viewed.
 */
const BLOCK = 64 * 1024;
const MIN_BLOCK = 4096;

export interface Content {
  /** The message so far, in blocks (the last one partly filled). */
  chunks: Buffer[];
  size: number;
  /** Larger than smtp.max_message_size: chunks were dropped. */
  over: boolean;
  /** The block the last chunk views, and how much of it is filled. */
  block?: Buffer;
  blockUsed?: number;
}

export const emptyContent = (): Content => ({ chunks: [], size: 0, over: false });

export interface DotContent extends Content {
  bareLf: boolean;
  bareCr: boolean;
  /** Octets of the longest line (unstuffed, line end excluded). */
  longestLine: number;
}

function add(c: Content, piece: Buffer, max: number): void {
  c.size += piece.length;
  if (c.over) return;
  if (c.size > max) {
    c.over = true;
    drop(c);
  } else keep(c, piece);
}

/** Copies a piece to the end of the kept message. */
function keep(c: Content, piece: Buffer): void {
  for (let at = 0; at < piece.length; ) {
    let used = c.blockUsed ?? 0;
    if (!c.block || used === c.block.length) {
      const kept = c.size - piece.length + at;
      c.block = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(MIN_BLOCK, kept)));
      c.chunks.push(c.block);
      used = 0;
    }
    const n = piece.copy(c.block, used, at);
    at += n;
    used += n;
    c.blockUsed = used;
    c.chunks[c.chunks.length - 1] = c.block.subarray(0, used);
  }
}

function drop(c: Content): void {
  c.chunks = [];
  c.block = undefined;
}

/** Reads DATA content up to and including CRLF.CRLF; what follows stays unread for the next command. */
export async function readDotData(s: SmtpSession): Promise<DotContent> {
  const { max_message_size: max, data_timeout_ms, bare_lf } = s.deps.limits;
  const decoder = new DotDecoder({ normalise: bare_lf === 'normalise' });
  const c: DotContent = { chunks: [], size: 0, over: false, bareLf: false, bareCr: false, longestLine: 0 };
  s.setSilence('data');
  const deadline = Date.now() + data_timeout_ms;
  for (;;) {
    const chunk = await s.within(s.conn.readChunk(READ_SIZE), deadline);
    const r = decoder.feed(chunk);
    // In reject mode a bare line end condemns the message: stop keeping it, but read on to the real end.
    const condemned = bare_lf === 'reject' && (decoder.bareLf || decoder.bareCr);
    if (condemned && c.chunks.length) drop(c);
    for (const piece of r.out) {
      if (condemned) c.size += piece.length;
      else add(c, piece, max);
    }
    if (r.end >= 0) {
      s.conn.unread(chunk.subarray(r.end));
      // Normalised line ends are no longer a reason to refuse.
      c.bareLf = bare_lf === 'reject' && decoder.bareLf;
      c.bareCr = bare_lf === 'reject' && decoder.bareCr;
      c.longestLine = decoder.longestLine;
      return c;
    }
  }
}

/** Reads exactly n octets of a BDAT chunk into c (or drops them once c is over the limit). */
export async function readBdatChunk(s: SmtpSession, n: number, c: Content): Promise<void> {
  const { max_message_size: max, data_timeout_ms } = s.deps.limits;
  s.setSilence('data');
  const deadline = Date.now() + data_timeout_ms;
  let left = n;
  while (left > 0) {
    const chunk = await s.within(s.conn.readChunk(Math.min(left, READ_SIZE)), deadline);
    left -= chunk.length;
    add(c, chunk, max);
  }
}
