// Three small 7z archives as 7-Zip writes them, kept as bytes so the 7z reader is tested where 7-Zip is not
// installed (the tests that have it make more), and a builder of 7z archives around a packed header of
// our choosing (a decompression bomb).
import { crc32 } from 'node:zlib';

const b64 = (s: string) => Buffer.from(s, 'base64');

// Made by 7-Zip 26.02: `7zz a -pSecret` (names readable, files AES-encrypted), `7zz a -pSecret -mhe=on`
// (the header encrypted too), both of evil.exe and readme.txt; `7zz a -mx9` of 30 invoice-2026-NN.pdf and
// invoice-2026-31.pdf.exe (an LZMA-compressed header long enough to hold matches).
export const PLAIN_NAMES = b64(
  'N3q8ryccAATTd7/+lgAAAAAAAAAiAAAAAAAAAG4gYnI1NR8H4Tra9yIUY3vV5VoDAACBMweuD87ysgwHsMPa919FiphISvf6OZ1BXuLwKf6c1ICjWBtDD/NvWOrJ33KPNlmeikQcw/RPRDeWwDelPr8BX1ubQg7EQVT6T8Gt2FZ45JZrWuGGL1unwvV1KV0kTQ8GIlefrUnSHVhOyTDy1WST5bu8dLr5yJRJHXJq36/BhQDJAAAXBhABCYCGAAcLAQABIwMBAQVdABAAAAyAngoBgXg7hQAA',
);
export const HIDDEN = b64(
  'N3q8ryccAAR5HIBOoAAAAAAAAAA+AAAAAAAAAKZ4ap+RfqCFVCComtA2PjBXqUpHxDGkD2mOS0QcVxtI+4P/zvdz4RJC3keqSsL0hfT0NUHu1DcPov87c/Yn5LjqxdphNpnJVv3YjR3ZOlE4OADX5W8a84sbW64vzhAoZPvmeCB4+TZylZ61YLU/6AdGa1zppxlDJiPCJlyxl+U0qdihA3JeMp/6On3v22YxqQnOf8oyLJGMBB5pGShqilpXLgaVFwYQAQmAkAAHCwEAAiQG8QcBElMPEGv8+bM4ZrGOAnA8y7WEyCMDAQEFXQAQAAABAAyAhYCeCgFf/zjgAAA=',
);
export const MANY = b64(
  'N3q8ryccAAQhItjgjgEAAAAAAAAiAAAAAAAAAFJ0/f/gAHEAQF0AOIw9RzPfiBiRNH2axzYLPOYCWPORa/Xb0YtMOLtrSWu4ZlISU4rsbjCdwgtVe335uGmCyEyH7wwTSioHEmTAAAAAAIEzB64P0lo1/UDAkNL/fWlNjJtOGAQq2u/YszJjKHAgU46qL8aiC8GuU1qwuM7H8zmWa8tYEV7SkuGe07mV8OQsU4RBSevx6T+V6PLLiA8dOjxlCYOAhpIeXfkJcUcmzAqRNmqUcX8UlKrpTsB/Vl9HVMpVAIm/skmOrNIAHASOOg3/B822JWdCuLSmJRQJG+5OIwaCq8UlsiO81hSaGTIp4QodAzMX1IqcSYs36QjgkLTX+9wL4QeNFUG5IRpwAcOEw5BOLLczgcfVv4iAYc2FydTu6D0JE71kFOQXCXtndhHQxoJqE8MK3Jw54k3r8I2Zh8kyDSW+ixmFOmi8oJO6Z/pdd6Y2N/sKm1ZroRVh6b+vRJlVcL62uQ+KUxBGbyM7mJr+cvKq3XoKYjH68dD/qovfAbC86Ew0GJvRdPVkHgAAABcGSAEJgUYABwsBAAEjAwEBBV0AEAAADIciCgFOTs//AAA=',
);

/** `head -c 4194304 /dev/zero | xz --format=lzma -9`: 681 octets that decode to 4 MB of zeros. */
export const LZMA_4MB_OF_ZEROS = b64(
  'XQAAAAT//////////wAAb/3//6O3/0c+SBVyOWFRuJIo5qOGB/nu5B6C0y/FOjwBS7F+yYqKTS+jDdl/puOMIxFT4FkYxXWK4nf4tpR/DGrA3nRJZOLpXFOyBNj3RAyrXw1tRunlw3aIt5ZXrLZN4Wkdb/tLiBBsQsuIP1wAj9BOryYolHEfPY8k4XCepyNf7CjLhdGVmIp+KpHyJ3X3GcAGmE2Y/div1ZAPxCVT+PWRNjEFpbDub8FwTUcM0ZERqq1gHbrOsScYXFmG6WZSWL7pdqxZ5OVbBQj5x9qt/PtSK3TNHlsgQvndUz34KWQJO4DLKmzftTvwxL0uX6oPPktmQpATDv8Qk/hxeFn4C83/lShGD6n8fN77mjAuVsCPhfODgcBlxCVT+PWRNjEFpbDub8FwTUcM0ZERqq1gHbrOsScYXFmG6WZSWL7pdqxZ5OVbBQj5x9qt/PtSK3TNHlsgQvndUz34KWQJO4DLKmzftTvwxL0uX6oPPktmQpATDv8Qk/hxeFn4C83/lShGD6n8fN77mjAuVsCPhfODgcBlxCVT+PWRNjEFpbDub8FwTUcM0ZERqq1gHbrOsScYXFmG6WZSWL7pdqxZ5OVbBQj5x9qt/PtSK3TNHlsgQvndUz34KWQJO4DLKmzftTvwxL0uX6oPPktmQpATDv8Qk/hxeFn4C83/lShGD6n8fN77mjAuVsCPhfODgcBlxCVT+PWRNjEFpbDub8FwTUcM0ZERqq1gHbrOsScYXFmG6WZSWL7pdqxZ5OVbBQj5x9qt/PtSK3TNHlsgQvndUz34KWQJO4DLKmzftTvwxL0uX6oPPktmQpATDv8Qk/hxeFn4C83/lShGD6n8fN77mjAuVsCPhfODgcBlxCVT+PWRNCYMw/bz//98SAAA',
);

/** A 7z NUMBER (7zFormat.txt): leading 1 bits of the first octet count the little-endian octets after it. */
function number(v: number): Buffer {
  for (let n = 0; n < 8; n++)
    if (v < 2 ** (8 * n) * (0x80 >> n)) {
      const out = Buffer.alloc(n + 1);
      out[0] = ((0xff << (8 - n)) & 0xff) | Math.floor(v / 2 ** (8 * n));
      for (let i = 0; i < n; i++) out[1 + i] = Math.floor(v / 2 ** (8 * i)) & 0xff;
      return out;
    }
  throw new RangeError('number too large');
}

/**
 * A 7z archive whose header is packed with LZMA: `lzmaAlone` is an .lzma file (5 octets of properties,
 * 8 of size, then the stream), `unpacked` what the header claims to decode to.
 */
export function sevenZipPackedHeader(lzmaAlone: Buffer, unpacked: number): Buffer {
  const stream = lzmaAlone.subarray(13);
  const header = Buffer.concat([
    Buffer.from([0x17, 0x06]), // kEncodedHeader, kPackInfo
    number(0), // pack position, after the 32-octet signature header
    number(1),
    Buffer.from([0x09]),
    number(stream.length),
    Buffer.from([0x00, 0x07, 0x0b]), // kEnd, kUnpackInfo, kFolder
    number(1),
    Buffer.from([0x00, 0x01, 0x23, 0x03, 0x01, 0x01, 0x05]), // inline; 1 coder: LZMA with 5 octets of properties
    lzmaAlone.subarray(0, 5),
    Buffer.from([0x0c]),
    number(unpacked),
    Buffer.from([0x00, 0x00]),
  ]);
  const start = Buffer.alloc(20);
  start.writeBigUInt64LE(BigInt(stream.length), 0);
  start.writeBigUInt64LE(BigInt(header.length), 8);
  start.writeUInt32LE(crc32(header), 16);
  const sig = Buffer.from([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0x00, 0x04, 0, 0, 0, 0]);
  sig.writeUInt32LE(crc32(start), 8);
  return Buffer.concat([sig, start, stream, header]);
}
