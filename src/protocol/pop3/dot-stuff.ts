// The body of a multi-line POP3 response (RFC 1939 section 3): stored bytes sent as CRLF lines, a line that
// starts with "." byte-stuffed, the response closed by ".". Chunk by chunk, so large messages stream.

const CR = Buffer.from('\r');
const DOT = Buffer.from('.');
const CRLF = Buffer.from('\r\n');
const EMPTY = Buffer.alloc(0);

/** The line that ends a multi-line response. */
export const TERMINATOR = Buffer.from('.\r\n');

/**
 * Turns stored bytes into what RETR and TOP send: every bare LF becomes CRLF, a "." that starts a line gets
 * a second "." before it. The octets sent, less the stuffed dots, equal mime/crlf.ts crlfSize() of each
 * segment, which is what LIST announces.
 */
export class DotStuffer {
  private lineStart = true;
  /** The previous input octet (-1 at a segment start): a CR there makes the next LF a CRLF. */
  private last = -1;

  /** Transforms one chunk; returns the chunk itself when nothing in it needs to change. */
  push(chunk: Buffer): Buffer {
    const out: Buffer[] = [];
    this.pushInto(chunk, out);
    return out.length === 1 ? out[0] : Buffer.concat(out);
  }

  /** Transforms one chunk into pieces appended to `out` (no copy of the message until the caller joins). */
  pushInto(chunk: Buffer, out: Buffer[]): void {
    const n = chunk.length;
    if (n === 0) return;
    let start = 0;
    if (this.lineStart && chunk[0] === 0x2e) out.push(DOT);
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.last;
      if (prev !== 13) {
        out.push(chunk.subarray(start, i), CR);
        start = i;
      }
      if (i + 1 < n && chunk[i + 1] === 0x2e) {
        out.push(chunk.subarray(start, i + 1), DOT);
        start = i + 1;
      }
    }
    out.push(start === 0 ? chunk : chunk.subarray(start));
    this.last = chunk[n - 1];
    this.lineStart = this.last === 10;
  }

  /**
   * Transforms one chunk into `out` at `pos` and returns the new position: one copy, no intermediate
   * pieces (RETR of small messages). `out` must have room for twice the chunk (the worst case: every
   * octet an LF, or a line-start dot).
   */
  copyInto(chunk: Buffer, out: Buffer, pos: number): number {
    const n = chunk.length;
    if (n === 0) return pos;
    let start = 0;
    if (this.lineStart && chunk[0] === 0x2e) out[pos++] = 0x2e;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.last;
      if (prev !== 13) {
        pos += chunk.copy(out, pos, start, i);
        out[pos++] = 13;
        start = i;
      }
      if (i + 1 < n && chunk[i + 1] === 0x2e) {
        pos += chunk.copy(out, pos, start, i + 1);
        out[pos++] = 0x2e;
        start = i + 1;
      }
    }
    pos += chunk.copy(out, pos, start);
    this.last = chunk[n - 1];
    this.lineStart = this.last === 10;
    return pos;
  }

  /**
   * Ends a segment (the per-recipient prefix, then the stored body; each counts as lines of its own): a last
   * line without a line end gets its CRLF.
   */
  endSegment(): Buffer {
    const out = this.last >= 0 && this.last !== 10 ? CRLF : EMPTY;
    this.last = -1;
    this.lineStart = true;
    return out;
  }
}

/** Lines of a segment that start with "." (each is stuffed with one more): sizes the RETR buffer exactly. */
export function lineStartDots(chunk: Buffer): number {
  let n = chunk.length > 0 && chunk[0] === 0x2e ? 1 : 0;
  for (let i = chunk.indexOf('\n.'); i >= 0; i = chunk.indexOf('\n.', i + 2)) n++;
  return n;
}

/** Keeps the first n lines of what passes through it (TOP msg n, RFC 1939 section 7). */
export class LineBudget {
  private left: number;
  constructor(lines: number) {
    this.left = lines;
  }

  get done(): boolean {
    return this.left <= 0;
  }

  /** The part of the chunk within the budget (up to and including the n-th LF). */
  take(chunk: Buffer): Buffer {
    if (this.left <= 0) return EMPTY;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1))
      if (--this.left === 0) return chunk.subarray(0, i + 1);
    return chunk;
  }
}
