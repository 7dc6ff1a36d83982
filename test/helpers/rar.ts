// RAR archives built by tests (stored entries, optionally flagged encrypted), since no free tool writes RAR.
import { randomBytes } from 'node:crypto';
import { crc32 } from 'node:zlib';

export interface RarFile {
  name: string;
  data: Buffer;
  encrypted?: boolean;
  directory?: boolean;
}

// 2024-01-01T00:00:00Z: a fixed mtime keeps archives reproducible apart from the random "ciphertext".
const MTIME = 1704067200;
const UNIX_FILE = 0o100644;
const UNIX_DIR = 0o40755;

/** AES works on 16-byte blocks, so an encrypted entry's packed size is its plain size rounded up. */
function ciphertext(plain: Buffer): Buffer {
  return randomBytes(Math.ceil(plain.length / 16) * 16);
}

function vint(n: number): Buffer {
  const out: number[] = [];
  do {
    const low = n % 128;
    n = Math.floor(n / 128);
    out.push(n > 0 ? low | 0x80 : low);
  } while (n > 0);
  return Buffer.from(out);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

/** A RAR5 block: CRC32 + size + type + flags + [extra size] + [data size] + fields + extra, then data. */
function block5(type: number, fields: Buffer[], extra?: Buffer, data?: Buffer): Buffer {
  const flags = (extra ? 0x0001 : 0) | (data ? 0x0002 : 0);
  const body = Buffer.concat([
    vint(type),
    vint(flags),
    ...(extra ? [vint(extra.length)] : []),
    ...(data ? [vint(data.length)] : []),
    ...fields,
    ...(extra ? [extra] : []),
  ]);
  // The size field counts from the type field on; the CRC also covers the size field itself.
  const sized = Buffer.concat([vint(body.length), body]);
  return Buffer.concat([u32(crc32(sized)), sized, ...(data ? [data] : [])]);
}

/** RAR 5.0 archive (signature 52 61 72 21 1A 07 01 00). headersEncrypted: an archive encryption header (type 4) follows the signature, then random bytes standing for the encrypted main and file headers (what `rar -hp` produces: names unreadable without the password). */
export function buildRar5(files: RarFile[], opts?: { headersEncrypted?: boolean }): Buffer {
  const sig = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);
  if (opts?.headersEncrypted) {
    // The technote puts the encryption header right after the signature, before the (then encrypted) main
    // header; after a plain main header 7-Zip says "Unsupported feature". Each later header is a 16-byte IV
    // plus AES blocks.
    const crypt = block5(4, [vint(0), vint(0), Buffer.from([15]), randomBytes(16)]);
    return Buffer.concat([sig, crypt, randomBytes(16 + 64 * Math.max(1, files.length))]);
  }
  const blocks = [sig, block5(1, [vint(0)])];
  for (const f of files) {
    const dir = !!f.directory;
    // File headers always carry a data size, 0 for directories: libarchive rejects a file header without one.
    const data = dir ? Buffer.alloc(0) : f.encrypted ? ciphertext(f.data) : f.data;
    const name = Buffer.from(f.name);
    const fields = [
      vint((dir ? 0x0001 : 0x0004) | 0x0002),
      vint(dir ? 0 : f.data.length),
      vint(dir ? UNIX_DIR : UNIX_FILE),
      u32(MTIME),
      ...(dir ? [] : [u32(crc32(f.data))]),
      vint(0), // compression info: version 0, method 0 (store)
      vint(1), // host OS: Unix
      vint(name.length),
      name,
    ];
    let extra: Buffer | undefined;
    if (f.encrypted) {
      // File encryption record: type 1, AES-256 (version 0), no password check, KDF count 15, salt, IV.
      const rec = Buffer.concat([vint(1), vint(0), vint(0), Buffer.from([15]), randomBytes(16), randomBytes(16)]);
      extra = Buffer.concat([vint(rec.length), rec]);
    }
    blocks.push(block5(2, fields, extra, data));
  }
  blocks.push(block5(5, [vint(0)]));
  return Buffer.concat(blocks);
}

/** A RAR4 block: HEAD_CRC (low 16 bits of CRC32 of the rest) + HEAD_TYPE + HEAD_FLAGS + HEAD_SIZE + fields. */
function block4(type: number, flags: number, fields: Buffer): Buffer {
  const rest = Buffer.alloc(5 + fields.length);
  rest.writeUInt8(type, 0);
  rest.writeUInt16LE(flags, 1);
  rest.writeUInt16LE(7 + fields.length, 3);
  fields.copy(rest, 5);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc32(rest) & 0xffff);
  return Buffer.concat([crc, rest]);
}

function dosTime(unix: number): number {
  const d = new Date(unix * 1000);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  return ((date << 16) | time) >>> 0;
}

/** RAR 1.5-4.x archive (signature 52 61 72 21 1A 07 00). headersEncrypted: MAIN_HEAD flag 0x0080 (block headers encrypted), then random bytes. */
export function buildRar4(files: RarFile[], opts?: { headersEncrypted?: boolean }): Buffer {
  const sig = Buffer.from([0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00]);
  const main = block4(0x73, opts?.headersEncrypted ? 0x0080 : 0, Buffer.alloc(6));
  if (opts?.headersEncrypted) {
    // Every later block is an 8-byte salt then the header AES-encrypted in 16-byte blocks.
    return Buffer.concat([sig, main, randomBytes(8 + 48 * Math.max(1, files.length))]);
  }
  const blocks = [sig, main];
  for (const f of files) {
    const dir = !!f.directory;
    const data = dir ? Buffer.alloc(0) : f.encrypted ? ciphertext(f.data) : f.data;
    const name = Buffer.from(f.name);
    // Non-ASCII names need the Unicode flag; with no NUL inside, readers take the name as UTF-8.
    const unicode = name.length !== f.name.length ? 0x0200 : 0;
    // 0x8000: ADD_SIZE (PACK_SIZE) present; 0x0004: encrypted, and RAR 3.x+ then adds an 8-byte salt (0x0400);
    // 0x00E0: the "dictionary size" bits all set, which is how RAR4 marks a directory.
    const flags = 0x8000 | unicode | (f.encrypted ? 0x0404 : 0) | (dir ? 0x00e0 : 0);
    const h = Buffer.alloc(25);
    h.writeUInt32LE(data.length, 0);
    h.writeUInt32LE(dir ? 0 : f.data.length, 4);
    h.writeUInt8(3, 8); // host OS: Unix
    h.writeUInt32LE(dir ? 0 : crc32(f.data), 9);
    h.writeUInt32LE(dosTime(MTIME), 13);
    h.writeUInt8(29, 17); // version needed to extract: 2.9
    h.writeUInt8(0x30, 18); // method: store
    h.writeUInt16LE(name.length, 19);
    h.writeUInt32LE(dir ? UNIX_DIR : UNIX_FILE, 21);
    blocks.push(block4(0x74, flags, Buffer.concat([h, name, f.encrypted ? randomBytes(8) : Buffer.alloc(0)])), data);
  }
  blocks.push(block4(0x7b, 0x4000, Buffer.alloc(0)));
  return Buffer.concat(blocks);
}
