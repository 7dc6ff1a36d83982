// Attachment names as mail clients read them, over the wire (raw SMTP from 127.0.0.96): a part declares
// its name twice (Content-Type name=, Content-Disposition filename=, a parameter repeated, an RFC 2231
// form beside a plain one) and clients differ in which they save under, so an executable named in any of
// them is refused, as amavis judges every declared name; and the carriers of recent campaigns (.url,
// .iqy, .slk, .one ...) are executables by default.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { uuencode } from '../helpers/mime.ts';
import type { TestServer } from '../helpers/server.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { buildZip } from '../helpers/zip.ts';
import { newestVerdict } from './fixture.ts';
import { sendSupplierMail, startMailboxServer } from './supplier-mail.ts';

const CAROL = 'carol@names.test';
let t: TestServer;

before(async () => {
  t = await startMailboxServer(CAROL, 'names-secret-pw');
});
after(() => t?.stop());

/** A message whose one attachment has the given part header lines and content. */
function send(partHeaders: string[], content: Buffer = Buffer.from('hello')) {
  return sendSupplierMail(t, {
    ip: '127.0.0.96',
    to: CAROL,
    subject: 'Remittance advice',
    text: 'Please see the attached remittance.',
    parts: ['--b', ...partHeaders, 'Content-Transfer-Encoding: base64', '', content.toString('base64')],
  });
}

test('an executable name in Content-Type name= is refused though filename= says .pdf', async () => {
  const cases = [
    [
      'Content-Type: application/octet-stream; name="remittance.exe"',
      'Content-Disposition: attachment; filename="remittance.pdf"',
    ],
    [
      'Content-Type: application/pdf',
      'Content-Disposition: attachment; filename="remittance.pdf"; filename="remittance.exe"',
    ],
    [
      'Content-Type: application/pdf',
      `Content-Disposition: attachment; filename="remittance.js"; filename*=utf-8''remittance.pdf`,
    ],
  ];
  for (const headers of cases) {
    const r = await send(headers);
    assert.equal(r.code, 550, `${headers.join(' / ')}: ${r.raw}`);
    assert.match(r.raw, /5\.7\.1 Attachment refused by policy: remittance\.(exe|js)/);
  }
  // Two names that agree on a harmless type are delivered.
  const r = await send([
    'Content-Type: application/pdf; name="remittance.pdf"',
    'Content-Disposition: attachment; filename="Remittance.PDF"',
  ]);
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(
    Object.keys((await newestVerdict(t, CAROL)).symbols).filter((s) => s.startsWith('ATTACH')),
    [],
  );
});

test('the carriers of recent campaigns are refused by default, as Gmail and Outlook refuse them', async () => {
  // Internet shortcuts (DarkGate through CVE-2024-21412), Excel web queries and SYLK sheets (Necurs,
  // Trickbot), a search connector that leaks NTLM (CVE-2025-24054), a Windows cabinet, modules of
  // JavaScript and VBScript, a macOS disk image.
  for (const name of [
    'Invoice.url',
    'report.iqy',
    'data.slk',
    'Documents.library-ms',
    'update.cab',
    'app.mjs',
    'run.vb',
    'Setup.dmg',
  ]) {
    const r = await send([
      'Content-Type: application/octet-stream',
      `Content-Disposition: attachment; filename="${name}"`,
    ]);
    assert.equal(r.code, 550, `${name}: ${r.raw}`);
  }
});

test('an Internet shortcut to a web page is a link, not a program; one to a file: or UNC path is refused', async () => {
  const shortcut = (lines: string[]) => Buffer.from(`${lines.join('\r\n')}\r\n`);
  const part = (name: string) => [
    'Content-Type: application/octet-stream',
    `Content-Disposition: attachment; filename="${name}"`,
  ];
  // As Outlook Express saved a dragged link (the benchmark corpus's ham has one).
  const web = await send(
    part('Liberalism in America.url'),
    shortcut([
      '[DEFAULT]',
      'BASEURL=http://www.example.edu/liberalism.html',
      '[InternetShortcut]',
      'URL=http://www.example.edu/liberalism.html',
      'Modified=E0824ED43364C201DE',
    ]),
  );
  assert.equal(web.code, 250, web.raw);
  assert.equal((await newestVerdict(t, CAROL)).symbols.ATTACH_EXECUTABLE, undefined);
  // DarkGate: a script on a WebDAV share; CVE-2024-21412: a web link whose icon comes from a share (NTLM).
  for (const lines of [
    ['[InternetShortcut]', 'URL=file://\\\\198.51.100.7@80\\share\\invoice.vbs'],
    ['[InternetShortcut]', 'URL=https://example.org/', 'IconFile=\\\\198.51.100.7\\icons\\pdf.ico', 'IconIndex=1'],
    ['URL=https://example.org/'],
  ]) {
    const r = await send(part('Invoice.url'), shortcut(lines));
    assert.equal(r.code, 550, `${lines.join(' ')}: ${r.raw}`);
  }
});

test('a name cut by a NUL (invoice.exe%00.pdf) is judged as what a C-string reader saves: invoice.exe', async () => {
  const r = await send([
    'Content-Type: application/pdf',
    "Content-Disposition: attachment; filename*=utf-8''invoice.exe%00.pdf",
  ]);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /Attachment refused by policy: invoice\.exe/);
});

test('a file uuencoded or yEncoded in a plain-text body (Thunderbird shows it as an attachment) is judged by its name', async () => {
  let k = 0;
  const body = (lines: string[]) =>
    transaction(t.ports.smtp, {
      ip: '127.0.0.96',
      helo: 'mail.supplier.test',
      from: 'accounts@supplier.test',
      to: [CAROL],
      data: [
        'From: Accounts <accounts@supplier.test>',
        `To: ${CAROL}`,
        'Subject: Remittance advice',
        'Date: Mon, 07 Dec 2026 09:00:00 +0000',
        `Message-ID: <${Date.now()}.body${++k}@supplier.test>`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=us-ascii',
        '',
        'Please see the attached remittance.',
        '',
        ...lines,
        '',
      ].join('\r\n'),
    });
  let r = await body([
    'begin 644 remittance.pdf.exe',
    'M35H``P`````$````__\\``+@`````````0```````````````````````````',
    '`',
    'end',
  ]);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /remittance\.pdf\.exe/);
  r = await body(['=ybegin line=128 size=2 name=setup.scr', '\x77\x84', '=yend size=2']);
  assert.equal(r.code, 550, r.raw);
  // Prose that only starts a line with "begin" is no file.
  r = await body(['begin 2027 with a plan.exe in mind', 'Regards']);
  assert.equal(r.code, 250, r.raw);
});

test('an attachment sent with Content-Transfer-Encoding: x-uuencode (Thunderbird decodes it) is looked inside', async () => {
  const zip = buildZip([{ name: 'remittance.pdf.exe', data: Buffer.from('MZ') }]);
  const r = await sendSupplierMail(t, {
    ip: '127.0.0.96',
    to: CAROL,
    subject: 'Remittance advice',
    text: 'Please see the attached remittance.',
    parts: [
      '--b',
      'Content-Type: application/zip; name="remittance.zip"',
      'Content-Transfer-Encoding: x-uuencode',
      '',
      uuencode(zip, 'remittance.zip'),
    ],
  });
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /remittance\.zip\/remittance\.pdf\.exe/);
});
