// Messages from files for bulk training and `petrel spam check`: a Maildir (cur/ and new/), an mbox file
// (split at "From " lines, mboxrd ">From " unescaped), a folder of .eml/.txt files, or one message file.
// Each comes out as stored: no mbox envelope line, CRLF line ends. Files are read in chunks and an mbox one
// message at a time (as sa-learn --mbox does), so memory stays bounded by the largest message allowed
// whatever the file's size; what cannot be read (a directory, a dangling link, a message over the limit) is
// reported and skipped, not fatal.
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

const MESSAGE_EXT = new Set(['.eml', '.txt', '.msg', '.mbox', '.mbx', '']);
const FROM_ = Buffer.from('From ', 'latin1');
const LF = Buffer.from('\n');

/** A message as stored: CRLF line ends (bare LF or CR become CRLF). */
export function crlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** One message of an mbox, or the note that one was over the size limit (its content dropped). */
export type MboxItem = { raw: Buffer } | { tooBig: true };

const isFromLine = (b: Buffer) => b.length >= 5 && b.subarray(0, 5).equals(FROM_);
const isBlank = (b: Buffer) => b.length === 0 || (b.length === 1 && b[0] === 0x0d);

/**
 * Splits an mbox fed in chunks of any size into its messages. A message starts at a "From " line at the
 * start or after a blank line (mboxo/mboxrd); the blank line before it is not part of the previous one.
 * Holds at most one message of up to maxSize octets and one line: a longer message is read to its end
 * and given as tooBig.
 */
export class MboxSplitter {
  private readonly maxSize: number;
  /** The current message's lines, without their LF; null before the first "From " line. */
  private lines: Buffer[] | null = null;
  private size = 0;
  private tooBig = false;
  private prevBlank = true;
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
    this.flush(out);
    this.lines = null;
    return out;
  }

  private line(line: Buffer, out: MboxItem[]) {
    if (this.prevBlank && isFromLine(line)) {
      this.begin(out);
      return;
    }
    this.prevBlank = isBlank(line);
    if (!this.lines) return;
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
    this.lines.push(Buffer.from(text));
  }

  /** A line past maxSize without its end: a "From " line begins a message, anything else is too big. */
  private overlong(out: MboxItem[]) {
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
  }

  private flush(out: MboxItem[]) {
    const lines = this.lines;
    if (!lines) return;
    if (this.tooBig) {
      out.push({ tooBig: true });
      return;
    }
    // The blank line before the next "From " separates messages; it is not part of the message.
    while (lines.length && isBlank(lines[lines.length - 1])) lines.pop();
    out.push({ raw: crlf(Buffer.concat(lines.flatMap((l) => [l, LF]))) });
  }
}

/** The messages of one file's content: an mbox gives each of its messages, anything else is one message. */
export function messagesInFile(data: Buffer): Buffer[] {
  if (!isFromLine(data.subarray(0, 5))) return [crlf(data)];
  const split = new MboxSplitter(Number.MAX_SAFE_INTEGER);
  return [...split.push(data), ...split.end()].flatMap((m) => ('raw' in m ? [m.raw] : []));
}

/** A file's path: text, or its octets when its name is not UTF-8 (as text it would name no file). */
export type FilePath = string | Buffer;

/** The path shown to the admin (a name that is not UTF-8 shows U+FFFD where its octets are not). */
const shown = (p: FilePath) => (typeof p === 'string' ? p : p.toString('utf8'));

/** The entries of a directory, in octet order; a name that is not UTF-8 keeps its octets. */
function entries(dir: string): { name: string; path: FilePath }[] {
  return readdirSync(dir, { encoding: 'buffer' })
    .sort(Buffer.compare)
    .map((raw) => {
      const name = raw.toString('utf8');
      const utf8 = Buffer.from(name, 'utf8').equals(raw);
      return { name, path: utf8 ? join(dir, name) : Buffer.concat([Buffer.from(join(dir, '/')), raw]) };
    });
}

/**
 * Files holding messages under a path: Maildir cur/ and new/, a folder's message files, or the file. The
 * entries are not checked: readFileMessages says which are no readable files. Throws when path is missing.
 */
export function messageFiles(path: string): FilePath[] {
  const st = statSync(path);
  if (!st.isDirectory()) return [path];
  const all = entries(path);
  const names = new Set(all.map((e) => e.name));
  if (names.has('cur') || names.has('new')) {
    const out: FilePath[] = [];
    for (const sub of ['cur', 'new'])
      if (names.has(sub)) for (const e of entries(join(path, sub))) if (!e.name.startsWith('.')) out.push(e.path);
    return out;
  }
  return all
    .filter((e) => !e.name.startsWith('.') && MESSAGE_EXT.has(extname(e.name).toLowerCase()))
    .map((e) => e.path);
}

/** A message read from a file, or why (part of) a file was skipped. */
export type FileMessage = { file: string; raw: Buffer } | { file: string; skipped: string };

export interface ReadOptions {
  /** Larger messages are skipped (the largest the server accepts). */
  maxSize: number;
  /** Octets read at a time (tests use small ones). */
  chunkSize?: number;
}

const reason = (e: unknown) => {
  const err = e as NodeJS.ErrnoException;
  return err.code === 'ENOENT'
    ? 'no such file (or a dangling link)'
    : err.code === 'EISDIR'
      ? 'a directory'
      : err.message;
};

/** The messages of one file, read in chunks: one for a message file, each of an mbox's in turn. */
export function* readFileMessages(path: FilePath, opts: ReadOptions): Generator<FileMessage> {
  const file = shown(path);
  const chunkSize = opts.chunkSize ?? 1 << 20;
  let fd: number;
  try {
    // stat before open: opening a FIFO would wait for a writer.
    if (!statSync(path).isFile()) {
      yield { file, skipped: 'not a regular file' };
      return;
    }
    fd = openSync(path, 'r');
  } catch (e) {
    yield { file, skipped: reason(e) };
    return;
  }
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(chunkSize);
    const read = () => readSync(fd, buf, 0, chunkSize, null);
    let n = read();
    // Enough of the start to tell an mbox ("From " at the very start) from a message file.
    let head = Buffer.from(buf.subarray(0, n));
    while (n > 0 && head.length < 5) {
      n = read();
      head = Buffer.concat([head, buf.subarray(0, n)]);
    }
    if (!isFromLine(head)) {
      if (size > opts.maxSize) {
        yield { file, skipped: `larger than ${opts.maxSize} octets` };
        return;
      }
      const parts = [head];
      let total = head.length;
      while (n > 0 && (n = read()) > 0) {
        total += n;
        if (total > opts.maxSize) {
          yield { file, skipped: `larger than ${opts.maxSize} octets` };
          return;
        }
        parts.push(Buffer.from(buf.subarray(0, n)));
      }
      yield { file, raw: crlf(Buffer.concat(parts)) };
      return;
    }
    const split = new MboxSplitter(opts.maxSize);
    let index = 0;
    const give = function* (items: MboxItem[]): Generator<FileMessage> {
      for (const m of items) {
        index++;
        if ('raw' in m) yield { file, raw: m.raw };
        else yield { file, skipped: `message ${index} is larger than ${opts.maxSize} octets` };
      }
    };
    yield* give(split.push(head));
    while (n > 0 && (n = read()) > 0) yield* give(split.push(buf.subarray(0, n)));
    yield* give(split.end());
  } catch (e) {
    yield { file, skipped: reason(e) };
  } finally {
    closeSync(fd);
  }
}

/** The first message of a file (`spam check`), or why there is none; the file is closed either way. */
export function firstMessage(file: string, opts: ReadOptions): FileMessage {
  for (const m of readFileMessages(file, opts)) return m;
  return { file, skipped: 'no message in it' };
}

/** Every message under a path, lazily, with the file it came from; what cannot be read comes as skipped. */
export function* readMessages(path: string, opts: ReadOptions): Generator<FileMessage> {
  for (const file of messageFiles(path)) yield* readFileMessages(file, opts);
}
