// GTUBE and the outbound scan over the wire. From the internet (the MX port, a client on 127.0.0.x), a
// message whose text carries the GTUBE string is refused at the end of DATA, while GTUBE quoted in a header
// or an attachment is not a test; `petrel spam check` says "reject" for it. From our own user (submission
// with AUTH), with [spam.outbound] on, GTUBE is refused before it is queued (554 5.7.1, a warning naming the
// account, a stored verdict with no sender checks in it), and so is a message whose link is on a URI
// blocklist of the test's DNS once the outbound threshold allows; clean mail goes through. Off, nothing is
// scanned.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { GTUBE } from '../../src/spam/checks/gtube.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const ALICE = 'alice@gtube.test';
const BOB = 'bob@gtube.test';
const PASS = 'gtube-secret-pw';

interface Line {
  msg: string;
  account?: string;
  score?: number;
  symbols?: string[];
}

let dns: DnsServer;
let t: TestServer;
const log = captureLog<Line>();

before(async () => {
  dns = await startDnsServer({
    'bad-links.example.uribl.test': { A: ['127.0.0.2'] },
    // The submitting client (127.0.0.1) listed in a DNS blocklist: outbound mail must not be judged by it.
    '1.0.0.127.dnsbl.test': { A: ['127.0.0.2'] },
  });
  t = await startTestServer({
    logTo: log.stream,
    configure(c) {
      c.dns.nameservers = [dns.address];
      c.listeners.smtp.enabled = true;
      c.spam.outbound.enabled = true;
      c.spam.uribl.zones = ['uribl.test URIBL_TEST:6'];
      c.spam.dnsbl.zones = ['dnsbl.test'];
    },
  });
  await t.app.directory.addDomain('gtube.test');
  await t.app.directory.addAccount(ALICE, PASS);
  await t.app.directory.addAccount(BOB, PASS);
});
after(async () => {
  await t?.stop();
  await dns?.stop();
});

const message = (subject: string, body: string, extra = '') =>
  `From: ${ALICE}\r\nTo: ${BOB}\r\nSubject: ${subject}\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n` +
  `Message-ID: <${subject.replace(/\W/g, '')}.${Date.now()}@gtube.test>\r\n${extra}\r\n${body}\r\n.`;

/** One transaction; `auth`: as Alice on the submission port, else from 127.0.0.81 on the MX port. */
async function transact(data: string, auth: boolean) {
  const c = await RawSmtp.open(auth ? t.ports.submission : t.ports.smtp, auth ? {} : { localAddress: '127.0.0.81' });
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.gtube.test');
    if (auth) await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASS}`).toString('base64')}`);
    await c.expect(250, `MAIL FROM:<${auth ? ALICE : 'someone@outside.test'}>`);
    await c.expect(250, `RCPT TO:<${BOB}>`);
    await c.expect(354, 'DATA');
    return await c.cmd(data);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

async function bobHas(): Promise<number> {
  const acc = await t.app.store.getAccount(BOB);
  let n = 0;
  for (const mb of await t.app.store.listMailboxes(acc!.id)) n += (await t.app.store.listMessages(mb.id)).length;
  return n;
}

test('GTUBE in the text is refused from the internet; quoted in a header or an attachment it is not a test', async () => {
  const r = await transact(message('test', `This is a test.\r\n${GTUBE}\r\n`), false);
  assert.equal(r.code, 550, r.raw);
  assert.match(r.raw, /5\.7\.1 GTUBE test message/);

  const before = await bobHas();
  const quoted = await transact(message(`about ${GTUBE}`, 'See the subject.'), false);
  assert.equal(quoted.code, 250, quoted.raw);
  const attached = await transact(
    message(
      'attachment',
      `--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n` +
        `Content-Disposition: attachment; filename="gtube.bin"\r\n\r\n${GTUBE}\r\n--b--`,
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n',
    ),
    false,
  );
  assert.equal(attached.code, 250, attached.raw);
  assert.equal(await bobHas(), before + 2);
});

test('petrel spam check says "reject" for a GTUBE file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-gtube-'));
  try {
    const file = join(dir, 'gtube.eml');
    writeFileSync(file, message('gtube', GTUBE).slice(0, -1));
    const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'check', file], {
      env: { ...process.env, PETREL_SERVER_DATA_DIR: t.app.config.server.data_dir },
      timeoutMs: 30000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.equal(out.verdict, 'reject');
    assert.ok(
      out.symbols.some((s: { name: string }) => s.name === 'GTUBE'),
      r.stdout,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('our own user: GTUBE is refused before it is queued, with a warning naming the account; clean mail goes', async () => {
  const before = await bobHas();
  const r = await transact(message('outbound test', GTUBE), true);
  assert.equal(r.code, 554, r.raw);
  assert.match(r.raw, /5\.7\.1 Message refused: our filter takes it for spam/);
  assert.equal(await bobHas(), before, 'nothing delivered');
  const warned = log.lines.findLast((l) => l.msg === 'outbound message refused as spam');
  assert.equal(warned?.account, ALICE);
  assert.ok(warned?.symbols?.includes('GTUBE=1000'), JSON.stringify(warned));
  // The stored verdict: content symbols only, no sender checks (the submitting IP is on the blocklist).
  const [row] = await t.app.store.spam.recentRefusals(1);
  const names = (JSON.parse(row.symbols) as { name: string }[]).map((s) => s.name);
  assert.ok(names.includes('GTUBE'));
  assert.ok(!names.some((n) => /^(RBL|SPF|DKIM|DMARC|RDNS|HELO)/.test(n)), names.join(' '));

  const ok = await transact(message('lunch', 'Lunch on Friday? See http://clean-links.example/menu'), true);
  assert.equal(ok.code, 250, ok.raw);
  assert.equal(await bobHas(), before + 1);
});

test('the outbound threshold decides: a link on a URI blocklist is refused once it is low enough', async () => {
  const body = 'Great deal at http://www.bad-links.example/offer';
  assert.equal((await transact(message('deal 1', body), true)).code, 250, 'score 6 < 15');
  t.app.config.spam.outbound.reject_score = 5;
  try {
    const r = await transact(message('deal 2', body), true);
    assert.equal(r.code, 554, r.raw);
    assert.ok(
      log.lines.findLast((l) => l.msg === 'outbound message refused as spam')?.symbols?.includes('URIBL_TEST=6'),
    );
  } finally {
    t.app.config.spam.outbound.reject_score = 15;
  }
});

test('with the outbound scan off, submitted mail is not scanned', async () => {
  t.app.config.spam.outbound.enabled = false;
  try {
    const r = await transact(message('off', GTUBE), true);
    assert.equal(r.code, 250, r.raw);
  } finally {
    t.app.config.spam.outbound.enabled = true;
  }
});

test('petrel spam stats sums up what the filter did: refusals, outbound ones, the symbols that weighed', async () => {
  const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'stats', '--hours', '1'], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.app.config.server.data_dir },
    timeoutMs: 30000,
  });
  assert.equal(r.status, 0, r.stderr);
  // Inbound: one GTUBE refusal, two deliveries; outbound: GTUBE and the URIBL link refused, two sent.
  assert.match(r.stdout, /^stored nowhere \(refused, deferred, sent only to traps\): reject 3$/m);
  assert.match(r.stdout, /^delivered copies: accept \d+$/m);
  assert.match(r.stdout, /^spam trap hits: 0; submissions refused as spam \(spam\.outbound\): 2$/m);
  assert.match(r.stdout, /^symbols weighing most in junk and refusals: GTUBE 2x \(2000\)/m);
  const bad = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'stats', '--hours', 'x'], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.app.config.server.data_dir },
    timeoutMs: 30000,
  });
  assert.equal(bad.status, 2);
});
