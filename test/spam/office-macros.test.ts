// Office documents with macros, over the wire (raw SMTP from 127.0.0.97): a Word or Excel file of the old
// binary format (OLE2: .doc, .xls) carrying a VBA project, Emotet's and Dridex's carrier for years, scores
// ATTACH_MACRO like a .docm does, whatever its name, and inside a zip too; a document without one adds
// nothing, even when its text spells the VBA stream's name.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { attachmentPart } from '../helpers/mime.ts';
import { OLE_DOC_MACRO, OLE_DOC_PLAIN, OLE_ENCRYPTED_PACKAGE, OLE_XLS_MACRO } from '../helpers/office.ts';
import type { TestServer } from '../helpers/server.ts';
import { buildZip } from '../helpers/zip.ts';
import { newestVerdict } from './fixture.ts';
import { sendSupplierMail, startMailboxServer } from './supplier-mail.ts';

const DAVE = 'dave@office.test';
let t: TestServer;

before(async () => {
  t = await startMailboxServer(DAVE, 'office-secret-pw');
});
after(() => t?.stop());

async function attachSymbols(name: string, type: string, content: Buffer) {
  const r = await sendSupplierMail(t, {
    ip: '127.0.0.97',
    to: DAVE,
    subject: 'Invoice',
    text: 'Please enable editing to see the invoice.',
    parts: attachmentPart(name, type, content),
  });
  assert.equal(r.code, 250, r.raw);
  return Object.keys((await newestVerdict(t, DAVE)).symbols)
    .filter((s) => s.startsWith('ATTACH'))
    .sort();
}

test('a .doc or .xls with a VBA project scores ATTACH_MACRO, by its content', async () => {
  assert.deepEqual(await attachSymbols('invoice.doc', 'application/msword', OLE_DOC_MACRO), ['ATTACH_MACRO']);
  assert.deepEqual(await attachSymbols('invoice.xls', 'application/vnd.ms-excel', OLE_XLS_MACRO), ['ATTACH_MACRO']);
  // Named as something else: Word opens it by its content all the same.
  assert.deepEqual(await attachSymbols('invoice.rtf', 'application/rtf', OLE_DOC_MACRO), ['ATTACH_MACRO']);
  assert.equal((await newestVerdict(t, DAVE)).symbols.ATTACH_MACRO, 4);
});

test('a macro document inside a zip scores ATTACH_MACRO', async () => {
  const zip = buildZip([
    { name: 'readme.txt', data: Buffer.from('see the invoice') },
    { name: 'scans/invoice-0412.doc', data: OLE_DOC_MACRO },
  ]);
  assert.deepEqual(await attachSymbols('invoice.zip', 'application/zip', zip), ['ATTACH_MACRO']);
});

test('a .doc without macros adds nothing', async () => {
  assert.deepEqual(await attachSymbols('minutes.doc', 'application/msword', OLE_DOC_PLAIN), []);
  assert.deepEqual(
    await attachSymbols('minutes.zip', 'application/zip', buildZip([{ name: 'minutes.doc', data: OLE_DOC_PLAIN }])),
    [],
  );
});

test('an RTF document with an embedded OLE object scores ATTACH_RTF_OBJECT; plain RTF adds nothing', async () => {
  // The Equation Editor exploit (CVE-2017-11882) and OLE2Link (CVE-2017-0199) come as an object in an RTF:
  // {\object\objemb ... {\*\objdata <hex>}}. Word opens any file starting "{\rt" as RTF, whatever it is
  // named, so the header is read loosely too.
  const exploit =
    '{\\rtf1\\ansi\\deff0{\\object\\objemb\\objw380\\objh260{\\*\\objclass Equation.3}' +
    '{\\*\\objdata 01050000020000000b0000004571756174696f6e2e330000000000000000000c0000' +
    'd0cf11e0a1b11ae1000000000000000000000000000000003e000300feff0900}}}';
  assert.deepEqual(await attachSymbols('order.rtf', 'application/rtf', Buffer.from(exploit)), ['ATTACH_RTF_OBJECT']);
  const loose = exploit.replace('{\\rtf1', '{\\rtvpn').replace('\\objemb', '\\objautlink\\objupdate');
  assert.deepEqual(await attachSymbols('order.doc', 'application/msword', Buffer.from(loose)), ['ATTACH_RTF_OBJECT']);
  assert.equal((await newestVerdict(t, DAVE)).symbols.ATTACH_RTF_OBJECT, 3);
  const zip = buildZip([{ name: 'PO-2291.rtf', data: Buffer.from(exploit) }]);
  assert.deepEqual(await attachSymbols('PO-2291.zip', 'application/zip', zip), ['ATTACH_RTF_OBJECT']);
  const plain =
    '{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times;}}\\f0 The object of this letter is the \\b invoice\\b0.\\par}';
  assert.deepEqual(await attachSymbols('letter.rtf', 'application/rtf', Buffer.from(plain)), []);
});

test('an OOXML document whose VBA project has another name, or with Excel 4 macro sheets, scores ATTACH_MACRO', async () => {
  // Part names are the writer's to choose (ECMA-376 Part 2): what marks the VBA project is its content
  // type in [Content_Types].xml, which Word and Excel read, not the name vbaProject.bin.
  const types = (extra: string) =>
    Buffer.from(
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
        '<Default Extension="xml" ContentType="application/xml"/>' +
        extra +
        '</Types>',
    );
  const renamed = buildZip([
    {
      name: '[Content_Types].xml',
      data: types('<Override PartName="/word/data7.dat" ContentType="application/vnd.ms-office.vbaProject"/>'),
    },
    { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
    { name: 'word/data7.dat', data: OLE_DOC_MACRO },
  ]);
  assert.deepEqual(await attachSymbols('invoice.doc', 'application/msword', renamed), ['ATTACH_MACRO']);
  const xlm = buildZip([
    {
      name: '[Content_Types].xml',
      data: types(
        '<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="application/vnd.ms-excel.macrosheet+xml"/>',
      ),
    },
    { name: 'xl/workbook.xml', data: Buffer.from('<workbook/>') },
    { name: 'xl/macrosheets/sheet1.xml', data: Buffer.from('<xm:macrosheet/>') },
  ]);
  assert.deepEqual(await attachSymbols('report.xlsx', 'application/octet-stream', xlm), ['ATTACH_MACRO']);
  // An ordinary .docx adds nothing.
  const plain = buildZip([
    {
      name: '[Content_Types].xml',
      data: types(
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>',
      ),
    },
    { name: 'word/document.xml', data: Buffer.from('<w:document/>') },
  ]);
  assert.deepEqual(await attachSymbols('letter.docx', 'application/octet-stream', plain), []);
});

test('a password-protected Office document scores ATTACH_ENCRYPTED_ARCHIVE, as a password-protected zip does', async () => {
  // What the password hides (a macro, a link) no scanner can read; senders of malware mail the password
  // in the body, as they do for zips (SpamAssassin's OLEMACRO_ENCRYPTED).
  assert.deepEqual(
    await attachSymbols(
      'Payroll.xlsx',
      'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      OLE_ENCRYPTED_PACKAGE,
    ),
    ['ATTACH_ENCRYPTED_ARCHIVE'],
  );
  assert.equal((await newestVerdict(t, DAVE)).symbols.ATTACH_ENCRYPTED_ARCHIVE, 4);
});
