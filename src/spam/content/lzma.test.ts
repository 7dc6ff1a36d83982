// The LZMA decoder against a real encoder: `xz --format=lzma` (xz-utils) compresses text, binary and
// repetitive data at several presets; the decoder must give back every octet. Then hostile streams:
// truncated, corrupted and forged ones end in LzmaError, never a hang or a read outside the buffers.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { peer } from '../../../test/helpers/peers.ts';
import { LzmaError, lzmaDecode } from './lzma.ts';

const xz = peer('xz', 'xz-utils');

/**
 * Compresses with xz's LZMA_Alone format: 1 octet lc/lp/pb, 4 of dictionary size, 8 of size (-1:
 * unknown), then the raw stream.
 */
function lzmaAlone(data: Buffer, preset: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'xz',
      ['--format=lzma', preset, '-c'],
      { encoding: 'buffer', maxBuffer: 64 << 20 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
    child.stdin?.end(data);
  });
}

const decode = (alone: Buffer, size: number) => lzmaDecode(alone.subarray(13), alone.subarray(0, 5), size, 64 << 20);

function samples(): Buffer[] {
  const words = ['invoice', 'report', '.pdf', '.exe', 'документ', 'payment', '2026', '\u0000\u0000'];
  const text: string[] = [];
  for (let i = 0; i < 20000; i++) text.push(words[(i * 7919) % words.length] + (i % 13));
  return [
    Buffer.alloc(0),
    Buffer.from('a'),
    Buffer.from(text.join(' ')), // matches, repeats, literals after matches
    randomBytes(70000), // mostly literals
    Buffer.alloc(300000, 0x41), // long rep matches
    Buffer.concat([randomBytes(4096), randomBytes(4096)].flatMap((b) => [b, b, b])), // distant matches
  ];
}

test('decodes what xz --format=lzma encoded, at several presets', { skip: xz.skip }, async () => {
  for (const preset of ['-0', '-6', '-9e'])
    for (const data of samples()) {
      const alone = await lzmaAlone(data, preset);
      assert.ok(decode(alone, data.length).equals(data), `preset ${preset}, ${data.length} octets`);
    }
});

test('hostile streams: truncated, corrupted, forged: LzmaError or output of the asked size, nothing else', {
  skip: xz.skip,
}, async () => {
  const data = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(2000));
  const alone = await lzmaAlone(data, '-6');
  // Truncated anywhere: the stream ends early.
  for (const cut of [5, 13, 14, 20, 100, alone.length - 20])
    assert.throws(() => decode(alone.subarray(0, cut), data.length), LzmaError);
  // A size larger than the limit is refused before any work.
  assert.throws(() => lzmaDecode(alone.subarray(13), alone.subarray(0, 5), 10_000_000, 1_000_000), LzmaError);
  // Bad properties.
  assert.throws(() => lzmaDecode(alone.subarray(13), Buffer.from([225, 0, 0, 1, 0]), 10, 100), LzmaError);
  // Flipped octets: either an error or some output of the asked size, never another exception or a hang.
  for (let i = 0; i < 2000; i++) {
    const bad = Buffer.from(alone);
    for (let k = 0; k < 3; k++) bad[13 + Math.floor(Math.random() * (bad.length - 13))] ^= 1 << (i % 8);
    try {
      assert.equal(decode(bad, data.length).length, data.length);
    } catch (e) {
      assert.ok(e instanceof LzmaError, String(e));
    }
  }
  // Random streams: most fail at once; none may run past its output size.
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.concat([Buffer.from([0]), randomBytes(64)]);
    try {
      decode(Buffer.concat([Buffer.from([0x5d, 0, 0, 1, 0]), Buffer.alloc(8), junk]), 4096);
    } catch (e) {
      assert.ok(e instanceof LzmaError, String(e));
    }
  }
});
