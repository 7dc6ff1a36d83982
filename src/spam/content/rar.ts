// What a RAR archive holds, read from its block headers without decompressing anything: file names and
// whether each file is encrypted, or whether the headers themselves are (`rar -hp`: names hidden).
// Both formats in use: RAR 5.0 (RARLAB's "RAR 5.0 archive format": variable-length integers, an
// extra-area record of type 1 marks an encrypted file, a header of type 4 encrypts everything after it)
// and RAR 1.5-4.x (RARLAB's technote.txt: fixed-size fields, FILE_HEAD flag 0x04 for a password, MAIN_HEAD
// flag 0x80 for encrypted headers). Headers are walked from the start, data areas skipped by their
// declared sizes; at most MAX_ENTRIES files; whatever cannot be read ends the walk with `damaged: true`.
import type { ArchiveEntry, ArchiveListing } from './archive.ts';

const RAR4 = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00]);
const RAR5 = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);
const MAX_ENTRIES = 10000;
/** RAR 5 caps a header at 2 MB (its size field has at most 3 octets). */
const MAX_HEADER5 = 2 * 1024 * 1024;

class Damaged extends Error {}

/**
 * Lists a RAR archive (4 or 5); null when `buf` is not one. A self-extracting stub before the signature
 * is not searched (such a file is an executable, and judged as one).
 */
export function listRar(buf: Buffer): ArchiveListing | null {
  const v5 = buf.length >= RAR5.length && buf.subarray(0, RAR5.length).equals(RAR5);
  if (!v5 && !(buf.length >= RAR4.length && buf.subarray(0, RAR4.length).equals(RAR4))) return null;
  const listing: ArchiveListing = { entries: [], damaged: false, namesHidden: false };
  try {
    if (v5) walk5(buf, listing);
    else walk4(buf, listing);
  } catch (e) {
    if (!(e instanceof Damaged)) throw e;
    listing.damaged = true;
  }
  // The walk stops at the cap: whatever follows (one more file is enough) goes unread.
  if (listing.entries.length >= MAX_ENTRIES) listing.truncated = true;
  return listing;
}

/** A RAR 5 vint: 7 bits per octet, least significant first, the high bit says another octet follows. */
function vint(buf: Buffer, at: { pos: number }, end: number): number {
  let value = 0;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= end) throw new Damaged();
    const b = buf[at.pos++];
    value += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new Damaged();
      return value;
    }
  }
  throw new Damaged();
}

function walk5(buf: Buffer, out: ArchiveListing): void {
  let pos = RAR5.length;
  while (pos < buf.length && out.entries.length < MAX_ENTRIES) {
    const at = { pos: pos + 4 }; // past the header's CRC32
    const size = vint(buf, at, buf.length);
    const end = at.pos + size;
    if (size > MAX_HEADER5 || end > buf.length) throw new Damaged();
    const type = vint(buf, at, end);
    const flags = vint(buf, at, end);
    const extraSize = flags & 0x0001 ? vint(buf, at, end) : 0;
    const dataSize = flags & 0x0002 ? vint(buf, at, end) : 0;
    if (type === 4) {
      out.namesHidden = true; // the archive encryption header: every header after it is ciphertext
      return;
    }
    if (type === 5) return; // end of archive
    if (type === 2) {
      const entry = file5(buf, at, end, extraSize);
      if (entry) out.entries.push(entry);
    }
    pos = end + dataSize;
  }
}

/** A file header's name and sizes; its extra area says whether it is encrypted. Directories: null. */
function file5(buf: Buffer, at: { pos: number }, end: number, extraSize: number): ArchiveEntry | null {
  const fileFlags = vint(buf, at, end);
  const size = vint(buf, at, end);
  vint(buf, at, end); // attributes
  if (fileFlags & 0x0002) at.pos += 4; // mtime
  if (fileFlags & 0x0004) at.pos += 4; // data CRC32
  vint(buf, at, end); // compression information
  vint(buf, at, end); // host OS
  const nameLength = vint(buf, at, end);
  if (at.pos + nameLength > end) throw new Damaged();
  const name = buf.toString('utf8', at.pos, at.pos + nameLength);
  let encrypted = false;
  const extra = { pos: end - extraSize };
  if (extra.pos < at.pos + nameLength) throw new Damaged();
  while (extra.pos < end) {
    const recordSize = vint(buf, extra, end);
    const recordEnd = extra.pos + recordSize;
    if (recordEnd > end) throw new Damaged();
    if (vint(buf, extra, recordEnd) === 0x01) encrypted = true; // the file encryption record
    extra.pos = recordEnd;
  }
  return fileFlags & 0x0001 ? null : { name, encrypted, size };
}

const MAIN_HEAD = 0x73;
const FILE_HEAD = 0x74;
const ENDARC_HEAD = 0x7b;

function walk4(buf: Buffer, out: ArchiveListing): void {
  let pos = RAR4.length; // the signature is the marker block
  while (pos < buf.length && out.entries.length < MAX_ENTRIES) {
    if (pos + 7 > buf.length) throw new Damaged();
    const type = buf[pos + 2];
    const flags = buf.readUInt16LE(pos + 3);
    const size = buf.readUInt16LE(pos + 5);
    if (size < 7 || pos + size > buf.length) throw new Damaged();
    // ADD_SIZE (flag 0x8000): the data after the header; for a file, its packed size (low 32 bits).
    let add = flags & 0x8000 ? (size >= 11 ? buf.readUInt32LE(pos + 7) : 0) : 0;
    if (type === MAIN_HEAD && flags & 0x0080) {
      out.namesHidden = true; // MHD_PASSWORD: the block headers are encrypted
      return;
    }
    if (type === ENDARC_HEAD) return;
    if (type === FILE_HEAD) {
      if (size < 32) throw new Damaged();
      const nameSize = buf.readUInt16LE(pos + 26);
      let nameAt = pos + 32;
      if (flags & 0x0100) {
        add += buf.readUInt32LE(pos + 32) * 2 ** 32; // HIGH_PACK_SIZE for files over 4 GB
        nameAt += 8;
      }
      if (nameAt + nameSize > pos + size) throw new Damaged();
      const raw = buf.subarray(nameAt, nameAt + nameSize);
      // Flag 0x200: a Unicode name, as "ASCII name NUL encoded-Unicode", or UTF-8 when there is no NUL.
      const nul = raw.indexOf(0);
      const name =
        flags & 0x0200 && nul < 0 ? raw.toString('utf8') : raw.toString('latin1', 0, nul < 0 ? raw.length : nul);
      const directory = (flags & 0x00e0) === 0x00e0;
      if (!directory) out.entries.push({ name, encrypted: (flags & 0x0004) !== 0, size: buf.readUInt32LE(pos + 11) });
    }
    pos += size + add;
  }
}
