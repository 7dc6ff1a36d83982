// DATA content (RFC 5321 section 4.1.1.4, 4.5.2): finds the end of data and removes dot-stuffing, one
// chunk at a time. Only CRLF "." CRLF ends the data; a bare LF or bare CR anywhere is noted (SMTP
// smuggling: a "<LF>.<LF>" or "<CR>.<CR>" that another server would take as the end is plain data here),
// and in "normalise" mode turned into CRLF. The longest line is measured on the way (RFC 5321 section
// 4.5.3.1.6: 998 octets of text, its line end and a stuffed dot not counted). Pure: no I/O.

const CR = 13;
const LF = 10;
const DOT = 46;

// At the beginning of a line (after CRLF, or the start of the data): a '.' may start the terminator.
const BOL = 0;
// BOL then '.': either dot-stuffing or the terminator.
const DOT_SEEN = 1;
// BOL '.' CR: LF ends the data.
const DOT_CR = 2;
// Inside a line.
const MID = 3;
// A CR inside a line, waiting for its LF.
const CR_SEEN = 4;
// The start of a line that followed a bare LF or CR: a leading dot is unstuffed but never ends the data.
const SOFT_BOL = 5;

const CRLF = Buffer.from('\r\n');

export interface DecodeResult {
  /** Octets of the message, unstuffed (subarrays of the input; copy before the input is reused). */
  out: Buffer[];
  /** Index in the input just after the terminator, or -1 when the data goes on. */
  end: number;
}

export class DotDecoder {
  private state = BOL;
  /** A bare LF was seen (a line ended without its CR). */
  bareLf = false;
  /** A bare CR was seen (a CR not followed by LF). */
  bareCr = false;
  /** Octets of the longest line so far, unstuffed, its line end excluded. */
  longestLine = 0;
  /** Octets of the current line so far. */
  private line = 0;
  private readonly normalise: boolean;

  constructor(opts: { normalise?: boolean } = {}) {
    this.normalise = opts.normalise ?? false;
  }

  /** What a bare line end becomes in the output: CRLF when normalising, else kept as the bare octet. */
  private bare(out: Buffer[], octet: number) {
    out.push(this.normalise ? CRLF : octet === LF ? LF_BUF : CR_BUF);
  }

  /** Feeds one chunk; stop feeding once `end` >= 0 (the rest of the chunk belongs to the next command). */
  feed(chunk: Buffer): DecodeResult {
    const out: Buffer[] = [];
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      const s = this.state;
      if (s === MID) {
        // Fast path: copy up to the next CR or LF in one piece.
        let j = i;
        while (j < n) {
          const c = chunk[j];
          if (c === CR || c === LF) break;
          j++;
        }
        if (j > i) {
          out.push(chunk.subarray(i, j));
          this.line += j - i;
          if (this.line > this.longestLine) this.longestLine = this.line;
        }
        if (j === n) return { out, end: -1 };
        this.line = 0;
        if (chunk[j] === CR) this.state = CR_SEEN;
        else {
          this.bareLf = true;
          this.bare(out, LF);
          this.state = SOFT_BOL;
        }
        i = j + 1;
        continue;
      }
      const c = chunk[i];
      if (s === CR_SEEN) {
        if (c === LF) {
          out.push(CRLF);
          this.state = BOL;
          i++;
        } else {
          // A CR not followed by LF: reprocess c at a soft line start.
          this.bareCr = true;
          this.bare(out, CR);
          this.state = SOFT_BOL;
        }
        continue;
      }
      if (s === DOT_CR) {
        if (c === LF) return { out, end: i + 1 };
        // "." CR x: the line held a lone dot and a bare CR; the stuffed dot is already dropped.
        this.bareCr = true;
        this.bare(out, CR);
        this.state = SOFT_BOL;
        continue;
      }
      if (s === DOT_SEEN) {
        if (c === CR) this.state = DOT_CR;
        else if (c === LF) {
          // "<CRLF>.<LF>": not the end of data.
          this.bareLf = true;
          this.bare(out, LF);
          this.state = SOFT_BOL;
        } else this.state = MID; // dot-stuffing: the dot is dropped, c is read as line content
        if (c === CR || c === LF) i++;
        continue;
      }
      // BOL or SOFT_BOL
      if (c === DOT) {
        this.state = s === BOL ? DOT_SEEN : MID;
        i++;
      } else if (c === CR) {
        this.state = CR_SEEN;
        i++;
      } else if (c === LF) {
        this.bareLf = true;
        this.bare(out, LF);
        this.state = SOFT_BOL;
        i++;
      } else this.state = MID;
    }
    return { out, end: -1 };
  }
}

const LF_BUF = Buffer.from([LF]);
const CR_BUF = Buffer.from([CR]);

/** Dot-stuffs a message for sending (RFC 5321 section 4.5.2) and appends the terminator; for tests and clients. */
export function dotStuff(message: Buffer): Buffer {
  const s = message.toString('latin1').replace(/(^|\r\n)\./g, '$1..');
  const body = s.endsWith('\r\n') || s === '' ? s : `${s}\r\n`;
  return Buffer.from(`${body}.\r\n`, 'latin1');
}
