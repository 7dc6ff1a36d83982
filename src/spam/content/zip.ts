// What a zip archive holds, read from its central directory (PKWARE APPNOTE 6.3.x, section 4.3.12) without
// decompressing anything: entry names and the "encrypted" general-purpose flag (bit 0). Bounded: at most
// MAX_ENTRIES entries; a damaged archive yields what could be read plus `damaged: true`. And the one
// thing that is decompressed: archives inside the zip (zipInnerArchives), within a caller's allowance.
import { inflateRawSync } from 'node:zlib';

import type { ArchiveEntry } from './archive.ts';

export type ZipEntry = ArchiveEntry;

export interface ZipListing {
  entries: ZipEntry[];
  damaged: boolean;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const MAX_ENTRIES = 10000;

export function isZip(buf: Buffer): boolean {
  return buf.length >= 4 && buf.readUInt32LE(0) === 0x04034b50;
}

/** Offset of the end-of-central-directory record, or -1: it sits in the last 22 + 65535 (comment) octets. */
export function endOfCentralDirectory(buf: Buffer): number {
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--)
    if (buf.readUInt32LE(i) === EOCD) return i;
  return -1;
}

/** Lists a zip's entries; null when `buf` is not a zip at all. */
export function listZip(buf: Buffer): ZipListing | null {
  if (buf.length < 22) return null;
  const eocd = endOfCentralDirectory(buf);
  if (eocd < 0) return isZip(buf) ? { entries: localEntries(buf), damaged: true } : null;
  const total = buf.readUInt16LE(eocd + 10);
  let off = buf.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  // 0xFFFF / 0xFFFFFFFF mean Zip64; the records are the same, we just read until they stop.
  const limit = total === 0xffff ? MAX_ENTRIES : Math.min(total, MAX_ENTRIES);
  for (let n = 0; n < limit; n++) {
    if (off + 46 > buf.length || buf.readUInt32LE(off) !== CENTRAL)
      return { entries: entries.length ? entries : localEntries(buf), damaged: true };
    const flags = buf.readUInt16LE(off + 8);
    const size = buf.readUInt32LE(off + 24);
    const nameLen = buf.readUInt16LE(off + 28);
    const extraLen = buf.readUInt16LE(off + 30);
    const commentLen = buf.readUInt16LE(off + 32);
    const nameEnd = off + 46 + nameLen;
    if (nameEnd > buf.length) return { entries, damaged: true };
    // Bit 11: the name is UTF-8; otherwise CP437, read as latin1 (the ASCII we care about is the same).
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', off + 46, nameEnd);
    entries.push({ name, encrypted: (flags & 1) === 1, size });
    off = nameEnd + extraLen + commentLen;
  }
  return { entries, damaged: false };
}

/** Fallback for archives without a readable central directory: walk the local file headers (section 4.3.7). */
function localEntries(buf: Buffer): ZipEntry[] {
  const out: ZipEntry[] = [];
  let off = 0;
  while (off + 30 <= buf.length && buf.readUInt32LE(off) === 0x04034b50 && out.length < MAX_ENTRIES) {
    const flags = buf.readUInt16LE(off + 6);
    const size = buf.readUInt32LE(off + 18);
    const nameLen = buf.readUInt16LE(off + 26);
    const extraLen = buf.readUInt16LE(off + 28);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', off + 30, Math.min(buf.length, off + 30 + nameLen));
    out.push({ name, encrypted: (flags & 1) === 1, size });
    // Bit 3: sizes follow the data in a descriptor; we cannot skip the data reliably, so stop here.
    if (flags & 8) break;
    off += 30 + nameLen + extraLen + size;
  }
  return out;
}

/** Names of entries that are archives themselves ("a zip in a zip": the password or the .exe one level down). */
const INNER_ARCHIVE = /\.(zip|rar|7z)$/i;
/** Inner archives opened per zip. */
const MAX_INNER = 10;

/** The archives stored inside a zip (by name: .zip, .rar, .7z); see zipExtract. */
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
  const eocd = buf.length >= 22 ? endOfCentralDirectory(buf) : -1;
  if (eocd < 0) return out;
  let off = buf.readUInt32LE(eocd + 16);
  const total = Math.min(buf.readUInt16LE(eocd + 10), MAX_ENTRIES);
  for (let n = 0; n < total && out.length < max; n++) {
    if (off + 46 > buf.length || buf.readUInt32LE(off) !== CENTRAL) break;
    const flags = buf.readUInt16LE(off + 8);
    const method = buf.readUInt16LE(off + 10);
    const packed = buf.readUInt32LE(off + 20);
    const size = buf.readUInt32LE(off + 24);
    const nameLen = buf.readUInt16LE(off + 28);
    const local = buf.readUInt32LE(off + 42);
    const nameEnd = Math.min(buf.length, off + 46 + nameLen);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', off + 46, nameEnd);
    off = nameEnd + buf.readUInt16LE(off + 30) + buf.readUInt16LE(off + 32);
    if (!wanted(name) || flags & 1 || (method !== 0 && method !== 8) || size > allowance.unpacked) continue;
    // The local header's own name and extra lengths (section 4.3.7) say where the data starts.
    if (local + 30 > buf.length || buf.readUInt32LE(local) !== 0x04034b50) continue;
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
