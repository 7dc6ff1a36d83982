// Archive listings (zip, RAR 4 and 5, 7z): names and encryption as a real reader sees them. 7z archives
// come from 7-Zip itself (three small ones in test/helpers/seven-zip.ts, more made by `7zz` when it is
// installed, checked against its own `7zz l -slt`); RAR archives from test/helpers/rar.ts, whose output
// lsar and bsdtar read the same (test/helpers/rar.test.ts). Then hostile input: damaged and forged
// archives list what they can, never throw, never loop; and the allowance for what gets decompressed.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { peer } from '../../../test/helpers/peers.ts';
import { buildRar4, buildRar5 } from '../../../test/helpers/rar.ts';
import { HIDDEN, LZMA_4MB_OF_ZEROS, MANY, PLAIN_NAMES, sevenZipPackedHeader } from '../../../test/helpers/seven-zip.ts';
import { buildZip } from '../../../test/helpers/zip.ts';
import { listArchive } from './archive.ts';
import { inspectAttachment } from './attachments.ts';
import { zipInnerArchives } from './zip.ts';

const run = promisify(execFile);

const EXECUTABLES = new Set(['exe', 'scr']);
const kinds = (body: Buffer, name: string) => inspectAttachment(name, body, EXECUTABLES).map((f) => f.kind);

test('7z made by 7-Zip: encrypted files, an encrypted header, an LZMA-compressed list of names', () => {
  const plain = listArchive(PLAIN_NAMES);
  assert.equal(plain?.format, '7z');
  assert.deepEqual(
    plain?.entries.map((e) => [e.name, e.encrypted]),
    [
      ['evil.exe', true],
      ['readme.txt', true],
    ],
  );
  assert.deepEqual(listArchive(HIDDEN), { entries: [], damaged: false, namesHidden: true, format: '7z' });
  const many = listArchive(MANY);
  assert.equal(many?.damaged, false);
  assert.deepEqual(
    many?.entries.map((e) => e.name),
    [
      ...Array.from({ length: 30 }, (_, i) => `invoice-2026-${String(i + 1).padStart(2, '0')}.pdf`),
      'invoice-2026-31.pdf.exe',
    ],
  );
  assert.ok(many?.entries.every((e) => !e.encrypted));
  // What the attachment check makes of them.
  assert.deepEqual(kinds(PLAIN_NAMES, 'files.7z'), ['encrypted_archive', 'executable']);
  assert.deepEqual(kinds(HIDDEN, 'files.7z'), ['encrypted_archive']);
  assert.deepEqual(kinds(MANY, 'invoices.7z'), ['executable', 'double_extension']);
});

test('the archives of a message share one allowance for what they decompress', () => {
  const bomb = sevenZipPackedHeader(LZMA_4MB_OF_ZEROS, 4 << 20);
  const budget = { unpacked: 10 << 20 };
  // Decoded (4 MB of zeros: no header in it, so damaged), twice; the third would pass the allowance.
  for (const left of [6 << 20, 2 << 20, 2 << 20]) {
    assert.equal(listArchive(bomb, budget)?.damaged, true);
    assert.equal(budget.unpacked, left);
  }
  // MANY's list of names needs 1 KB or so: still read with what is left, and charged.
  assert.equal(listArchive(MANY, budget)?.entries.length, 31);
  assert.ok(budget.unpacked < 2 << 20 && budget.unpacked > (2 << 20) - 4096);
  assert.equal(listArchive(MANY, { unpacked: 100 })?.damaged, true, 'not decoded past its allowance');
});

test('archives inside a zip: opened within the allowance, others left shut', () => {
  const inner = buildZip([{ name: 'run.exe', data: Buffer.from('MZ') }]);
  const bomb = Buffer.alloc(8 << 20); // deflates to a few KB
  const outer = buildZip([
    { name: 'a.zip', data: inner },
    { name: 'notes.txt', data: Buffer.from('not an archive by name') },
    { name: 'big.7z', data: bomb },
    { name: 'locked.rar', data: Buffer.from('x'), encrypted: true },
  ]);
  const allowance = { unpacked: 1 << 20 };
  const opened = zipInnerArchives(outer, allowance);
  assert.deepEqual(
    opened.map((o) => o.name),
    ['a.zip'],
    'the 8 MB one is over the allowance, the encrypted one cannot be opened',
  );
  assert.ok(opened[0].data.equals(inner));
  assert.equal(allowance.unpacked, (1 << 20) - inner.length);
  assert.equal(zipInnerArchives(outer, { unpacked: 16 << 20 }).length, 2);
  // A zip entry that inflates past its declared size is not opened.
  const liar = buildZip([{ name: 'x.zip', data: bomb }]);
  liar.writeUInt32LE(100, liar.length - 22 - 46 - 5 + 24); // the central directory's uncompressed size of x.zip
  assert.deepEqual(zipInnerArchives(liar, { unpacked: 16 << 20 }), []);
});

const sevenZip = peer('7zz', '7zip');

/** Paths, and which are encrypted, of the files (not directories) 7-Zip lists in an archive. */
async function sevenZipListing(file: string): Promise<{ names: string[]; encrypted: string[] }> {
  const { stdout } = await run('7zz', ['l', '-slt', '-p-', file], { maxBuffer: 64 << 20 });
  const blocks = stdout.split('\n\n').filter((b) => /^Attributes = /m.test(b) && !/^Attributes = D/m.test(b));
  const path = (b: string) => /^Path = (.*)$/m.exec(b)?.[1] ?? '';
  return {
    names: blocks.map(path).sort(),
    encrypted: blocks
      .filter((b) => /^Encrypted = \+/m.test(b))
      .map(path)
      .sort(),
  };
}

test('7z as 7-Zip writes it, with each method and option, listed as 7-Zip lists it', {
  skip: sevenZip.skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-7z-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(join(src, 'sub', 'deep'), { recursive: true });
    for (let i = 0; i < 600; i++)
      writeFileSync(join(src, `file_${i}_${(i * 7919).toString(16)}_счёт.txt`), `content ${i}`);
    for (let i = 0; i < 100; i++) {
      writeFileSync(join(src, 'sub', `empty${i}.bin`), '');
      writeFileSync(join(src, 'sub', 'deep', `n${i}.scr`), 'x');
    }
    const options = [
      [],
      ['-mx9'],
      ['-ms=off'],
      ['-m0=PPMd'],
      ['-m0=copy'],
      ['-mx1'],
      ['-pX'],
      ['-pX', '-ms=off'],
      ['-m0=bzip2', '-pX'],
      ['-pX', '-mhe=on'],
    ];
    for (const [i, opts] of options.entries()) {
      const file = join(dir, `a${i}.7z`);
      await run('7zz', ['a', ...opts, file, 'file_*', 'sub'], { cwd: src });
      const ours = listArchive(readFileSync(file));
      assert.equal(ours?.damaged, false, opts.join(' '));
      if (opts.includes('-mhe=on')) {
        assert.equal(ours?.namesHidden, true);
        assert.deepEqual(ours?.entries, []);
        continue;
      }
      const theirs = await sevenZipListing(file);
      const files = ours?.entries.filter((e) => theirs.names.includes(e.name)) ?? [];
      assert.equal(theirs.names.length, 800, 'every file listed by 7-Zip');
      assert.deepEqual(files.map((e) => e.name).sort(), theirs.names, opts.join(' '));
      assert.deepEqual(
        files
          .filter((e) => e.encrypted)
          .map((e) => e.name)
          .sort(),
        theirs.encrypted,
        opts.join(' '),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const infoZip = peer('zip', 'zip');

test('zips as Info-ZIP writes them, listed as unzip lists them: Zip64, data in front (adjusted or not)', {
  skip: infoZip.skip ?? peer('unzip', 'unzip').skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-zip-'));
  try {
    writeFileSync(join(dir, 'readme.txt'), 'hi\n');
    writeFileSync(join(dir, 'evil.exe'), 'MZ');
    const zip = async (file: string, ...opts: string[]) => {
      await run('zip', ['-q', ...opts, file, 'readme.txt', 'evil.exe'], { cwd: dir });
      return join(dir, file);
    };
    const stub = Buffer.from('#!/bin/sh\necho a self-extractor stub\n'.repeat(20));
    const plain = readFileSync(await zip('plain.zip'));
    // A self-extractor's layout: the stub, then the zip, its offsets not counting the stub (unzip warns of
    // "extra bytes at beginning" and allows for them) or adjusted to count it (`zip -A`).
    writeFileSync(join(dir, 'front.zip'), Buffer.concat([stub, plain]));
    writeFileSync(join(dir, 'adjusted.zip'), Buffer.concat([stub, plain]));
    await run('zip', ['-q', '-A', 'adjusted.zip'], { cwd: dir });
    const files = [await zip('fz.zip', '-fz'), join(dir, 'front.zip'), join(dir, 'adjusted.zip')];
    // Zip64 with data in front, no offset counting it (not even the Zip64 end record's).
    writeFileSync(join(dir, 'fz-front.zip'), Buffer.concat([stub, readFileSync(files[0])]));
    files.push(join(dir, 'fz-front.zip'));
    for (const file of files) {
      const theirs = (await run('unzip', ['-Z1', file]).catch((e) => e)).stdout.trim().split('\n');
      const ours = listArchive(readFileSync(file));
      assert.equal(ours?.format, 'zip', file);
      assert.equal(ours?.damaged, false, file);
      assert.deepEqual(
        ours?.entries.map((e) => e.name),
        theirs,
        file,
      );
      assert.deepEqual(kinds(readFileSync(file), 'files.zip'), ['executable'], file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zip whose local header names another file than its central directory: both names judged', () => {
  const forged = buildZip([{ name: 'invoice.txt', localName: 'invoice.exe', data: Buffer.from('hello') }]);
  assert.deepEqual(
    listArchive(forged)?.entries.map((e) => e.name),
    ['invoice.txt', 'invoice.exe'],
  );
  assert.deepEqual(kinds(forged, 'files.zip'), ['executable']);
  const honest = buildZip([{ name: 'invoice.txt', data: Buffer.from('hello') }]);
  assert.deepEqual(
    listArchive(honest)?.entries.map((e) => e.name),
    ['invoice.txt'],
  );
});

const RAR_FILES = [
  { name: 'readme.txt', data: Buffer.from('read me') },
  { name: 'dir', data: Buffer.alloc(0), directory: true },
  { name: 'dir/invoice.pdf.exe', data: Buffer.from('MZ...') },
];

test('RAR 5 and RAR 4: names, encrypted files, encrypted headers', () => {
  for (const build of [buildRar5, buildRar4]) {
    const open = listArchive(build(RAR_FILES));
    assert.equal(open?.format, 'rar');
    assert.deepEqual(
      open?.entries.map((e) => [e.name, e.encrypted, e.size]),
      [
        ['readme.txt', false, 7],
        ['dir/invoice.pdf.exe', false, 5],
      ],
      build.name,
    );
    assert.equal(open?.damaged, false);
    const locked = listArchive(build([RAR_FILES[0], { name: 'pay.scr', data: Buffer.from('x'), encrypted: true }]));
    assert.deepEqual(
      locked?.entries.map((e) => [e.name, e.encrypted]),
      [
        ['readme.txt', false],
        ['pay.scr', true],
      ],
    );
    const hidden = listArchive(build(RAR_FILES, { headersEncrypted: true }));
    assert.equal(hidden?.namesHidden, true);
    assert.deepEqual(hidden?.entries, []);
    assert.deepEqual(kinds(build(RAR_FILES), 'docs.rar'), ['executable', 'double_extension']);
    assert.deepEqual(kinds(build(RAR_FILES, { headersEncrypted: true }), 'docs.rar'), ['encrypted_archive']);
  }
});

test('archives of more than 10,000 files: listed up to the cap, and marked truncated', () => {
  const files = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `f${i}.txt`, data: Buffer.from('x') }));
  for (const [format, build] of [
    ['zip', buildZip],
    ['rar5', buildRar5],
    ['rar4', buildRar4],
  ] as const) {
    const over = listArchive(build(files(10001)));
    assert.equal(over?.entries.length, 10000, format);
    assert.equal(over?.truncated, true, format);
    assert.deepEqual(kinds(build([...files(10000), { name: 'evil.exe', data: Buffer.from('x') }]), 'a'), [
      'too_many_entries',
    ]);
    assert.equal(listArchive(build(files(9999)))?.truncated, undefined, format);
  }
});

test('hostile archives: cut, flipped, forged; listings only, never an exception', () => {
  const originals = [
    PLAIN_NAMES,
    HIDDEN,
    MANY,
    buildRar5(RAR_FILES),
    buildRar4(RAR_FILES),
    buildZip([{ name: 'a.exe', data: Buffer.from('MZ') }]),
    buildZip([{ name: 'in.zip', data: buildZip([{ name: 'a.exe', data: Buffer.from('MZ') }]) }]),
  ];
  for (const original of originals) {
    // Cut anywhere: what was read before the cut, marked damaged (or nothing, for a cut 7z).
    for (let cut = 0; cut < original.length; cut += 7) {
      const l = listArchive(original.subarray(0, cut));
      if (l) assert.ok(Array.isArray(l.entries));
    }
    for (let i = 0; i < 3000; i++) {
      const bad = Buffer.from(original);
      for (let k = 0; k < 1 + (i % 4); k++)
        bad[Math.floor(Math.random() * bad.length)] = Math.floor(Math.random() * 256);
      const l = listArchive(bad);
      if (l) assert.ok(l.entries.length <= 10000);
      assert.ok(zipInnerArchives(bad, { unpacked: 1 << 20 }).length <= 10);
    }
  }
  // Forged counts and sizes after a valid signature.
  for (const sig of [
    MANY.subarray(0, 32),
    Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'),
    Buffer.from('Rar!\x1a\x07\x00', 'latin1'),
  ])
    for (let i = 0; i < 2000; i++) listArchive(Buffer.concat([sig, randomBytes(1 + (i % 300))]));
  // A 7z whose start header points far beyond the buffer, and one claiming a 2^62-octet header.
  const far = Buffer.from(MANY);
  far.writeBigUInt64LE(1n << 62n, 12);
  assert.deepEqual(listArchive(far), { entries: [], damaged: true, namesHidden: false, format: '7z' });
  assert.equal(listArchive(Buffer.from('not an archive at all')), null);
});

test('tar and gzip: names from headers, cut and flipped ones never throw, a gzip bomb stops at the allowance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-tar-'));
  try {
    writeFileSync(join(dir, 'a.exe'), 'MZ');
    writeFileSync(join(dir, 'b.txt'), 'hi');
    const tar = execFileSync('tar', ['-cf', '-', 'a.exe', 'b.txt'], { cwd: dir });
    assert.deepEqual(
      listArchive(tar)?.entries.map((e) => e.name),
      ['a.exe', 'b.txt'],
    );
    const tgz = gzipSync(tar);
    assert.equal(listArchive(tgz)?.format, 'gz');
    assert.deepEqual(kinds(tgz, 'x.tgz'), ['executable']);
    for (const original of [tar, tgz, gzipSync(Buffer.from('hello'))]) {
      for (let cut = 0; cut < original.length; cut += 13)
        listArchive(original.subarray(0, cut), { unpacked: 1 << 20 }, 'x.gz');
      for (let i = 0; i < 1000; i++) {
        const bad = Buffer.from(original);
        bad[Math.floor(Math.random() * bad.length)] = Math.floor(Math.random() * 256);
        const l = listArchive(bad, { unpacked: 1 << 20 });
        if (l) assert.ok(l.entries.length <= 10000);
      }
    }
    // 64 MB of zeros in a gzip (64 KB) that says it holds 10 octets: inflated only up to what is left.
    const bomb = gzipSync(Buffer.alloc(64 << 20));
    bomb.writeUInt32LE(10, bomb.length - 4);
    const budget = { unpacked: 16 << 20 };
    assert.deepEqual(
      listArchive(bomb, budget, 'invoice.exe.gz')?.entries.map((e) => e.name),
      ['invoice.exe'],
    );
    assert.equal(budget.unpacked, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
