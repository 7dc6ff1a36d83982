// Splitting an mbox into its messages as it is read, in chunks of any size (RFC 4155 and the mboxo,
// mboxrd and mboxcl2 conventions): at most one message and one line are held, whatever the file's size.

const FROM_ = Buffer.from('From ', 'latin1');
const LF = Buffer.from('\n');
const CONTENT_LENGTH = /^content-length:[ \t]*([0-9]{1,15})[ \t]*\r?$/i;

/** A message as stored: CRLF line ends (bare LF or CR become CRLF). */
export function crlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** One message of an mbox, or the note that one was over the size limit (its content dropped). */
export type MboxItem = { raw: Buffer } | { tooBig: true };

export const isFromLine = (b: Buffer) => b.length >= 5 && b.subarray(0, 5).equals(FROM_);
const isBlank = (b: Buffer) => b.length === 0 || (b.length === 1 && b[0] === 0x0d);

/**
 * Splits an mbox fed in chunks of any size into its messages. A message starts at a "From " line at the
 * start or after a blank line (RFC 4155 section 2); the blank line before it is not part of the previous
 * one. Holds at most one message of up to maxSize octets and one line: a longer message is read to its
 * end and given as tooBig.
 *
 * Body lines that begin "From " are quoted ">From " by mboxo and mboxrd writers; one ">" is taken off a
 * line matching /^>+From / (mboxrd). In an mboxo file a ">From " of the original thereby loses its ">",
 * one character that changes no Bayes token of note; splitting is what matters, and both quote alike.
 * mboxcl2 writers (Solaris mail, some procmail set-ups) quote nothing and give the body's length in a
 * Content-Length field instead: where that length ends exactly before blank lines and the next "From "
 * line (or the end of the file), the "From " lines it covers are body text. A length that does not end
 * so is wrong (the field came with the message, or the file was edited): the message is then split at
 * its "From " lines like any other, as mutt and Email::Folder do.
 */
export class MboxSplitter {
  private readonly maxSize: number;
  /** The current message's lines, without their LF; null before the first "From " line. */
  private lines: Buffer[] | null = null;
  private size = 0;
  private tooBig = false;
  private prevBlank = true;
  private inHeaders = false;
  private headerLength: number | null = null;
  /** The body's length from Content-Length while it is being checked, its octets read so far. */
  private bodyLength: number | null = null;
  private bodyRead = 0;
  /** Indexes in lines of the "From " lines (after a blank line) that bodyLength covers. */
  private covered: number[] = [];
  /** The start of a line whose LF has not come yet. */
  private partial: Buffer[] = [];
  private partialLen = 0;
  /** The rest of a line longer than maxSize is being dropped. */
  private skipping = false;

  constructor(maxSize: number) {
    this.maxSize = maxSize;
  }

  push(chunk: Buffer): MboxItem[] {
    const out: MboxItem[] = [];
    let at = 0;
    while (at < chunk.length) {
      const nl = chunk.indexOf(0x0a, at);
      const piece = chunk.subarray(at, nl < 0 ? chunk.length : nl);
      at = nl < 0 ? chunk.length : nl + 1;
      if (this.skipping) {
        if (nl >= 0) this.skipping = false;
        continue;
      }
      if (nl < 0) {
        // Copied: the caller may read the next chunk into the same buffer.
        this.partial.push(Buffer.from(piece));
        this.partialLen += piece.length;
        if (this.partialLen > this.maxSize) this.overlong(out);
        continue;
      }
      const line = this.partial.length ? Buffer.concat([...this.partial, piece]) : piece;
      this.partial = [];
      this.partialLen = 0;
      this.line(line, out);
    }
    return out;
  }

  end(): MboxItem[] {
    const out: MboxItem[] = [];
    if (this.partial.length && !this.skipping) this.line(Buffer.concat(this.partial), out);
    this.partial = [];
    this.partialLen = 0;
    // A Content-Length that goes past the end of the file is wrong.
    if (this.bodyLength !== null && this.bodyRead !== this.bodyLength) this.uncover(out);
    this.flush(out);
    this.lines = null;
    return out;
  }

  private line(line: Buffer, out: MboxItem[]) {
    if (this.bodyLength !== null && this.checkLength(line, out)) return;
    if (this.prevBlank && isFromLine(line)) {
      this.begin(out);
      return;
    }
    this.prevBlank = isBlank(line);
    if (!this.lines) return;
    if (this.inHeaders) this.header(line);
    this.keep(line);
  }

  /** A header line of the current message: notes Content-Length; the blank line ends the header. */
  private header(line: Buffer) {
    if (!isBlank(line)) {
      const m = CONTENT_LENGTH.exec(line.toString('latin1'));
      if (m) this.headerLength = Number(m[1]);
      return;
    }
    this.inHeaders = false;
    // Only a body that fits the limit is checked against its length: the message is held meanwhile.
    if (this.headerLength !== null && this.size + 1 + this.headerLength <= this.maxSize) {
      this.bodyLength = this.headerLength;
      this.bodyRead = 0;
      this.covered = [];
    }
  }

  /**
   * A line while Content-Length is being checked: true when taken here (within the body, or the blank
   * lines and "From " line that show the length right); else the length is dropped and the line read as
   * in any mbox.
   */
  private checkLength(line: Buffer, out: MboxItem[]): boolean {
    const length = this.bodyLength!;
    const read = this.bodyRead + line.length + 1;
    if (read <= length) {
      if (this.prevBlank && isFromLine(line)) this.covered.push(this.lines!.length);
      this.bodyRead = read;
      this.prevBlank = isBlank(line);
      this.keep(line);
      return true;
    }
    if (this.bodyRead === length && isBlank(line)) {
      this.prevBlank = true;
      this.keep(line);
      return true;
    }
    if (this.bodyRead === length && isFromLine(line)) {
      this.bodyLength = null;
      this.covered = [];
      this.begin(out);
      return true;
    }
    this.uncover(out);
    return false;
  }

  /** The Content-Length was wrong: the message is split at the "From " lines it covered after all. */
  private uncover(out: MboxItem[]) {
    const cuts = this.covered;
    const lines = this.lines!;
    this.bodyLength = null;
    this.covered = [];
    // Within the length the message stays under maxSize (header checks it), so no line was dropped.
    if (cuts.length === 0 || this.tooBig) return;
    let from = 0;
    for (const cut of cuts) {
      this.emit(lines.slice(from, cut), out);
      from = cut + 1;
    }
    // The rest is the current message; a length in its header is not trusted again.
    this.lines = lines.slice(from);
    this.size = this.lines.reduce((n, l) => n + l.length + 1, 0);
    this.inHeaders = false;
  }

  private keep(line: Buffer) {
    // mboxrd: one ">" of a quoted ">*From " line is taken off.
    let quotes = 0;
    while (quotes < line.length && line[quotes] === 0x3e) quotes++;
    const text = quotes > 0 && isFromLine(line.subarray(quotes)) ? line.subarray(1) : line;
    this.size += text.length + 1;
    if (this.tooBig) return;
    if (this.size > this.maxSize) {
      this.tooBig = true;
      this.lines = [];
      return;
    }
    this.lines!.push(Buffer.from(text));
  }

  /** A line past maxSize without its end: a "From " line begins a message, anything else is too big. */
  private overlong(out: MboxItem[]) {
    // Longer than the body Content-Length allows: that length is wrong.
    if (this.bodyLength !== null) this.uncover(out);
    const head = Buffer.concat(this.partial).subarray(0, 5);
    if (this.prevBlank && isFromLine(head)) this.begin(out);
    else if (this.lines) {
      this.tooBig = true;
      this.lines = [];
    }
    this.prevBlank = false;
    this.partial = [];
    this.partialLen = 0;
    this.skipping = true;
  }

  private begin(out: MboxItem[]) {
    this.flush(out);
    this.lines = [];
    this.size = 0;
    this.tooBig = false;
    this.prevBlank = false;
    this.inHeaders = true;
    this.headerLength = null;
    this.bodyLength = null;
  }

  private flush(out: MboxItem[]) {
    if (!this.lines) return;
    if (this.tooBig) out.push({ tooBig: true });
    else this.emit(this.lines, out);
  }

  private emit(lines: Buffer[], out: MboxItem[]) {
    // The blank line before the next "From " separates messages; it is not part of the message.
    let n = lines.length;
    while (n > 0 && isBlank(lines[n - 1])) n--;
    out.push({ raw: crlf(Buffer.concat(lines.slice(0, n).flatMap((l) => [l, LF]))) });
  }
}

/** The messages of one file's content: an mbox gives each of its messages, anything else is one message. */
export function messagesInFile(data: Buffer): Buffer[] {
  if (!isFromLine(data.subarray(0, 5))) return [crlf(data)];
  const split = new MboxSplitter(Number.MAX_SAFE_INTEGER);
  return [...split.push(data), ...split.end()].flatMap((m) => ('raw' in m ? [m.raw] : []));
}
