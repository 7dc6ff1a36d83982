// What a tar or a gzip attachment holds (Windows 11 opens both since 2023, and campaigns mail an .exe in
// them): a tar's file names read from its 512-octet headers (POSIX.1-2001 ustar, with its name prefix;
// GNU long names; pax "path" records), a gzip's from its header's FNAME (RFC 1952 section 2.3.1) and, when
// the gzip is a tar (a .tar.gz, a .tgz), the tar inside, inflated within the message's allowance. Nothing
// else is decompressed. Bounded: at most MAX_ENTRIES names; a damaged header ends the walk (`damaged`).
import { gunzipSync } from 'node:zlib';
import type { ArchiveBudget, ArchiveEntry, ArchiveListing } from './archive.ts';

const BLOCK = 512;
const MAX_ENTRIES = 10000;
/** A long name (GNU 'L', pax 'x') longer than this is not read as one. */
const MAX_LONG_NAME = 64 * 1024;

/** A NUL-terminated header field as text. */
function field(buf: Buffer, at: number, length: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('utf8', at, end < 0 || end > at + length ? at + length : end);
}

/** A numeric field: octal digits (blanks and NULs around them), or base-256 when its first bit is set (GNU). */
function number(buf: Buffer, at: number, length: number): number | null {
  if (buf[at] & 0x80) {
    let v = buf[at] & 0x7f;
    for (let i = 1; i < length; i++) v = v * 256 + buf[at + i];
    return Number.isSafeInteger(v) ? v : null;
  }
  const s = buf
    .toString('latin1', at, at + length)
    .replace(/[\0 ]+$/, '')
    .trim();
  return /^[0-7]*$/.test(s) ? (s ? Number.parseInt(s, 8) : 0) : null;
}

/** Whether the 512 octets at `at` are a tar header: its checksum (octets summed, the field as blanks) holds. */
function isHeader(buf: Buffer, at: number): boolean {
  if (at + BLOCK > buf.length) return false;
  const stored = number(buf, at + 148, 8);
  if (stored === null) return false;
  let sum = 8 * 0x20;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += buf[at + i];
  return sum === stored;
}

/** Whether `buf` starts as a tar: a first header whose checksum holds. */
export function isTar(buf: Buffer): boolean {
  return isHeader(buf, 0);
}

/** The "path" record of a pax extended header ("<length> path=<name>\n" records). */
function paxPath(data: Buffer): string | null {
  const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
  return m ? m[1] : null;
}

/** Lists a tar's files; null when `buf` is not a tar. */
export function listTar(buf: Buffer): ArchiveListing | null {
  if (!isTar(buf)) return null;
  const out: ArchiveListing = { entries: [], damaged: false, namesHidden: false };
  let longName: string | null = null;
  for (let at = 0; at + BLOCK <= buf.length; ) {
    if (buf[at] === 0 && buf.subarray(at, at + BLOCK).every((b) => b === 0)) break; // the end blocks
    if (!isHeader(buf, at)) {
      out.damaged = true;
      break;
    }
    const size = number(buf, at + 124, 12);
    if (size === null) {
      out.damaged = true;
      break;
    }
    const type = String.fromCharCode(buf[at + 156]);
    const data = at + BLOCK;
    if (type === 'L' || type === 'x') {
      // The next header's name, given whole: a GNU long name, or a pax record (POSIX.1-2001 "path").
      const body = buf.subarray(data, Math.min(buf.length, data + Math.min(size, MAX_LONG_NAME)));
      longName = type === 'L' ? field(body, 0, body.length) : paxPath(body);
    } else if (type !== 'g' && type !== 'K') {
      // ustar (magic "ustar" at 257): a prefix at 345 goes in front of the name.
      const prefix = buf.toString('latin1', at + 257, at + 262) === 'ustar' ? field(buf, at + 345, 155) : '';
      const name = longName ?? (prefix ? `${prefix}/${field(buf, at, 100)}` : field(buf, at, 100));
      longName = null;
      if (type !== '5') out.entries.push({ name, encrypted: false, size });
      if (out.entries.length >= MAX_ENTRIES) {
        out.truncated = data + Math.ceil(size / BLOCK) * BLOCK + BLOCK <= buf.length;
        break;
      }
    }
    at = data + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const FEXTRA = 0x04;
const FNAME = 0x08;

/** Whether `buf` is a gzip member (RFC 1952 section 2.3.1: ID1 ID2, deflate). */
export function isGzip(buf: Buffer): boolean {
  return buf.length > 18 && buf[0] === GZIP_MAGIC[0] && buf[1] === GZIP_MAGIC[1] && buf[2] === 8;
}

/**
 * Lists a gzip: the tar inside it (inflated within `budget`: a tar larger than what is left goes unread),
 * else the one file it holds, under its header's FNAME, or, without one, under `label` less its last
 * extension, as gunzip names it (invoice.exe.gz holds invoice.exe) and rspamd reads it.
 */
export function listGzip(buf: Buffer, budget: ArchiveBudget, label = ''): ArchiveListing | null {
  if (!isGzip(buf)) return null;
  const flags = buf[3];
  let name = '';
  let at = 10;
  if (flags & FEXTRA) at += 2 + buf.readUInt16LE(at);
  if (flags & FNAME && at < buf.length) {
    const end = buf.indexOf(0, at);
    if (end > at) name = buf.toString('latin1', at, end);
  }
  const size = buf.readUInt32LE(buf.length - 4); // ISIZE: the size modulo 2^32, as the sender says
  if (budget.unpacked > 0) {
    // Bounded by what is left of the allowance, not by ISIZE, which a sender can write too small.
    try {
      const inner = gunzipSync(buf, { maxOutputLength: budget.unpacked });
      budget.unpacked -= inner.length;
      const tar = listTar(inner);
      if (tar) return tar;
    } catch (e) {
      // Larger than what was left: that much was inflated. Damaged: it stopped early, near its input's size.
      const tooLarge = (e as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      budget.unpacked = tooLarge ? 0 : Math.max(0, budget.unpacked - buf.length);
    }
  }
  const base = label.replace(/^.*[/\\]/, '');
  if (!name && base.lastIndexOf('.') > 0) name = base.slice(0, base.lastIndexOf('.'));
  const entries: ArchiveEntry[] = name ? [{ name, encrypted: false, size }] : [];
  return { entries, damaged: false, namesHidden: false };
}
