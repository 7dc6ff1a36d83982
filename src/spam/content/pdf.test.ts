// Links in PDF attachments: URI actions as literal strings (escapes, balanced parentheses), hex strings,
// and inside Flate-compressed object streams, both hand-made and as qpdf (a real PDF writer, Debian
// package qpdf) rewrites our files; within the message's allowance for what is inflated; hostile files
// (cut, flipped, bombs) give what they can and never throw.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { buildPdf } from '../../../test/helpers/pdf.ts';
import { peer } from '../../../test/helpers/peers.ts';
import { pdfUris } from './pdf.ts';

const run = promisify(execFile);
const LINKS = ['https://login.evil.example/verify?id=(42)', 'http://second.example/a b'];
const plenty = () => ({ unpacked: 16 << 20 });

/** A Flate-compressed object stream holding `body`, appended to a PDF (what our reader needs of one). */
function withObjectStream(pdf: Buffer, body: string, filter = '/FlateDecode'): Buffer {
  const data = deflateSync(Buffer.from(body, 'latin1'));
  return Buffer.concat([
    pdf,
    Buffer.from(`9 0 obj\n<< /Type /ObjStm /N 1 /First 5 /Filter ${filter} /Length ${data.length} >>\nstream\r\n`),
    data,
    Buffer.from('\r\nendstream\nendobj\n'),
  ]);
}

test('URI actions: literal strings with escapes and parentheses, hex strings', () => {
  assert.deepEqual(pdfUris(buildPdf(LINKS), plenty()), LINKS);
  assert.deepEqual(pdfUris(buildPdf(LINKS, { hex: true }), plenty()), LINKS);
  assert.deepEqual(pdfUris(buildPdf(LINKS, { escaped: true }), plenty()), LINKS);
  assert.deepEqual(pdfUris(Buffer.from('not a pdf /URI (https://x.example/)'), plenty()), [], 'no %PDF-');
  // /URIs or /URIFoo are other names.
  assert.deepEqual(pdfUris(Buffer.from('%PDF-1.4 /URIs (https://x.example/) /URI(https://y.example/)'), plenty()), [
    'https://y.example/',
  ]);
});

test('inside Flate-compressed object streams, with nested dictionaries beside /Filter', () => {
  const pdf = withObjectStream(buildPdf([]), '5 0 << /Type /Annot /A << /S /URI /URI (https://hidden.example/p) >> >>');
  assert.equal(pdf.includes('hidden.example'), false, 'compressed');
  assert.deepEqual(pdfUris(pdf, plenty()), ['https://hidden.example/p']);
  const parms = withObjectStream(
    buildPdf([]),
    '<< /S /URI /URI <68747470733a2f2f782e6578616d706c652f> >>',
    '/FlateDecode /DecodeParms << /Columns 4 >>',
  );
  assert.deepEqual(pdfUris(parms, plenty()), ['https://x.example/']);
  // Another filter is not inflated.
  assert.deepEqual(pdfUris(withObjectStream(buildPdf([]), '/URI (https://z.example/)', '/LZWDecode'), plenty()), []);
});

const qpdf = peer('qpdf', 'qpdf');

test('as qpdf writes them: object streams, compressed, linearized', { skip: qpdf.skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-pdf-'));
  try {
    const src = join(dir, 'in.pdf');
    writeFileSync(src, buildPdf(LINKS, { escaped: true }));
    for (const opts of [['--object-streams=generate'], ['--object-streams=generate', '--linearize'], ['--qdf']]) {
      const out = join(dir, 'out.pdf');
      await run('qpdf', [...opts, '--compress-streams=y', src, out]);
      const pdf = readFileSync(out);
      if (opts[0] === '--object-streams=generate')
        assert.equal(pdf.includes('/URI'), false, 'the links are compressed');
      assert.deepEqual(pdfUris(pdf, plenty()), LINKS, opts.join(' '));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the allowance: a stream that inflates to megabytes is cut there, and is charged', () => {
  const bomb = deflateSync(Buffer.alloc(8 << 20));
  const pdf = Buffer.concat([
    buildPdf(['https://before.example/']),
    Buffer.from(`8 0 obj\n<< /Filter /FlateDecode /Length ${bomb.length} >>\nstream\n`),
    bomb,
    Buffer.from('\nendstream\nendobj\n'),
  ]);
  const budget = { unpacked: 1 << 20 };
  assert.deepEqual(pdfUris(pdf, budget), ['https://before.example/']);
  assert.equal(budget.unpacked, 0, 'cut at the allowance, and charged it');
  const none = { unpacked: 0 };
  const hidden = withObjectStream(buildPdf([]), '/URI (https://hidden.example/)');
  assert.deepEqual(pdfUris(hidden, none), [], 'nothing left to inflate');
});

test('hostile PDFs: cut, flipped, forged; strings only, never an exception', { timeout: 60_000 }, () => {
  const originals = [
    buildPdf(LINKS),
    buildPdf(LINKS, { hex: true }),
    withObjectStream(buildPdf([]), '/URI (https://hidden.example/)'),
  ];
  for (const original of originals) {
    for (let cut = 0; cut < original.length; cut += 5) pdfUris(original.subarray(0, cut), plenty());
    for (let i = 0; i < 2000; i++) {
      const bad = Buffer.from(original);
      for (let k = 0; k < 1 + (i % 4); k++)
        bad[Math.floor(Math.random() * bad.length)] = Math.floor(Math.random() * 256);
      for (const u of pdfUris(bad, plenty())) assert.ok(u.length <= 4096);
    }
  }
  // Unterminated strings and streams, many "stream" words, random tails.
  pdfUris(Buffer.from(`%PDF-1.7 /URI (${'a'.repeat(100000)}`), plenty());
  pdfUris(Buffer.from(`%PDF-1.7 ${'stream '.repeat(20000)}`), plenty());
  // Many keywords in a large file (what a 32 MB attachment can hold): a bounded number is looked at.
  const many = (unit: string) => Buffer.from(`%PDF-1.7 ${unit.repeat(Math.ceil((8 << 20) / unit.length))}`);
  // (Unbounded, 8 MB of "/URI (" took 79 s here; the test's timeout catches a return of that.)
  assert.deepEqual(pdfUris(many('/URI ('), plenty()), []);
  pdfUris(many('obj << /Filter /FlateDecode >> stream\nxx\nendstream '), plenty());
  for (let i = 0; i < 500; i++)
    pdfUris(Buffer.concat([Buffer.from('%PDF-1.5\n'), randomBytes(1 + (i % 400))]), plenty());
});
