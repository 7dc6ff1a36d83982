// Links inside Office documents: external relationships of the package's .rels parts, as Word writes
// them (a hand-built .docx) and as a real writer makes them (openpyxl, Debian's python3-openpyxl, writing
// a workbook with hyperlinked cells); internal relationships and plain zips give nothing; the allowance
// for what is inflated holds.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { docxWithLink, OLE_DOC_MACRO, OLE_DOC_PLAIN, OLE_XLS_MACRO } from '../../../test/helpers/office.ts';
import { buildZip } from '../../../test/helpers/zip.ts';
import { officeTargets, oleMacros } from './office.ts';

const run = promisify(execFile);
const plenty = () => ({ unpacked: 16 << 20 });

test('a .docx hyperlink: the external relationship, entities decoded; internal ones and plain zips give nothing', () => {
  assert.deepEqual(officeTargets(docxWithLink('https://login.evil.example/a?b=1&c=2'), plenty()), [
    'https://login.evil.example/a?b=1&c=2',
  ]);
  const plainZip = buildZip([
    { name: 'x/_rels/a.rels', data: Buffer.from('<Relationship Target="https://x.example/" TargetMode="External"/>') },
  ]);
  assert.deepEqual(officeTargets(plainZip, plenty()), [], 'no [Content_Types].xml: not an Office package');
  assert.deepEqual(officeTargets(docxWithLink('https://x.example/'), { unpacked: 10 }), [], 'over the allowance');
  assert.deepEqual(officeTargets(Buffer.from('PK not really'), plenty()), []);
});

test('hostile packages: 4 MB of unclosed relationship tags are read once', { timeout: 60_000 }, () => {
  const rels = Buffer.from('<Relationship Target="https://x.example/" TargetMode="External" '.repeat(64_000));
  const zip = buildZip([
    { name: '[Content_Types].xml', data: Buffer.from('<Types/>') },
    { name: 'word/_rels/document.xml.rels', data: rels },
  ]);
  assert.deepEqual(officeTargets(zip, plenty()), [], 'no tag is ever closed');
});

const python = '/usr/bin/python3';
const openpyxl = async (): Promise<string | undefined> => {
  const why =
    'python3-openpyxl not installed (apt-get install python3-openpyxl); PETREL_TEST_REQUIRE_PEERS=1 makes this fail';
  const ok =
    existsSync(python) &&
    (await run(python, ['-c', 'import openpyxl']).then(
      () => true,
      () => false,
    ));
  if (ok) return undefined;
  if (process.env.PETREL_TEST_REQUIRE_PEERS === '1') throw new Error(`required peer missing: ${why}`);
  return why;
};

test('an .xlsx with a hyperlinked cell, as openpyxl writes it', async (t) => {
  const skip = await openpyxl();
  if (skip) return t.skip(skip);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-office-'));
  try {
    const file = join(dir, 'invoice.xlsx');
    const script = [
      'import openpyxl, sys',
      'wb = openpyxl.Workbook()',
      'ws = wb.active',
      "ws['A1'] = 'Pay here'",
      "ws['A1'].hyperlink = 'https://pay.evil.example/invoice?id=7&x=1'",
      "ws['A2'] = 'Internal'",
      "ws['A2'].hyperlink = '#Sheet!B2'",
      'wb.save(sys.argv[1])',
    ].join('\n');
    await run(python, ['-c', script, file]);
    // openpyxl writes an in-workbook link as an external target too; only web links become URLs (officeLinks).
    assert.deepEqual(officeTargets(readFileSync(file), plenty()), [
      'https://pay.evil.example/invoice?id=7&x=1',
      '#Sheet!B2',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('VBA projects in OLE2 files: found by the directory entry, its name in any case; text naming it is none', () => {
  assert.equal(oleMacros(OLE_DOC_MACRO), true);
  assert.equal(oleMacros(OLE_XLS_MACRO), true);
  assert.equal(oleMacros(OLE_DOC_PLAIN), false, 'the UTF-16 text "_VBA_PROJECT" is no directory entry');
  // CFB compares names without case (MS-CFB 2.6.4): a lower-cased entry is the same stream to Office.
  const lower = Buffer.from(OLE_DOC_MACRO);
  const at = lower.indexOf(Buffer.from('_VBA_PROJECT', 'utf16le'));
  lower.write('_vba_project', at, 'utf16le');
  assert.equal(oleMacros(lower), true);
  assert.equal(oleMacros(buildZip([{ name: 'word/document.xml', data: Buffer.from('<w/>') }])), false);
});
