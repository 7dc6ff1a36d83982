// The content checks on crafted messages through the real pipeline: dangerous attachments (by name, by
// magic bytes, inside zips, encrypted zips, macro Office files) per policy, phishing heuristics against
// the directory's own domains and protected brands, and header anomalies.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { attachmentsCheck } from '../../src/spam/checks/attachments.ts';
import { headerAnomaliesCheck } from '../../src/spam/checks/header-anomalies.ts';
import { phishingCheck } from '../../src/spam/checks/phishing.ts';
import { runPipeline } from '../../src/spam/pipeline.ts';
import type { SpamCheck } from '../../src/spam/types.ts';
import { openTestMail, type TestMail } from '../helpers/mail.ts';
import { attachmentPart } from '../helpers/mime.ts';
import { buildZip } from '../helpers/zip.ts';
import { context, msg, spamConfig } from './context.ts';

let t: TestMail;
before(async () => {
  t = await openTestMail('sqlite'); // hosts example.com
});
after(() => t.close());

const HEAD = [
  'From: Alice <alice@sender.example>',
  'To: bob@example.com',
  'Date: ' + new Date().toUTCString(),
  'Message-ID: <1@sender.example>',
  'Subject: hi',
];

function withAttachment(filename: string, type: string, body: Buffer): Buffer {
  return msg(
    ...HEAD,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    '',
    'see attached',
    ...attachmentPart(filename, type, body),
    '--b--',
    '',
  );
}

async function verdict(checks: SpamCheck[], raw: Buffer) {
  return runPipeline(context(raw), { checks, thresholds: { junk: 6, reject: 15 }, timeoutMs: 5000, network: false });
}
const names = (v: { symbols: { name: string }[] }) => v.symbols.map((s) => s.name).sort();

test('attachments: executables, double extensions, zips, macros, by policy', async () => {
  const check = attachmentsCheck({ config: spamConfig() });
  const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]);
  let v = await verdict([check], withAttachment('invoice.pdf.exe', 'application/octet-stream', exe));
  assert.deepEqual(names(v), ['ATTACH_DOUBLE_EXTENSION', 'ATTACH_EXECUTABLE']);
  assert.equal(v.action, 'reject');
  assert.ok(v.symbols.every((s) => s.force === 'reject' && /invoice\.pdf\.exe/.test(s.detail ?? '')));
  // Magic bytes find an executable whatever its name says.
  v = await verdict([check], withAttachment('photo.jpg', 'image/jpeg', exe));
  assert.deepEqual(names(v), ['ATTACH_EXECUTABLE']);
  assert.match(v.symbols[0].detail ?? '', /photo\.jpg \(PE\)/);
  // Today's carriers by extension: a disk image, an Excel add-in, a console snap-in (no magic bytes needed).
  for (const name of ['Invoice.vhdx', 'report.xll', 'settings.msc']) {
    v = await verdict([check], withAttachment(name, 'application/octet-stream', Buffer.from('<xml/>')));
    assert.deepEqual(names(v), ['ATTACH_EXECUTABLE'], name);
  }
  // An executable inside a zip; an encrypted zip; a macro workbook; vbaProject.bin in a .docx.
  v = await verdict(
    [check],
    withAttachment('docs.zip', 'application/zip', buildZip([{ name: 'scan.pdf.scr', data: exe }])),
  );
  assert.deepEqual(names(v), ['ATTACH_DOUBLE_EXTENSION', 'ATTACH_EXECUTABLE']);
  v = await verdict(
    [check],
    withAttachment(
      'secret.zip',
      'application/zip',
      buildZip([{ name: 'a.txt', data: Buffer.from('x'), encrypted: true }]),
    ),
  );
  assert.deepEqual(names(v), ['ATTACH_ENCRYPTED_ARCHIVE']);
  assert.equal(v.action, 'accept', 'scores 4 by default, no refusal');
  assert.equal(v.score, 4);
  v = await verdict(
    [check],
    withAttachment(
      'q3.xlsm',
      'application/vnd.ms-excel.sheet.macroEnabled.12',
      buildZip([{ name: '[Content_Types].xml', data: Buffer.from('<x/>') }]),
    ),
  );
  assert.deepEqual(names(v), ['ATTACH_MACRO']);
  v = await verdict(
    [check],
    withAttachment(
      'letter.docx',
      'application/octet-stream',
      buildZip([{ name: 'word/vbaProject.bin', data: Buffer.from('vba') }]),
    ),
  );
  assert.deepEqual(names(v), ['ATTACH_MACRO']);
  // A harmless PDF and zip add nothing.
  v = await verdict([check], withAttachment('report.pdf', 'application/pdf', Buffer.from('%PDF-1.4 ...')));
  assert.deepEqual(names(v), []);
  // Policy: executables scored instead of refused; macros ignored.
  const lenient = attachmentsCheck({
    config: spamConfig((s) => {
      s.attachments.executable = 'score';
      s.attachments.double_extension = 'score';
      s.attachments.macro = 'off';
    }),
  });
  v = await verdict([lenient], withAttachment('invoice.pdf.exe', 'application/octet-stream', exe));
  assert.equal(v.action, 'reject', 'two scores of 8 pass the reject threshold of 15');
  assert.equal(v.score, 16);
  assert.ok(v.symbols.every((s) => !s.force));
  v = await verdict([lenient], withAttachment('q3.xlsm', 'application/octet-stream', Buffer.from('x'.repeat(100))));
  assert.deepEqual(names(v), []);
});

test('phishing: local-domain and brand impersonation, look-alikes, link mismatch, credential forms, IP and user-part links', async () => {
  const check = phishingCheck({ store: t.store, config: spamConfig() });
  const run = async (from: string, body: string[] = ['hello'], type = 'text/plain') =>
    names(await verdict([check], msg(`From: ${from}`, 'To: bob@example.com', `Content-Type: ${type}`, '', ...body)));
  assert.deepEqual(await run('"example.com IT Support" <help@helpdesk.example.net>'), ['PHISH_LOCAL_IMPERSONATION']);
  assert.deepEqual(await run('"IT Support" <it@example.com>'), [], 'our own domain in From is not impersonation');
  assert.deepEqual(await run('"PayPal Service" <service@secure-pay.example.net>'), ['PHISH_BRAND_IMPERSONATION']);
  assert.deepEqual(await run('"PayPal" <service@paypal.com>'), [], 'the brand from its own domain');
  assert.deepEqual(
    await run('"Lockergnome Apple Digest" <news@lockergnome.example>'),
    [],
    'a brand mentioned, not claimed',
  );
  assert.deepEqual(await run('"billing@example.org" <x@other.example.net>'), ['PHISH_DISPLAY_ADDRESS']);
  assert.deepEqual(await run('Team <team@pаypal.com>'), ['PHISH_LOOKALIKE_DOMAIN']); // Cyrillic а
  assert.deepEqual(await run('Team <team@examp1e.com>'), ['PHISH_LOOKALIKE_DOMAIN'], 'look-alike of a local domain');
  assert.deepEqual(await run('Team <team@xn--e1awd7f.com>'), []); // all-Cyrillic, imitates nothing listed
  assert.deepEqual(
    await run(
      'A <a@shop.example.net>',
      ['<a href="https://login.evil.example.org/">https://www.paypal.com/signin</a>'],
      'text/html',
    ),
    ['PHISH_LINK_MISMATCH'],
  );
  assert.deepEqual(
    await run('A <a@shop.example.net>', ['<a href="https://www.shop.example.net/x">shop.example.net</a>'], 'text/html'),
    [],
    'text and link on the same registered domain',
  );
  assert.deepEqual(
    await run(
      'A <a@shop.example.net>',
      ['<form action="https://x.example.org/"><input type="password" name="p"></form>'],
      'text/html',
    ),
    ['PHISH_CREDENTIAL_FORM'],
  );
  assert.deepEqual(await run('A <a@shop.example.net>', ['Reset at http://g00gle.com/reset']), [
    'PHISH_LOOKALIKE_DOMAIN',
  ]);
  // Links to bare IP addresses, also spelled in hex or as one decimal number.
  for (const link of ['http://192.0.2.7/login', 'http://0xC0000207/login', 'http://3221225991/login'])
    assert.deepEqual(await run('A <a@shop.example.net>', [`Sign in: ${link}`]), ['PHISH_LINK_TO_IP'], link);
  assert.deepEqual(
    await run(
      'A <a@shop.example.net>',
      ['<a href="https://www.shop.example.net@evil.example.org/">account</a>'],
      'text/html',
    ),
    ['PHISH_LINK_USERINFO'],
  );
  assert.deepEqual(
    await run('A <a@shop.example.net>', ['Visit https://www.shop.example.net/a@b']),
    [],
    'an @ in the path',
  );
});

test('phishing: words dressed in look-alike letters, in the Subject, the sender name or the body', async () => {
  const check = phishingCheck({ store: t.store, config: spamConfig() });
  const run = async (subject: string, from: string, body: string) =>
    names(
      await verdict(
        [check],
        msg(
          `From: ${from}`,
          'To: bob@example.com',
          `Subject: ${subject}`,
          'Content-Type: text/plain; charset=utf-8',
          '',
          body,
        ),
      ),
    );
  // Cyrillic "а" (U+0430) and "о" (U+043E) inside Latin words.
  assert.deepEqual(await run('Your Pаypal account', 'A <a@shop.example.net>', 'hello'), ['PHISH_MIXED_SCRIPT_TEXT']);
  // The disguised word is also the brand claimed from elsewhere.
  assert.deepEqual(await run('hello', '"Micrоsoft Team" <a@shop.example.net>', 'hello'), [
    'PHISH_BRAND_IMPERSONATION',
    'PHISH_MIXED_SCRIPT_TEXT',
  ]);
  assert.deepEqual(await run('hello', 'A <a@shop.example.net>', 'Vеrify yоur аccount now'), [
    'PHISH_MIXED_SCRIPT_TEXT',
  ]);
  assert.deepEqual(
    await run('hello', 'A <a@shop.example.net>', 'Vеrify your account, a 5μm filter'),
    [],
    'one or two words in a body are writing, not disguise',
  );
  assert.deepEqual(
    await run('Привет, как дела? Windows и iPhone', 'Иван <ivan@shop.example.net>', 'Всё хорошо, MacBook тоже.'),
    [],
    'Russian with Latin brand names',
  );
  assert.deepEqual(await run('Καλημέρα', 'A <a@shop.example.net>', 'Γεια σου'), []);
});

test('header anomalies', async () => {
  const now = Date.parse('2026-06-01T12:00:00Z');
  const check = headerAnomaliesCheck({ config: spamConfig(), store: t.store, now: () => now });
  const run = async (...headers: string[]) =>
    names(
      await runPipeline(context(msg(...headers, '', 'body'), { hostname: 'mx.example.com' }), {
        checks: [check],
        thresholds: { junk: 6, reject: 15 },
        timeoutMs: 5000,
        network: false,
      }),
    );
  const ok = ['From: a@sender.example', 'Date: Mon, 01 Jun 2026 11:00:00 +0000', 'Message-ID: <x@sender.example>'];
  assert.deepEqual(await run(...ok), []);
  assert.deepEqual(await run('From: a@sender.example'), ['HDR_MISSING_DATE', 'HDR_MISSING_MESSAGE_ID']);
  assert.deepEqual(await run('From: a@sender.example', 'Date: yesterday-ish', 'Message-ID: no-at-sign'), [
    'HDR_BAD_DATE',
    'HDR_BAD_MESSAGE_ID',
  ]);
  assert.deepEqual(await run(...ok.slice(0, 1), 'Date: Mon, 08 Jun 2026 11:00:00 +0000', ok[2]), ['HDR_DATE_FUTURE']);
  assert.deepEqual(await run(...ok.slice(0, 1), 'Date: Mon, 01 Jan 2024 11:00:00 +0000', ok[2]), ['HDR_DATE_PAST']);
  assert.deepEqual(await run('To: x@example.com', ...ok.slice(1)), ['HDR_MISSING_FROM']);
  assert.deepEqual(await run('From: a@sender.example, b@other.example', ...ok.slice(1)), ['HDR_FROM_MULTIPLE']);
  // Fields that may occur once, twice (RFC 5322 section 3.6): From on its own, the others together.
  assert.deepEqual(await run(...ok, 'From: ceo@example.com'), ['HDR_FROM_DUPLICATE']);
  assert.deepEqual(await run(...ok, 'Subject: one', 'Subject: two', 'Date: Mon, 01 Jun 2026 11:00:00 +0000'), [
    'HDR_DUPLICATE_FIELD',
  ]);
  assert.deepEqual(
    await run('From: a@sender.example, b@other.example', 'Sender: a@sender.example', ...ok.slice(1)),
    [],
  );
  assert.deepEqual(await run(...ok, 'Reply-To: a@mail.sender.example'), [], 'same registered domain');
  assert.deepEqual(await run(...ok, 'Reply-To: payments@gmail.com'), [
    'HDR_REPLYTO_DIFFERENT_DOMAIN',
    'HDR_REPLYTO_FREEMAIL',
  ]);
  assert.deepEqual(await run(...ok, 'List-Id: <l.lists.example>', 'Reply-To: l@lists.example'), [], 'a mailing list');
  // An old message checked later: its Date is judged against when it was received, not against now.
  assert.deepEqual(
    await run(
      'Received: from a by b.example.net; Tue, 02 Jan 2024 11:00:00 +0000',
      'From: a@sender.example',
      'Date: Mon, 01 Jan 2024 11:00:00 +0000',
      ok[2],
    ),
    [],
  );
  assert.deepEqual(
    await run('Received: from evil by mx.example.com with SMTP; Mon, 01 Jun 2026 10:00:00 +0000', ...ok),
    ['HDR_RECEIVED_FORGED_LOCAL'],
  );
  assert.deepEqual(
    await run(
      'Received: from b by c.example.net; Mon, 01 Jun 2026 10:00:00 +0000',
      'Received: from a by b.example.net; Mon, 01 Jun 2026 18:00:00 +0000',
      ...ok,
    ),
    ['HDR_RECEIVED_TIME_INCONSISTENT'],
  );
});
