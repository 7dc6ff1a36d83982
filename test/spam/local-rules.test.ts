// Local rules over the wire: a Petrel with spam.rules takes mail from a client on 127.0.0.x. A scoring rule
// adds its symbol (stored with the verdict), a junk rule files the copy into Junk, a reject rule refuses at
// the end of DATA naming the rule but not its pattern, and a pattern that backtracks without end on some
// message costs that message a CONTENT_SCAN_TIMEOUT (the scan's worker is stopped) while the server goes on
// answering. A bad rule stops the start with the reason. The other content checks run beside the rules (a
// Subject dressed in look-alike letters).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { newestVerdict } from './fixture.ts';

const ALICE = 'alice@rules.test';
const RULES = [
  'LOCAL_INVOICE subject /overdue invoice/i 2.5',
  'LOCAL_CASINO body /online casino/i 1 junk',
  'LOCAL_MAILER header:X-Mailer /^BulkBlaster/ 0 reject',
  'LOCAL_SLOW body /^(a+)+$/ 1',
  // A rule on one host, and one on a path of any host.
  'LOCAL_EVIL_HOST url /^https?:\\/\\/evil\\.example\\// 2',
  'LOCAL_LOGIN_PATH url /\\/login\\.php\\b/ 1.5',
];
let t: TestServer;

before(async () => {
  t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.scan.timeout_ms = 1000;
      c.spam.rules = RULES;
    },
  });
  await t.app.directory.addDomain('rules.test');
  await t.app.directory.addAccount(ALICE, 'rules-secret-pw');
});
after(() => t?.stop());

const send = (subject: string, body: string, extra = '') =>
  transaction(t.ports.smtp, {
    ip: '127.0.0.91',
    helo: 'client.rules.test',
    from: 'sender@outside.test',
    to: [ALICE],
    data:
      `From: sender@outside.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n` +
      `Message-ID: <${Date.now()}.${Math.random()}@outside.test>\r\n${extra}\r\n${body}`,
  });

const newest = () => newestVerdict(t, ALICE);

test('a scoring rule adds its symbol; a junk rule files into Junk; a reject rule refuses naming only the rule', async () => {
  assert.equal((await send('Overdue Invoice 42', 'Please pay.')).code, 250);
  let n = await newest();
  assert.equal(n.symbols.LOCAL_INVOICE, 2.5);
  assert.equal(n.box, 'INBOX');

  assert.equal((await send('Tonight', 'Best ONLINE CASINO bonuses.')).code, 250);
  n = await newest();
  assert.equal(n.box, 'Junk');
  assert.equal(n.symbols.LOCAL_CASINO, 1);

  const r = await send('Hello', 'Plain text.', 'X-Mailer: BulkBlaster 3.1\r\n');
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /5\.7\.1 Message refused by local policy \(LOCAL_MAILER\)/);
  assert.ok(!r.raw.includes('BulkBlaster'), 'the pattern is not shown to the sender');
});

test('url rules match links in their normalised form: scheme and host case, a trailing dot, %-encoded letters', async () => {
  // Each link written as a sender may write it to slip past a rule; a browser opens each at evil.example.
  for (const link of [
    'HTTPS://EVIL.EXAMPLE/x',
    'https://evil.example./x',
    'https://evil.example../x',
    'https://ev%69l.example/x',
    'HTTPS://Evil.Example.:443/x',
  ]) {
    const html = `<p>See <a href="${link}">your account</a></p>`;
    assert.equal((await send('Account', html, 'Content-Type: text/html\r\n')).code, 250);
    const n = await newest();
    assert.equal(n.symbols.LOCAL_EVIL_HOST, 2, `${link}: ${JSON.stringify(n.symbols)}`);
  }
  // A rule about the path: the path keeps its case, and letters written %-encoded match as letters (RFC
  // 3986 section 6.2.2.2); a look-alike host of the rule's does not match a rule anchored on it.
  for (const link of ['https://shop.example/login.php?x=1', 'https://shop.example/%6Cogin%2Ephp']) {
    assert.equal((await send('Login', `Log in at ${link} today.`)).code, 250);
    const n = await newest();
    assert.equal(n.symbols.LOCAL_LOGIN_PATH, 1.5, `${link}: ${JSON.stringify(n.symbols)}`);
  }
  for (const link of [
    'https://evil.example.test/x',
    'https://shop.example/LOGIN.PHP',
    'https://shop.example/login%2Fphp',
  ]) {
    assert.equal((await send('Other', `Go to ${link} today.`)).code, 250);
    const n = await newest();
    assert.ok(
      !('LOCAL_EVIL_HOST' in n.symbols) && !('LOCAL_LOGIN_PATH' in n.symbols),
      `${link}: ${JSON.stringify(n.symbols)}`,
    );
  }
});

test('a pattern that backtracks without end costs that message a scan timeout, not the server', async () => {
  const started = Date.now();
  const r = await send('aaa', `${'a'.repeat(40)}!`);
  assert.equal(r.code, 250, r.raw);
  const n = await newest();
  assert.ok('CONTENT_SCAN_TIMEOUT' in n.symbols, JSON.stringify(n.symbols));
  assert.ok(!('LOCAL_SLOW' in n.symbols));
  // Without the scan's time limit the pattern runs for ever; with it, seconds (no speed claim).
  assert.ok(Date.now() - started < 60_000);
  // And the next message is scanned as usual.
  assert.equal((await send('Overdue invoice again', 'Please pay.')).code, 250);
  assert.equal((await newest()).symbols.LOCAL_INVOICE, 2.5);
});

test('petrel spam check runs the rules under the same time limit as the server', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-rules-check-'));
  try {
    const config = join(dir, 'petrel.toml');
    writeFileSync(
      config,
      `[server]\ndata_dir = ${JSON.stringify(t.app.config.server.data_dir)}\n` +
        `[spam]\nrules = ${JSON.stringify(RULES)}\n[spam.scan]\ntimeout_ms = 1000\n`,
    );
    const mail = (subject: string, body: string) =>
      `From: sender@outside.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@outside.test>\r\n\r\n${body}\r\n`;
    writeFileSync(join(dir, 'slow.eml'), mail('aaa', `${'a'.repeat(40)}!`));
    writeFileSync(join(dir, 'invoice.eml'), mail('Overdue invoice', 'Please pay.'));
    // In place, the slow pattern would hold the command for good (the run's timeout would fail the test).
    const r = await run(
      process.execPath,
      [resolve('bin/petrel.js'), '--config', config, 'spam', 'check', join(dir, 'slow.eml'), join(dir, 'invoice.eml')],
      { timeoutMs: 30000 },
    );
    assert.equal(r.status, 0, r.stderr);
    const [slow, invoice] = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const names = (v: { symbols: { name: string }[] }) => v.symbols.map((s) => s.name);
    assert.ok(names(slow).includes('CONTENT_SCAN_TIMEOUT'), r.stdout);
    assert.ok(!names(slow).includes('LOCAL_SLOW'), r.stdout);
    assert.ok(names(invoice).includes('LOCAL_INVOICE'), r.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('beside the rules, the content checks run too: a Subject in look-alike letters scores', async () => {
  // "Pаypal" with a Cyrillic "а", sent as UTF-8 in an encoded word.
  const subject = `=?utf-8?b?${Buffer.from('Your Pаypal account').toString('base64')}?=`;
  assert.equal((await send(subject, 'hello')).code, 250);
  assert.equal((await newest()).symbols.PHISH_MIXED_SCRIPT_TEXT, 3);
});

test('a bad rule stops the start with the reason', async () => {
  await assert.rejects(
    startTestServer({ configure: (c) => (c.spam.rules = ['LOCAL_BAD subject /(unclosed/ 1']) }),
    /spam\.rules: bad pattern in "LOCAL_BAD subject \/\(unclosed\/ 1"/,
  );
});

test('many symbols: the stored X-Spam-Status field is folded into lines of at most 78 octets', async () => {
  // Sixty rules that all match (an admin's list grows, as SpamAssassin users' do): their symbols would make
  // one "tests=" line of over 1,700 octets, past RFC 5322 section 2.1.1's 998 (MUST) and 78 (SHOULD).
  const many = Array.from({ length: 60 }, (_, i) => `LOCAL_NEWSLETTER_WORDING_${i} body /newsletter/i 0.01`);
  const u = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.rules = many;
    },
  });
  try {
    await u.app.directory.addDomain('rules.test');
    await u.app.directory.addAccount(ALICE, 'rules-secret-pw');
    const r = await transaction(u.ports.smtp, {
      ip: '127.0.0.91',
      helo: 'client.rules.test',
      from: 'sender@outside.test',
      to: [ALICE],
      data:
        `From: sender@outside.test\r\nTo: ${ALICE}\r\nSubject: news\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n` +
        `Message-ID: <${Date.now()}@outside.test>\r\n\r\nOur newsletter.\r\n`,
    });
    assert.equal(r.code, 250, r.raw);
    const acc = await u.app.store.getAccount(ALICE);
    const box = await u.app.store.getMailbox(acc!.id, 'INBOX');
    const [m] = await u.app.store.listMessages(box!.id);
    const stored = (await (await u.app.mail.source(m)).read()).toString('latin1');
    const header = stored.slice(0, stored.indexOf('\r\n\r\n'));
    const field = /^X-Spam-Status:.*(?:\r\n[ \t].*)*/m.exec(header)![0];
    for (const line of field.split('\r\n')) assert.ok(line.length <= 78, `${line.length} octets: ${line}`);
    // Unfolded (RFC 5322 section 2.2.3), every symbol is there once, as NAME=score.
    const tests = /tests=(.*)$/.exec(field.replace(/\r\n(?=[ \t])/g, ''))![1];
    const names = tests.split(/,\s*/).map((x) => x.split('=')[0]);
    for (let i = 0; i < 60; i++) assert.equal(names.filter((n) => n === `LOCAL_NEWSLETTER_WORDING_${i}`).length, 1);
    assert.ok(
      tests.split(/,\s*/).every((x) => /^[A-Z0-9_]+=-?[\d.]+$/.test(x)),
      tests,
    );
    // The verdict row has the same symbols.
    const n = await newestVerdict(u, ALICE);
    assert.equal(n.symbols.LOCAL_NEWSLETTER_WORDING_59, 0.01);
  } finally {
    await u.stop();
  }
});
