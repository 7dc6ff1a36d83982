// Messages from files for bulk training and `petrel spam check`: a Maildir (cur/ and new/), an mbox file
// (split by mbox.ts), a folder of .eml/.txt files, or one message file, each possibly gzipped (as Dovecot's
// zlib plugin and log rotation leave them). Each comes out as stored: no mbox envelope line, CRLF line ends.
// Files are read in chunks and an mbox one message at a time (as sa-learn --mbox does), so memory stays
// bounded by the largest message allowed whatever the file's size; what cannot be read (a directory, a
// dangling link, a message over the limit, an empty file) is reported and skipped, not fatal.
import { readdirSync, statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline, Readable } from 'node:stream';
import { createGunzip, constants as zlibConstants } from 'node:zlib';
import { crlf, isFromLine, type MboxItem, MboxSplitter } from './mbox.ts';

const MESSAGE_EXT = new Set(['.eml', '.txt', '.msg', '.mbox', '.mbx', '.gz', '']);
/** RFC 1952 section 2.3.1: ID1 ID2. */
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

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
  if (err.code?.startsWith('Z_')) return `not a readable gzip file (${err.message})`;
  switch (err.code) {
    case 'ENOENT':
      return 'no such file (or a dangling link)';
    case 'EISDIR':
      return 'a directory';
    case 'EACCES':
      return 'permission denied';
    case 'ELOOP':
      return 'a loop of symbolic links';
    default:
      return err.message;
  }
};

/** A file's octets in chunks (fresh buffers: a consumer may keep them). */
async function* chunksOf(fh: FileHandle, chunkSize: number): AsyncGenerator<Buffer> {
  for (;;) {
    const buf = Buffer.allocUnsafe(chunkSize);
    const { bytesRead } = await fh.read(buf, 0, chunkSize, null);
    if (bytesRead === 0) return;
    yield buf.subarray(0, bytesRead);
  }
}

/**
 * The first octets of a stream, at least `n` unless it ends first, and the rest of it. (Not for await
 * with a break: that would close the stream.)
 */
async function startOf(
  chunks: AsyncIterator<Buffer>,
  n: number,
): Promise<{ head: Buffer; rest: () => AsyncGenerator<Buffer> }> {
  let head: Buffer = Buffer.alloc(0);
  let done = false;
  while (head.length < n && !done) {
    const r = await chunks.next();
    if (r.done) done = true;
    else head = head.length ? Buffer.concat([head, r.value]) : r.value;
  }
  const rest = async function* () {
    while (!done) {
      const r = await chunks.next();
      if (r.done) return;
      yield r.value;
    }
  };
  return { head, rest };
}

/** A file's content in chunks: gunzipped as it is read when it starts with the gzip magic. */
async function* contentOf(fh: FileHandle, chunkSize: number): AsyncGenerator<Buffer> {
  const { head, rest } = await startOf(chunksOf(fh, chunkSize), GZIP_MAGIC.length);
  if (!head.subarray(0, GZIP_MAGIC.length).equals(GZIP_MAGIC)) {
    if (head.length) yield head;
    yield* rest();
    return;
  }
  const source = Readable.from(
    (async function* () {
      yield head;
      yield* rest();
    })(),
  );
  // pipeline destroys both streams on an error, which the loop below then throws.
  const gunzip = pipeline(
    source,
    createGunzip({ chunkSize: Math.max(chunkSize, zlibConstants.Z_MIN_CHUNK) }),
    () => {},
  );
  for await (const c of gunzip) yield c as Buffer;
}

/** The messages of a file's content: an mbox's each in turn, else the content as one message. */
async function* messagesOf(file: string, content: AsyncIterator<Buffer>, maxSize: number): AsyncGenerator<FileMessage> {
  // Enough of the start to tell an mbox ("From " at the very start) from a message file.
  const { head, rest } = await startOf(content, 5);
  if (head.length === 0) {
    yield { file, skipped: 'empty' };
    return;
  }
  if (!isFromLine(head)) {
    const parts = [head];
    let total = head.length;
    for await (const c of rest()) {
      total += c.length;
      if (total > maxSize) break;
      parts.push(c);
    }
    if (total > maxSize) yield { file, skipped: `larger than ${maxSize} octets` };
    else yield { file, raw: crlf(Buffer.concat(parts)) };
    return;
  }
  const split = new MboxSplitter(maxSize);
  let index = 0;
  const give = function* (items: MboxItem[]): Generator<FileMessage> {
    for (const m of items) {
      index++;
      if ('raw' in m) yield { file, raw: m.raw };
      else yield { file, skipped: `message ${index} is larger than ${maxSize} octets` };
    }
  };
  yield* give(split.push(head));
  for await (const c of rest()) yield* give(split.push(c));
  yield* give(split.end());
}

/** The messages of one file, read in chunks: one for a message file, each of an mbox's in turn. */
export async function* readFileMessages(path: FilePath, opts: ReadOptions): AsyncGenerator<FileMessage> {
  const file = shown(path);
  let fh: FileHandle;
  try {
    // stat before open: opening a FIFO would wait for a writer.
    if (!(await stat(path)).isFile()) {
      yield { file, skipped: 'not a regular file' };
      return;
    }
    fh = await open(path, 'r');
  } catch (e) {
    yield { file, skipped: reason(e) };
    return;
  }
  const content = contentOf(fh, opts.chunkSize ?? 1 << 20);
  try {
    yield* messagesOf(file, content, opts.maxSize);
  } catch (e) {
    yield { file, skipped: reason(e) };
  } finally {
    // A message file over the limit is left unread: its gunzip stream is ended before the file is closed.
    await content.return(undefined);
    await fh.close();
  }
}

/** The first message of a file (`spam check`), or why there is none; the file is closed either way. */
export async function firstMessage(file: string, opts: ReadOptions): Promise<FileMessage> {
  for await (const m of readFileMessages(file, opts)) return m;
  return { file, skipped: 'no message in it' };
}

/** Every message under a path, lazily, with the file it came from; what cannot be read comes as skipped. */
export async function* readMessages(path: string, opts: ReadOptions): AsyncGenerator<FileMessage> {
  let files: FilePath[];
  try {
    files = messageFiles(path);
  } catch (e) {
    // A folder that cannot be listed (its permissions, a Maildir's cur/ gone meanwhile).
    yield { file: path, skipped: reason(e) };
    return;
  }
  for (const file of files) yield* readFileMessages(file, opts);
}
