// What a zip archive holds, read from its central directory (PKWARE APPNOTE 6.3.x, section 4.3.12) without
// decompressing anything: entry names and the "encrypted" general-purpose flag (bit 0). Read as unzip and
// 7-Zip read it: the end record found from the end of the file, Zip64's end record where the classic one
// says 0xFFFF/0xFFFFFFFF (4.3.14-4.3.15), data in front of the archive (a self-extractor) allowed for, and
// each entry's local header name judged too where it differs (some unarchivers extract by that name).
// Bounded: at most MAX_ENTRIES entries; a damaged archive yields what could be read plus `damaged: true`.
// And the one thing that is decompressed: archives inside the zip (zipInnerArchives), within a caller's
// allowance.
import { inflateRawSync } from 'node:zlib';

import type { ArchiveEntry } from './archive.ts';

export type ZipEntry = ArchiveEntry;

export interface ZipListing {
  entries: ZipEntry[];
  damaged: boolean;
  /** More entries than MAX_ENTRIES: those past it were not read. */
  truncated?: boolean;
}

const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_ENTRIES = 10000;
/** The end record's signature (0x06054b50), as it appears in the file. */
const EOCD_MARK = Buffer.from('PK\x05\x06', 'latin1');

/**
 * Whether `buf` is a zip: a local header at its start, or (data in front: a self-extractor, a zip appended
 * to another file) an end record whose central directory is where it says.
 */
export function isZip(buf: Buffer): boolean {
  return startsAsZip(buf) || centralDirectory(buf) !== null;
}

/** A local file header at octet 0: the usual zip. */
export function startsAsZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === LOCAL;
}

/** Offset of the end-of-central-directory record, or -1: it sits in the last 22 + 65535 (comment) octets. */
export function endOfCentralDirectory(buf: Buffer): number {
  if (buf.length < 22) return -1;
  const from = Math.max(0, buf.length - 22 - 65535);
  const at = buf.subarray(from, buf.length - 18).lastIndexOf(EOCD_MARK);
  return at < 0 ? -1 : from + at;
}

const u64 = (buf: Buffer, at: number) => Number(buf.readBigUInt64LE(at));
const isAt = (buf: Buffer, at: number, sig: number) => at >= 0 && at + 4 <= buf.length && buf.readUInt32LE(at) === sig;

/**
 * Where the central directory starts, how many entries it declares, and `shift`: octets of data in front
 * of the archive that its offsets do not count (what unzip calls "extra bytes at beginning"), added to
 * every offset the archive gives. Null when no end record leads to a central directory.
 */
function centralDirectory(buf: Buffer): { start: number; total: number; shift: number } | null {
  const eocd = endOfCentralDirectory(buf);
  if (eocd < 0) return null;
  let total = buf.readUInt16LE(eocd + 10);
  let size = buf.readUInt32LE(eocd + 12);
  let offset = buf.readUInt32LE(eocd + 16);
  let end = eocd;
  // Zip64 (section 4.3.14-4.3.15): a field at its maximum means "see the Zip64 end record", found through
  // the locator just before the classic end record (at the offset it gives, or right before the locator).
  if ((total === 0xffff || size === 0xffffffff || offset === 0xffffffff) && isAt(buf, eocd - 20, EOCD64_LOCATOR)) {
    const declared = u64(buf, eocd - 20 + 8);
    const z64 = [declared, eocd - 20 - 56].find((at) => at + 56 <= eocd && isAt(buf, at, EOCD64));
    if (z64 !== undefined) {
      total = Math.min(u64(buf, z64 + 32), Number.MAX_SAFE_INTEGER);
      size = u64(buf, z64 + 40);
      offset = u64(buf, z64 + 48);
      end = z64;
    }
  }
  if (isAt(buf, offset, CENTRAL)) return { start: offset, total, shift: 0 };
  // Data in front whose length the offsets leave out: the directory ends where the end record starts.
  const start = end - size;
  if (start > offset && isAt(buf, start, CENTRAL)) return { start, total, shift: start - offset };
  return null;
}

interface CentralEntry {
  name: string;
  flags: number;
  method: number;
  packed: number;
  size: number;
  /** Offset of the local header, `shift` applied. */
  local: number;
  /** Offset of the next central header. */
  next: number;
}

/** The central header at `off` (section 4.3.12), Zip64 sizes and offset from its extra field (4.5.3); null: none. */
function centralEntry(buf: Buffer, off: number, shift: number): CentralEntry | null {
  if (off + 46 > buf.length || buf.readUInt32LE(off) !== CENTRAL) return null;
  const flags = buf.readUInt16LE(off + 8);
  const nameLen = buf.readUInt16LE(off + 28);
  const extraLen = buf.readUInt16LE(off + 30);
  const nameEnd = off + 46 + nameLen;
  if (nameEnd > buf.length) return null;
  let packed = buf.readUInt32LE(off + 20);
  let size = buf.readUInt32LE(off + 24);
  let local = buf.readUInt32LE(off + 42);
  if (packed === 0xffffffff || size === 0xffffffff || local === 0xffffffff) {
    const z = zip64Extra(buf, nameEnd, Math.min(buf.length, nameEnd + extraLen));
    if (z) {
      // The fields present are those whose header value is at its maximum, in this order.
      let at = z.start;
      const next = () => (at + 8 <= z.end ? u64(buf, (at += 8) - 8) : undefined);
      if (size === 0xffffffff) size = next() ?? size;
      if (packed === 0xffffffff) packed = next() ?? packed;
      if (local === 0xffffffff) local = next() ?? local;
    }
  }
  return {
    // Bit 11: the name is UTF-8; otherwise CP437, read as latin1 (the ASCII we care about is the same).
    name: buf.toString(flags & 0x800 ? 'utf8' : 'latin1', off + 46, nameEnd),
    flags,
    method: buf.readUInt16LE(off + 10),
    packed,
    size,
    local: local + shift,
    next: nameEnd + extraLen + buf.readUInt16LE(off + 32),
  };
}

/** The data of the Zip64 extended information extra field (header ID 0x0001) between `from` and `to`. */
function zip64Extra(buf: Buffer, from: number, to: number): { start: number; end: number } | null {
  for (let at = from; at + 4 <= to; ) {
    const id = buf.readUInt16LE(at);
    const len = buf.readUInt16LE(at + 2);
    if (id === 0x0001) return { start: at + 4, end: Math.min(to, at + 4 + len) };
    at += 4 + len;
  }
  return null;
}

/** The name in the local header at `at` (section 4.3.7), or null when there is none there. */
function localName(buf: Buffer, at: number): string | null {
  if (at < 0 || at + 30 > buf.length || buf.readUInt32LE(at) !== LOCAL) return null;
  const flags = buf.readUInt16LE(at + 6);
  const end = at + 30 + buf.readUInt16LE(at + 26);
  return end > buf.length ? null : buf.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 30, end);
}

/** Lists a zip's entries; null when `buf` is not a zip at all. */
export function listZip(buf: Buffer): ZipListing | null {
  if (buf.length < 22) return null;
  const cd = centralDirectory(buf);
  if (!cd) return startsAsZip(buf) ? { entries: localEntries(buf), damaged: true } : null;
  const entries: ZipEntry[] = [];
  // A declared count at its maximum may be a Zip64 archive's without the Zip64 record: read until they stop.
  const limit = cd.total === 0xffff ? MAX_ENTRIES : Math.min(cd.total, MAX_ENTRIES);
  let off = cd.start;
  for (let n = 0; n < limit; n++) {
    const e = centralEntry(buf, off, cd.shift);
    if (!e) return { entries: entries.length ? entries : localEntries(buf), damaged: true };
    const encrypted = (e.flags & 1) === 1;
    entries.push({ name: e.name, encrypted, size: e.size });
    // libarchive (bsdtar) and The Unarchiver extract a file under its local header's name: judge that too.
    const local = localName(buf, e.local);
    if (local && local !== e.name) entries.push({ name: local, encrypted, size: e.size });
    off = e.next;
  }
  // The cap, not the directory, ended the walk: say so (the check scores what was left unread).
  if (cd.total > MAX_ENTRIES || (cd.total === 0xffff && centralEntry(buf, off, cd.shift)))
    return { entries, damaged: false, truncated: true };
  return { entries, damaged: false };
}

/** Fallback for archives without a readable central directory: walk the local file headers (section 4.3.7). */
function localEntries(buf: Buffer): ZipEntry[] {
  const out: ZipEntry[] = [];
  let off = 0;
  while (off + 30 <= buf.length && buf.readUInt32LE(off) === LOCAL && out.length < MAX_ENTRIES) {
    const flags = buf.readUInt16LE(off + 6);
    let packed = buf.readUInt32LE(off + 18);
    let size = buf.readUInt32LE(off + 22);
    const nameLen = buf.readUInt16LE(off + 26);
    const extraLen = buf.readUInt16LE(off + 28);
    const nameEnd = Math.min(buf.length, off + 30 + nameLen);
    // Zip64 (section 4.5.3): in a local header both sizes are in the extra field, uncompressed first.
    if (packed === 0xffffffff || size === 0xffffffff) {
      const z = zip64Extra(buf, nameEnd, Math.min(buf.length, nameEnd + extraLen));
      if (z && z.start + 16 <= z.end) {
        size = u64(buf, z.start);
        packed = u64(buf, z.start + 8);
      }
    }
    out.push({
      name: buf.toString(flags & 0x800 ? 'utf8' : 'latin1', off + 30, nameEnd),
      encrypted: (flags & 1) === 1,
      size,
    });
    // Bit 3: sizes follow the data in a descriptor; we cannot skip the data reliably, so stop here.
    if (flags & 8) break;
    off += 30 + nameLen + extraLen + packed;
  }
  return out;
}

/** Names of entries that are archives themselves ("a zip in a zip": the password or the .exe one level down). */
const INNER_ARCHIVE = /\.(zip|rar|7z|tar|gz|tgz)$/i;
/** Inner archives opened per zip. */
const MAX_INNER = 10;

/** The archives stored inside a zip (by name: .zip, .rar, .7z, .tar, .gz, .tgz); see zipExtract. */
export function zipInnerArchives(buf: Buffer, allowance: { unpacked: number }): { name: string; data: Buffer }[] {
  return zipExtract(buf, (name) => INNER_ARCHIVE.test(name), allowance, MAX_INNER);
}

/**
 * The entries of a zip whose names `wanted` accepts, stored or deflated, not encrypted, at most `max`,
 * each at most `allowance.unpacked` octets, which they are charged against (a failed inflate is charged
 * its declared size: the work was done); others are left unopened.
 */
export function zipExtract(
  buf: Buffer,
  wanted: (name: string) => boolean,
  allowance: { unpacked: number },
  max: number,
): { name: string; data: Buffer }[] {
  const out: { name: string; data: Buffer }[] = [];
  const cd = buf.length >= 22 ? centralDirectory(buf) : null;
  if (!cd) return out;
  let off = cd.start;
  const total = Math.min(cd.total, MAX_ENTRIES);
  for (let n = 0; n < total && out.length < max; n++) {
    const e = centralEntry(buf, off, cd.shift);
    if (!e) break;
    off = e.next;
    const { name, flags, method, packed, size, local } = e;
    if (!wanted(name) || flags & 1 || (method !== 0 && method !== 8) || size > allowance.unpacked) continue;
    // The local header's own name and extra lengths (section 4.3.7) say where the data starts.
    if (!isAt(buf, local, LOCAL) || local + 30 > buf.length) continue;
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, Math.min(buf.length, start + packed));
    try {
      const inner = method === 0 ? data : inflateRawSync(data, { maxOutputLength: Math.max(1, size) });
      allowance.unpacked -= inner.length;
      out.push({ name, data: inner });
    } catch {
      // Damaged, or larger than it said: left unopened.
      allowance.unpacked -= size;
    }
  }
  return out;
}
