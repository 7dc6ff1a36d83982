// The daily Junk report over the wire: mail from a client on 127.0.0.x that the filter files into Junk
// (per-account thresholds send everything for Alice there, nothing for Bob), and a message Alice APPENDs
// into Junk herself; the report, run for a later "now", lands in Alice's INBOX listing only what the filter
// filed, least likely spam first, read back with Python imaplib. Bob (no junk) gets none, Dave, who said
// "never" at /account/spam (curl), gets none either, and the same day's reports are not sent twice. A
// report's "Not spam" link shows and moves the message; a disabled account's link does neither. On SQLite
// and PostgreSQL.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { JunkReport } from '../../src/mailbox/junk-report.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const python = peer('python3', 'python3');
const curl = peer('curl', 'curl');
const ALICE = 'alice@report.test';
const BOB = 'bob@report.test';
const CAROL = 'carol@report.test';
const DAVE = 'dave@report.test';
const PASS = 'report-secret-pw';

// append MAILBOX SUBJECT | report-subjects | fetch-report: prints the newest report's text
const CLIENT = `
import imaplib, sys, email, email.policy
port, user, pw, op = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
M = imaplib.IMAP4('127.0.0.1', port)
M.login(user, pw)
if op == 'append':
    msg = ('From: me@elsewhere.test\\r\\nTo: ' + user + '\\r\\nSubject: ' + sys.argv[6] + '\\r\\n\\r\\nmine\\r\\n').encode()
    typ, data = M.append(sys.argv[5], None, None, msg)
    assert typ == 'OK', (typ, data)
elif op == 'report':
    M.select('INBOX', readonly=True)
    typ, data = M.search(None, 'HEADER', 'Auto-Submitted', 'auto-generated')
    ids = data[0].split()
    print(len(ids))
    if ids:
        typ, data = M.fetch(ids[-1], '(RFC822)')
        m = email.message_from_bytes(data[0][1], policy=email.policy.default)
        print(m['Subject'])
        print(m['From'])
        print(m.get_content())
M.logout()
`;

let t: TestServer | undefined;
after(() => t?.stop());

async function imap(user: string, ...args: string[]) {
  const r = await run(python.path!, ['-c', CLIENT, String(t!.ports.imap), user, PASS, ...args], { timeoutMs: 30000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

/** A POST of JSON to the account pages with Dave's cookie jar; the status. */
async function account(path: string, body: Record<string, string>): Promise<number> {
  const jar = `${t!.dataDir}/dave.jar`;
  const r = await run(curl.path!, [
    '-s',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '-c',
    jar,
    '-b',
    jar,
    '-H',
    'Content-Type: application/json',
    '--data-binary',
    JSON.stringify(body),
    `http://127.0.0.1:${t!.ports.http}${path}`,
  ]);
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout);
}

async function send(subject: string, from: string, to: string) {
  const c = await RawSmtp.open(t!.ports.smtp, { localAddress: '127.0.0.71' });
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.sender.test');
    await c.expect(250, `MAIL FROM:<${from}>`);
    await c.expect(250, `RCPT TO:<${to}>`);
    await c.expect(354, 'DATA');
    const r = await c.cmd(
      `From: "Sender \u00e9" <${from}>\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\n` +
        `Message-ID: <${subject.replace(/\W/g, '')}@sender.test>\r\n\r\nHello.\r\n.`,
    );
    assert.equal(r.code, 250, r.raw);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

for (const backend of ['sqlite', 'postgres'] as const)
  test(`the daily report lists what the filter put in Junk, least likely spam first, once (${backend})`, {
    skip:
      python.skip ??
      curl.skip ??
      (backend === 'postgres' && !process.env.PETREL_TEST_PG_URL ? 'PETREL_TEST_PG_URL is not set' : undefined),
    timeout: 120000,
  }, async () => {
    await t?.stop();
    t = await startTestServer({
      backend,
      pgUrl: process.env.PETREL_TEST_PG_URL,
      configure(c) {
        c.listeners.smtp.enabled = true;
        c.spam.junk_report.enabled = true;
        c.spam.junk_report.max_listed = 2;
        c.oauth.issuer = 'https://mail.report.test/';
        // Everything for Alice is junk, nothing for Bob; a block entry scores one message higher.
        c.spam.domain_thresholds = [
          `${ALICE}=-100:1000`,
          `${BOB}=1000:2000`,
          `${CAROL}=-100:1000`,
          `${DAVE}=-100:1000`,
        ];
      },
    });
    await t.app.directory.addDomain('report.test');
    await t.app.directory.addAccount(ALICE, PASS);
    await t.app.directory.addAccount(BOB, PASS);
    await t.app.directory.addAccount(CAROL, PASS);
    await t.app.directory.addAccount(DAVE, PASS);
    await t.app.store.spam.addListEntry({
      kind: 'block',
      accountId: null,
      entry: 'worse.test',
      note: '',
      createdAt: Date.now(),
    });
    t.app.config.spam.lists.block_action = 'junk';

    await send('Quarterly figures', 'ann@sender.test', ALICE);
    await send('Cheap pills', 'spam@worse.test', ALICE);
    await send('Lunch?', 'cat@sender.test', ALICE);
    await send('For Bob', 'ann@sender.test', BOB);
    await send('For Carol', 'ann@sender.test', CAROL);
    await send('For Dave', 'ann@sender.test', DAVE);
    // Dave does not want the report: said on the account pages, as a user would (curl with a cookie jar).
    assert.equal(await account('/account/login', { username: DAVE, password: PASS }), 200);
    assert.equal(await account('/account/spam/junk-report', { report: 'never' }), 200);
    await imap(ALICE, 'append', 'Junk', 'Filed by hand');

    // The next report time after these deliveries, five minutes past it.
    const next = t.app.junkReport.dueAt(Date.now()) + 24 * 3600_000;
    assert.equal(await t.app.junkReport.tick(next + 5 * 60_000), 2, 'two reports: Alice and Carol, not Dave');
    assert.equal(await t.app.junkReport.tick(next + 15 * 60_000), 0, 'not twice the same day');

    const [count, subject, from, ...body] = (await imap(ALICE, 'report')).split('\n');
    assert.equal(count, '1');
    assert.equal(subject, '3 messages in your Junk folder');
    assert.match(from, /^Mail filter <postmaster@report\.test>$/);
    const text = body.join('\n');
    assert.match(text, /These 3 messages were put in your Junk folder/);
    assert.match(text, /deleted 30 days after/);
    assert.match(text, /or press "Not spam" for it at https:\/\/mail\.report\.test\/account\/spam\./);
    assert.ok(!text.includes('Filed by hand'), 'what Alice filed herself is not listed');
    assert.ok(!text.includes('For Bob'));
    // Two listed (max_listed), the blocked one (highest score) is what is left out.
    const rows = text.split('\n').filter((l) => /^-?\d+\.\d\s/.test(l));
    assert.equal(rows.length, 2, text);
    assert.ok(
      rows.every((r) => !r.includes('Cheap pills')),
      text,
    );
    assert.ok(
      rows.some((r) => r.includes('Quarterly figures') && r.includes('"Sender \u00e9" <ann@sender.test>')),
      text,
    );
    assert.match(text, /\.\.\. and 1 more\./);

    // Each listed message has a one-click "Not spam" link: a page (a GET changes nothing), then the move.
    const lines = text.split('\n');
    const link = lines[lines.findIndex((l) => l.includes('Quarterly figures')) + 1].trim();
    const m = /^Not spam: https:\/\/mail\.report\.test(\/account\/release\?t=(\S+))$/.exec(link);
    assert.ok(m, link);
    const local = `http://127.0.0.1:${t.ports.http}`;
    const curlTo = async (...args: string[]) => {
      const r = await run(curl.path!, ['-s', '-w', '\n%{http_code}', ...args], { timeoutMs: 15000 });
      assert.equal(r.status, 0, r.stderr);
      const cut = r.stdout.lastIndexOf('\n');
      return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
    };
    const page = await curlTo('-H', 'Accept: text/html', `${local}${m[1]}`);
    assert.equal(page.status, 200, page.body);
    assert.match(page.body, /Quarterly figures/);
    assert.match(page.body, /<form method="post" action="\/account\/release">/);
    const inbox = async (who: string) => {
      const acc = await t!.app.store.getAccount(who);
      const mb = await t!.app.store.getMailbox(acc!.id, 'INBOX');
      const recs = await t!.app.store.listMessages(mb!.id);
      const bodies = await t!.app.mail.bodiesFor(recs.map((r) => r.bodyId));
      return recs.map((r) => bodies.get(r.bodyId)?.subject);
    };
    assert.ok(!(await inbox(ALICE)).includes('Quarterly figures'), 'the page alone moved nothing');
    const post = (token: string) =>
      curlTo(
        '-H',
        'Content-Type: application/json',
        '--data-binary',
        JSON.stringify({ t: token }),
        `${local}/account/release`,
      );
    const forged = `${m[2].slice(0, -1)}${m[2].endsWith('A') ? 'B' : 'A'}`;
    assert.equal((await post(forged)).status, 403, 'a changed signature');
    const released = await post(m[2]);
    assert.equal(released.status, 200, released.body);
    assert.deepEqual(JSON.parse(released.body), { released: true });
    assert.ok((await inbox(ALICE)).includes('Quarterly figures'));
    assert.equal((await post(m[2])).status, 404, 'gone from Junk: once');
    assert.equal((await imap(BOB, 'report')).split('\n')[0], '0', 'Bob had no junk: no report');
    const carols = await imap(CAROL, 'report');
    assert.match(carols, /^1\n1 message in your Junk folder\n[\s\S]*For Carol/);
    // Once an account is disabled its links do nothing, as its sessions: no page naming the message, no move.
    const carolLink = /^\s*Not spam: https:\/\/mail\.report\.test\/account\/release\?t=(\S+)$/m.exec(carols)![1];
    const carol = (await t.app.store.getAccount(CAROL))!;
    await t.app.store.updateAccount(carol.id, { disabled: true });
    const disabledPage = await curlTo('-H', 'Accept: text/html', `${local}/account/release?t=${carolLink}`);
    assert.equal(disabledPage.status, 403);
    assert.doesNotMatch(disabledPage.body, /For Carol/);
    assert.equal((await post(carolLink)).status, 403);
    assert.ok(!(await inbox(CAROL)).includes('For Carol'), 'still in Junk');
    await t.app.store.updateAccount(carol.id, { disabled: false });
    assert.equal((await imap(DAVE, 'report')).split('\n')[0], '0', 'Dave said never');

    // Read one message per query, the same reports come out: accounts are read one after the other.
    const paged = new JunkReport({
      config: t.app.config,
      mail: t.app.mail,
      leases: t.app.store.leases,
      log: t.app.log,
      pageSize: 1,
    });
    assert.equal(await paged.send(next - 24 * 3600_000, next), 2);
    const again = (await imap(ALICE, 'report')).split('\n');
    assert.equal(again[0], '2');
    assert.equal(again[1], '2 messages in your Junk folder', 'one released since');
  });
