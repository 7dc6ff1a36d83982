// What a 7z archive holds, read from its header (7-Zip's 7zFormat.txt) without decompressing any file:
// the file names and whether the files or the header itself are encrypted (an AES-256 coder,
// 06 F1 07 01, in a folder). 7-Zip compresses the header with LZMA by default, so that is decoded (at
// most MAX_HEADER octets); a header encrypted with `-mhe` hides the names and says "encrypted" by
// itself. Bounded like the zip reader: at most MAX_ENTRIES names; anything unreadable ends the listing
// with `damaged: true`, never an exception.
import type { ArchiveBudget, ArchiveEntry, ArchiveListing } from './archive.ts';
import { LzmaError, lzmaDecode } from './lzma.ts';

const SIGNATURE = Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]);
const MAX_HEADER = 4 * 1024 * 1024;
const MAX_ENTRIES = 10000;
const MAX_FOLDERS = 10000;
const MAX_CODERS = 32;
const AES = '06f10701';
const LZMA = '030101';

// Property ids (7zFormat.txt, "Property IDs").
const K_END = 0x00;
const K_HEADER = 0x01;
const K_ARCHIVE_PROPERTIES = 0x02;
const K_ADDITIONAL_STREAMS = 0x03;
const K_MAIN_STREAMS = 0x04;
const K_FILES_INFO = 0x05;
const K_PACK_INFO = 0x06;
const K_UNPACK_INFO = 0x07;
const K_SUBSTREAMS = 0x08;
const K_SIZE = 0x09;
const K_CRC = 0x0a;
const K_FOLDER = 0x0b;
const K_CODERS_UNPACK_SIZE = 0x0c;
const K_NUM_UNPACK_STREAM = 0x0d;
const K_EMPTY_STREAM = 0x0e;
const K_NAME = 0x11;
const K_ENCODED_HEADER = 0x17;

class Damaged extends Error {}

export function is7z(buf: Buffer): boolean {
  return buf.length >= 6 && buf.subarray(0, 6).equals(SIGNATURE);
}

/** Reads the header's octets, 7z NUMBERs and bit vectors; every read is bounds-checked. */
class Reader {
  pos = 0;
  readonly buf: Buffer;

  constructor(buf: Buffer) {
    this.buf = buf;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new Damaged();
    return this.buf[this.pos++];
  }

  bytes(n: number): Buffer {
    if (n < 0 || this.pos + n > this.buf.length) throw new Damaged();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** A NUMBER: the count of leading 1 bits of the first octet says how many octets follow (little-endian). */
  number(): number {
    const first = this.byte();
    let mask = 0x80;
    let value = 0;
    for (let i = 0; i < 8; i++) {
      if ((first & mask) === 0) {
        value += (first & (mask - 1)) * 2 ** (8 * i);
        break;
      }
      value += this.byte() * 2 ** (8 * i);
      mask >>>= 1;
    }
    if (!Number.isSafeInteger(value)) throw new Damaged();
    return value;
  }

  /** A count that sizes what follows: bounded so a forged one cannot make us allocate or loop forever. */
  count(max: number): number {
    const n = this.number();
    if (n > max) throw new Damaged();
    return n;
  }

  /** n bits, most significant first in each octet. */
  bits(n: number): boolean[] {
    const out: boolean[] = [];
    let b = 0;
    for (let i = 0; i < n; i++) {
      if (i % 8 === 0) b = this.byte();
      out.push((b & (0x80 >>> (i % 8))) !== 0);
    }
    return out;
  }

  /** An "all defined" octet, else a bit vector: which of n items carry the value that follows. */
  defined(n: number): boolean[] {
    return this.byte() !== 0 ? new Array(n).fill(true) : this.bits(n);
  }

  /** kCRC's digests for n items: skipped, but which items have one is returned. */
  digests(n: number): boolean[] {
    const d = this.defined(n);
    for (const x of d) if (x) this.bytes(4);
    return d;
  }
}

interface Coder {
  id: string;
  props: Buffer;
}

interface Folder {
  coders: Coder[];
  unpackSizes: number[];
  crc: boolean;
}

interface StreamsInfo {
  packPos: number;
  packSizes: number[];
  folders: Folder[];
}

function folder(r: Reader): Folder {
  const coders: Coder[] = [];
  let inStreams = 0;
  let outStreams = 0;
  const n = r.count(MAX_CODERS);
  for (let i = 0; i < n; i++) {
    const flags = r.byte();
    if (flags & 0x80) throw new Damaged(); // "alternative methods": not used by any 7-Zip since 2005
    const id = r.bytes(flags & 0x0f).toString('hex');
    const complex = (flags & 0x10) !== 0;
    inStreams += complex ? r.count(MAX_CODERS) : 1;
    outStreams += complex ? r.count(MAX_CODERS) : 1;
    const props = flags & 0x20 ? r.bytes(r.count(1024)) : Buffer.alloc(0);
    coders.push({ id, props });
  }
  if (outStreams === 0) throw new Damaged();
  const bindPairs = outStreams - 1;
  for (let i = 0; i < bindPairs; i++) {
    r.number();
    r.number();
  }
  const packed = inStreams - bindPairs;
  if (packed < 1) throw new Damaged();
  if (packed > 1) for (let i = 0; i < packed; i++) r.number();
  return { coders, unpackSizes: new Array(outStreams).fill(0), crc: false };
}

function streamsInfo(r: Reader): StreamsInfo {
  const info: StreamsInfo = { packPos: 0, packSizes: [], folders: [] };
  for (;;) {
    const id = r.byte();
    if (id === K_END) return info;
    if (id === K_PACK_INFO) {
      info.packPos = r.number();
      const n = r.count(MAX_FOLDERS * MAX_CODERS);
      for (let t = r.byte(); t !== K_END; t = r.byte()) {
        if (t === K_SIZE) for (let i = 0; i < n; i++) info.packSizes.push(r.number());
        else if (t === K_CRC) r.digests(n);
        else throw new Damaged();
      }
    } else if (id === K_UNPACK_INFO) {
      if (r.byte() !== K_FOLDER) throw new Damaged();
      const n = r.count(MAX_FOLDERS);
      if (r.byte() !== 0) throw new Damaged(); // folders kept in another stream: no 7-Zip writes that
      for (let i = 0; i < n; i++) info.folders.push(folder(r));
      if (r.byte() !== K_CODERS_UNPACK_SIZE) throw new Damaged();
      for (const f of info.folders) for (let i = 0; i < f.unpackSizes.length; i++) f.unpackSizes[i] = r.number();
      for (let t = r.byte(); t !== K_END; t = r.byte()) {
        if (t !== K_CRC) throw new Damaged();
        r.digests(n).forEach((d, i) => {
          info.folders[i].crc = d;
        });
      }
    } else if (id === K_SUBSTREAMS) subStreams(r, info.folders);
    else throw new Damaged();
  }
}

/** SubStreamsInfo: only read past (the files' sizes and CRCs), but its digest count depends on the folders. */
function subStreams(r: Reader, folders: Folder[]): void {
  let streams = folders.map(() => 1);
  for (let t = r.byte(); t !== K_END; t = r.byte()) {
    if (t === K_NUM_UNPACK_STREAM) streams = folders.map(() => r.count(MAX_ENTRIES * 10));
    else if (t === K_SIZE) for (const n of streams) for (let i = 1; i < n; i++) r.number();
    else if (t === K_CRC) {
      let n = 0;
      folders.forEach((f, i) => {
        if (streams[i] !== 1 || !f.crc) n += streams[i];
      });
      r.digests(n);
    } else throw new Damaged();
  }
}

/** FilesInfo: names (UTF-16LE, NUL-terminated) and which entries have no data stream (directories, empty files). */
function filesInfo(r: Reader): { names: string[]; empty: boolean[]; declared: number } {
  const n = r.number();
  let names: string[] = [];
  let empty: boolean[] = [];
  for (;;) {
    const type = r.number();
    if (type === K_END) break;
    const data = new Reader(r.bytes(r.number()));
    if (type === K_EMPTY_STREAM) empty = data.bits(Math.min(n, MAX_ENTRIES));
    else if (type === K_NAME && data.byte() === 0) {
      names = [];
      let start = data.pos;
      for (let i = data.pos; i + 1 < data.buf.length && names.length < MAX_ENTRIES; i += 2)
        if (data.buf[i] === 0 && data.buf[i + 1] === 0) {
          names.push(data.buf.toString('utf16le', start, i));
          start = i + 2;
        }
    }
  }
  return { names, empty, declared: n };
}

function header(r: Reader): ArchiveListing {
  let main: StreamsInfo | undefined;
  let files: { names: string[]; empty: boolean[]; declared: number } = { names: [], empty: [], declared: 0 };
  for (let id = r.byte(); id !== K_END; id = r.byte()) {
    if (id === K_ARCHIVE_PROPERTIES) for (let t = r.byte(); t !== K_END; t = r.byte()) r.bytes(r.number());
    else if (id === K_ADDITIONAL_STREAMS) streamsInfo(r);
    else if (id === K_MAIN_STREAMS) main = streamsInfo(r);
    else if (id === K_FILES_INFO) files = filesInfo(r);
    else throw new Damaged();
  }
  // Which file lives in which folder needs the substream counts; an encrypted folder in a 7z made by a
  // person holds their files, so every file with data is marked (the check is per archive anyway).
  const encrypted = main?.folders.some((f) => f.coders.some((c) => c.id === AES)) ?? false;
  const entries: ArchiveEntry[] = files.names.map((name, i) => ({
    name,
    encrypted: encrypted && !files.empty[i],
    size: 0,
  }));
  // More files than MAX_ENTRIES: those past it were not read.
  if (files.declared > MAX_ENTRIES) return { entries, damaged: false, namesHidden: false, truncated: true };
  return { entries, damaged: false, namesHidden: false };
}

/** Lists a 7z archive; null when `buf` is not one. A packed header larger than what is left of `budget`: damaged. */
export function list7z(buf: Buffer, budget: ArchiveBudget = { unpacked: MAX_HEADER }): ArchiveListing | null {
  if (!is7z(buf)) return null;
  const damaged: ArchiveListing = { entries: [], damaged: true, namesHidden: false };
  if (buf.length < 32) return damaged;
  // The start header: where the (last-written) header is, relative to the end of these 32 octets.
  const offset = Number(buf.readBigUInt64LE(12));
  const size = Number(buf.readBigUInt64LE(20));
  if (size === 0) return { entries: [], damaged: false, namesHidden: false }; // an empty archive
  if (32 + offset + size > buf.length) return damaged; // cut short (a part of a split mail, a broken encoder)
  let r = new Reader(buf.subarray(32 + offset, 32 + offset + size));
  try {
    // An encoded header is itself a packed stream holding the real header (nested at most twice in practice).
    for (let depth = 0; depth < 4; depth++) {
      const id = r.byte();
      if (id === K_HEADER) return header(r);
      if (id !== K_ENCODED_HEADER) return damaged;
      const info = streamsInfo(r);
      const f = info.folders[0];
      if (!f || info.packSizes.length === 0) return damaged;
      if (f.coders.some((c) => c.id === AES)) return { entries: [], damaged: false, namesHidden: true };
      if (f.coders.length !== 1 || f.coders[0].id !== LZMA) return damaged; // no other coder compresses 7-Zip's headers
      const start = 32 + info.packPos;
      const end = start + info.packSizes[0];
      if (end > buf.length) return damaged;
      const unpacked = f.unpackSizes[0];
      if (unpacked > Math.min(MAX_HEADER, budget.unpacked)) return damaged;
      budget.unpacked -= unpacked;
      r = new Reader(lzmaDecode(buf.subarray(start, end), f.coders[0].props, unpacked, MAX_HEADER));
    }
    return damaged;
  } catch (e) {
    if (e instanceof Damaged || e instanceof LzmaError) return damaged;
    throw e;
  }
}
