// Checks that the RAR archives test/helpers/rar.ts builds are read as intended by real RAR readers: lsar
// (unar) and bsdtar (libarchive-tools). Not 7-Zip: Debian's 7zip is built without RAR (non-free 7zip-rar);
// checked by hand with 7-Zip 24.09 (the 7z-wasm npm package), which lists them the same.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import type { RarFile } from './rar.ts';
import { buildRar4, buildRar5 } from './rar.ts';

const run = promisify(execFile);

interface Entry {
  path: string;
  size: number;
  directory: boolean;
  encrypted?: boolean;
}

const readme: RarFile = { name: 'readme.txt', data: Buffer.from('Please find the invoice attached.\n') };
const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(998, 0x90)]);
const plain: RarFile[] = [
  readme,
  { name: 'dir', data: Buffer.alloc(0), directory: true },
  { name: 'dir/invoice.pdf.exe', data: exe },
];
const oneEncrypted: RarFile[] = [readme, { name: 'invoice.pdf.exe', data: exe, encrypted: true }];

/** files: what a reader must list; null: headers are encrypted, so it must refuse without the password. */
const cases: { name: string; archive: Buffer; files: RarFile[] | null }[] = [
  { name: 'RAR5 plain', archive: buildRar5(plain), files: plain },
  { name: 'RAR4 plain', archive: buildRar4(plain), files: plain },
  { name: 'RAR5 one encrypted file', archive: buildRar5(oneEncrypted), files: oneEncrypted },
  { name: 'RAR4 one encrypted file', archive: buildRar4(oneEncrypted), files: oneEncrypted },
  { name: 'RAR5 encrypted headers', archive: buildRar5(plain, { headersEncrypted: true }), files: null },
  { name: 'RAR4 encrypted headers', archive: buildRar4(plain, { headersEncrypted: true }), files: null },
];

const dir = mkdtempSync(join(tmpdir(), 'petrel-rar-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// One folder per archive, each named archive.rar: lsar takes "x5.rar" next to "x4.rar" for volumes of one set.
const paths = cases.map((c, i) => {
  mkdirSync(join(dir, String(i)));
  const p = join(dir, String(i), 'archive.rar');
  writeFileSync(p, c.archive);
  return p;
});

function expected(files: RarFile[]): Entry[] {
  return files.map((f) => ({
    path: f.name,
    size: f.directory ? 0 : f.data.length,
    directory: !!f.directory,
    encrypted: !!f.encrypted,
  }));
}

/** Runs a reader; a non-zero exit is returned as output, not thrown, since refusing is what some cases expect. */
async function output(program: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await run(program, args, { encoding: 'utf8' });
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

interface Reader {
  program: string;
  /** Debian package providing it. */
  pkg: string;
  list: (file: string) => Promise<{ ok: boolean; out: string; entries: Entry[] }>;
  /** What it prints when it cannot read the headers without the password. */
  locked: RegExp;
  /** It does not report the encrypted flag. */
  noEncryptedFlag?: boolean;
}

const readers: Reader[] = [
  {
    // The Unarchiver's lsar: reports encryption, but does not check RAR5 header CRCs.
    program: '/usr/bin/lsar',
    pkg: 'unar',
    list: async (file) => {
      const r = await output('/usr/bin/lsar', ['-j', file]);
      if (!r.ok) return { ...r, entries: [] };
      const json = JSON.parse(r.out) as { lsarContents: Record<string, string | number | undefined>[] };
      const entries = json.lsarContents.map((e) => ({
        path: String(e.XADFileName),
        size: Number(e.XADFileSize ?? 0),
        directory: e.XADIsDirectory === 1,
        encrypted: e.XADIsEncrypted === 1,
      }));
      return { ...r, entries };
    },
    locked: /This archive requires a password to unpack/,
  },
  {
    // libarchive checks header CRCs (and rejects a RAR5 file header without a data size) but shows no encryption.
    program: '/usr/bin/bsdtar',
    pkg: 'libarchive-tools',
    list: async (file) => {
      const r = await output('/usr/bin/bsdtar', ['-tvf', file]);
      const entries = [...r.out.matchAll(/^(.)\S+\s+\d+\s+\S+\s+\S+\s+(\d+)\s+\w+\s+\d+\s+[\d:]+\s(.+)$/gm)].map(
        (m) => ({ path: m[3], size: Number(m[2]), directory: m[1] === 'd' }),
      );
      return { ...r, entries };
    },
    locked: /Encryption is not supported|RAR encryption support unavailable/,
    noEncryptedFlag: true,
  },
];

test('archives start with their signature; RAR4 flags encrypted headers in MAIN_HEAD', () => {
  assert.deepEqual([...cases[0].archive.subarray(0, 8)], [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x01, 0x00]);
  assert.deepEqual([...cases[1].archive.subarray(0, 7)], [0x52, 0x61, 0x72, 0x21, 0x1a, 0x07, 0x00]);
  // RAR4 MAIN_HEAD right after the marker: flag 0x0080 only when headers are encrypted.
  assert.equal(cases[1].archive.readUInt16LE(10), 0);
  assert.equal(cases[5].archive.readUInt16LE(10), 0x0080);
});

for (const reader of readers) {
  test(`${reader.program} reads the built archives`, async (t) => {
    if (!existsSync(reader.program)) {
      const reason = `${reader.program} not installed (apt-get install ${reader.pkg}); PETREL_TEST_REQUIRE_PEERS=1 makes this fail`;
      if (process.env.PETREL_TEST_REQUIRE_PEERS === '1') assert.fail(`required peer missing: ${reason}`);
      t.skip(reason);
      return;
    }
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, async () => {
        const r = await reader.list(paths[i]);
        if (c.files === null) {
          assert.equal(r.ok, false, r.out);
          assert.match(r.out, reader.locked);
          return;
        }
        assert.equal(r.ok, true, r.out);
        assert.doesNotMatch(r.out, /error|warning/i);
        const want = expected(c.files).map(({ encrypted, ...e }) => (reader.noEncryptedFlag ? e : { ...e, encrypted }));
        assert.deepEqual(r.entries, want, r.out);
      });
    }
  });
}
