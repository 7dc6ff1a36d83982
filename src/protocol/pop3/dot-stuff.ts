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
    const n = chunk.length;
    if (n === 0) return chunk;
    let parts: Buffer[] | null = null;
    let start = 0;
    const insert = (at: number, extra: Buffer) => {
      parts ??= [];
      parts.push(chunk.subarray(start, at), extra);
      start = at;
    };
    if (this.lineStart && chunk[0] === 0x2e) insert(0, DOT);
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.last;
      if (prev !== 13) insert(i, CR);
      if (i + 1 < n && chunk[i + 1] === 0x2e) insert(i + 1, DOT);
    }
    this.last = chunk[n - 1];
    this.lineStart = this.last === 10;
    if (parts === null) return chunk;
    (parts as Buffer[]).push(chunk.subarray(start));
    return Buffer.concat(parts);
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
