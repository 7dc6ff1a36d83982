// Attachment names: executables, double extensions (decoy extension or blanks before the real one),
// macro-enabled Office types, HTML and SVG files (active or not), and hostile input that must not make
// the checks quadratic.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { uuencode } from '../../../test/helpers/mime.ts';
import { parseMessage } from '../../mime/parse.ts';
import { activeHtml, attachmentFindings, judgeName, webShortcut } from './attachments.ts';
import { uudecode } from './parts.ts';

const EXE = new Set(['exe', 'scr']);

test('names: executable, decoy or blank-padded double extension, macro types', () => {
  assert.deepEqual(judgeName('setup.exe', EXE), ['executable']);
  assert.deepEqual(judgeName('invoice.pdf.exe', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('invoice.txt      .scr', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('invoice  .scr', EXE), ['executable']);
  assert.deepEqual(judgeName('dir/report.EXE  ', EXE), ['executable']);
  assert.deepEqual(judgeName('budget.xlsm', EXE), ['macro']);
  assert.deepEqual(judgeName('photo.jpg', EXE), []);
  // Windows drops trailing dots and blanks: these are saved as invoice.pdf.exe and setup.exe.
  assert.deepEqual(judgeName('invoice.pdf.exe.', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('dir/setup.exe . .', EXE), ['executable']);
  assert.deepEqual(judgeName('invoice.txt      .scr ..', EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName('notes.txt...', EXE), []);
});

test('hostile names: half a megabyte of blanks is read once', () => {
  // The old /\s{3,}\.[^.]+$/ and /\s+$/ retried from every blank: minutes on these.
  const blanks = ' '.repeat(1 << 19);
  assert.deepEqual(judgeName(`${blanks}x.exe`, EXE), ['executable']);
  assert.deepEqual(judgeName(`x.pdf${blanks}.exe`, EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName(`x.exe${blanks}y`, EXE), []);
  assert.deepEqual(judgeName(`x.exe${' .'.repeat(1 << 18)}`, EXE), ['executable']);
  assert.deepEqual(judgeName(`x.exe${' .'.repeat(1 << 18)}y`, EXE), []);
  // Only the last path part and its last two extensions are read: long paths of dots and slashes
  // (what an archive's directory can list by the thousand) cost no more than their end.
  const path = '/.'.repeat(1 << 16);
  assert.deepEqual(judgeName(`${path}/invoice.pdf.exe`, EXE), ['executable', 'double_extension']);
  assert.deepEqual(judgeName(`${path}0`, EXE), []);
  assert.deepEqual(judgeName(`a.exe${path}`, EXE), []);
  assert.deepEqual(judgeName(`${'.'.repeat(1 << 17)}exe`, EXE), ['executable']);
  assert.deepEqual(judgeName(`x.${'pdf'.repeat(1 << 16)}.exe`, EXE), ['executable']);
});

test('HTML and SVG files: by name, by type when sent as an attachment; active when they act', () => {
  const mail = (parts: string) =>
    Buffer.from(
      'From: a@b.test\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n' +
        `--b\r\nContent-Type: text/html\r\n\r\n<p>The body: <script>location.href="x"</script></p>\r\n${parts}--b--\r\n`,
    );
  const kinds = (parts: string) => {
    const raw = mail(parts);
    return attachmentFindings(raw, parseMessage(raw), EXE).map((f) => `${f.kind} ${f.file}`);
  };
  // The HTML body itself, whatever it holds, is no attachment.
  assert.deepEqual(kinds(''), []);
  assert.deepEqual(
    kinds('--b\r\nContent-Type: application/octet-stream; name="invoice.html"\r\n\r\n<p>Paid.</p>\r\n'),
    ['html invoice.html'],
  );
  const smuggled = Buffer.from('<html><script>document.write(atob("PGZvcm0+"))</script></html>').toString('base64');
  assert.deepEqual(
    kinds(
      `--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n${smuggled}\r\n`,
    ),
    ['html unnamed', 'html_active unnamed'],
  );
  assert.deepEqual(
    kinds(
      '--b\r\nContent-Type: image/svg+xml; name="logo.svg"\r\n\r\n<svg><meta http-equiv="refresh" content="0;url=https://x.test"/></svg>\r\n',
    ),
    ['html logo.svg', 'html_active logo.svg'],
  );
  assert.deepEqual(
    kinds(
      '--b\r\nContent-Type: text/html; name="login.htm"\r\nContent-Disposition: attachment; filename="login.htm"\r\n\r\n' +
        '<form action="https://x.test"><input type="password" name="p"></form>\r\n',
    ),
    ['html login.htm', 'html_active login.htm'],
  );
  // A zip's entries by name only.
  assert.deepEqual(judgeName('docs/statement.shtml', EXE), ['html']);
});

// No timing assertion (a loaded machine is slow): a quadratic search over these 1 MB inputs takes many
// minutes and trips the test's timeout; the linear one takes well under a second each.
test('active-content search is linear on hostile HTML', { timeout: 60_000 }, () => {
  for (const unit of ['location', 'atob', '<meta ', '<meta http-equiv', 'location ', 'eval   '])
    assert.equal(activeHtml(Buffer.from(unit.repeat((1 << 20) / unit.length))), false, unit);
});

test('uudecode: what uuencode wrote, with "`" or a blank for zero, the begin and end lines around it', () => {
  const data = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 7) % 256));
  assert.deepEqual(uudecode(Buffer.from(uuencode(data, 'x.bin'))), data);
  // Python's binascii.b2a_uu (a blank for zero) of the octets 0 to 5, without begin and end lines.
  assert.deepEqual(uudecode(Buffer.from('&  $" P0%\n')), Buffer.from([0, 1, 2, 3, 4, 5]));
  // Anything else decodes to octets of no meaning, never more than 3 for 4 characters.
  assert.ok(uudecode(Buffer.from('not uuencoded at all')).length <= 15);
});

test('Internet shortcuts: web links are links, file:/UNC targets or icons are not', () => {
  const url = (t: string) => Buffer.from(t, 'latin1');
  assert.equal(webShortcut(url('[InternetShortcut]\r\nURL=https://example.com/a\r\n')), true);
  assert.equal(webShortcut(url('\n  [InternetShortcut]\n\n  URL = http://example.com/  \n')), true);
  assert.equal(webShortcut(url('[InternetShortcut]\nURL=file://192.0.2.1/share/x.vbs\n')), false);
  assert.equal(
    webShortcut(url('[InternetShortcut]\nURL=https://example.com/\nIconFile=\\\\192.0.2.1\\i.ico\n')),
    false,
  );
  assert.equal(webShortcut(url('[{000214A0-0000-0000-C000-000000000046}]\nBASEURL=https://example.com/\n')), true);
  assert.equal(webShortcut(url('URL=https://example.com/\n')), false); // no section: not a shortcut
  assert.equal(webShortcut(url('[InternetShortcut]\n')), false); // nothing to open
});
