// The size of a message seen as CRLF-terminated lines (RFC 5322 section 2.1; RFC 1939 section 11): a stored
// message may end its lines with a bare LF and its last line with nothing, but POP3 sends CRLF lines.

/**
 * Counts, chunk by chunk, the octets of a byte sequence once every bare LF is sent as CRLF and a last line
 * without a line end gets a CRLF. An empty sequence stays empty.
 */
export class CrlfCounter {
  private n = 0;
  private last = -1;

  push(chunk: Buffer): void {
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      const prev = i > 0 ? chunk[i - 1] : this.last;
      if (prev !== 13) this.n++;
    }
    this.n += chunk.length;
    if (chunk.length > 0) this.last = chunk[chunk.length - 1];
  }

  get size(): number {
    return this.n + (this.last >= 0 && this.last !== 10 ? 2 : 0);
  }
}

/** Octets of `data` as CRLF-terminated lines. */
export function crlfSize(data: Buffer | string): number {
  const c = new CrlfCounter();
  c.push(typeof data === 'string' ? Buffer.from(data) : data);
  return c.size;
}

const CR = Buffer.from('\r');

/**
 * Rewrites a byte sequence, chunk by chunk, with every bare LF made CRLF (a last line without a line end
 * stays so): text as IMAP sends it (RFC 9051 section 7.5.2 BINARY, CRLF for textual sections).
 */
export class CrlfLines {
  /** The previous input octet (-1 at the start): a CR there makes the next LF a CRLF already. */
  private last = -1;

  /** The chunk with its bare LFs made CRLF; the chunk itself when it has none. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const out: Buffer[] = [];
    let start = 0;
    for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) {
      if ((i > 0 ? chunk[i - 1] : this.last) === 13) continue;
      out.push(chunk.subarray(start, i), CR);
      start = i;
    }
    this.last = chunk[chunk.length - 1];
    if (start === 0 && out.length === 0) return chunk;
    out.push(chunk.subarray(start));
    return Buffer.concat(out);
  }
}

/** `data` with every bare LF made CRLF. */
export function toCrlfLines(data: Buffer): Buffer {
  return new CrlfLines().push(data);
}
