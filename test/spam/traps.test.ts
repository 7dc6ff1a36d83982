// Spam traps over the wire: a client on 127.0.0.x sends to a trap address (or any address of a trap
// domain) on the MX port; the server answers as for a mailbox, stores the message nowhere, logs the hit,
// and learns from it: the global Bayes table, the digest store (a twin to a real user then scores
// DIGEST_SPAM) and the client IP's reputation, but not the sender domain it claimed. A message to a trap
// and a real user lands in that user's Junk with SPAMTRAP. Our own users writing to a trap address meet
// "user unknown"; an allow-listed client is trapped but not learned from. The client IP that hit a trap
// scores SPAMTRAP_CLIENT on its next message to a real user, unless DKIM authenticates that message;
// `petrel spam reputation` shows that and forgets it.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { GLOBAL_SCOPE } from '../../src/core/bayes-port.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { newestVerdict, publishKey, sign } from './fixture.ts';

const ALICE = 'alice@traps.test';
const PASS = 'alice-secret-pw';

interface Line {
  msg: string;
  rcpts?: string[];
  trapped?: number;
  traps?: string[];
  learned?: boolean;
  ip?: string;
}

let t: TestServer;
let dns: DnsServer;
const log = captureLog<Line>();

before(async () => {
  dns = await startDnsServer();
  t = await startTestServer({
    logTo: log.stream,
    configure(c) {
      c.dns.nameservers = [dns.address];
      c.listeners.smtp.enabled = true;
      c.spam.traps.addresses = ['trap@traps.test', '@oldcorp.test'];
      c.spam.digests.min_reports = 1;
      c.spam.traps.learn_per_hour = 2;
    },
  });
  await t.app.directory.addDomain('traps.test');
  await t.app.directory.addAccount(ALICE, PASS);
});
after(async () => {
  await t?.stop();
  await dns?.stop();
});

const message = (id: string, body: string) =>
  `From: "Offers" <deals@cheap-offers.test>\r\nTo: someone@traps.test\r\nSubject: Limited offer\r\n` +
  `Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${id}@cheap-offers.test>\r\n\r\n${body}\r\n.`;

/** One transaction from `ip`: MAIL, each RCPT with the code expected, DATA; the final reply. */
async function transact(ip: string, rcpts: [string, number][], data: string, from = 'deals@cheap-offers.test') {
  const c = await RawSmtp.open(t.ports.smtp, { localAddress: ip });
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.cheap-offers.test');
    await c.expect(250, `MAIL FROM:<${from}>`);
    for (const [r, code] of rcpts) await c.expect(code, `RCPT TO:<${r}>`);
    await c.expect(354, 'DATA');
    return await c.cmd(data);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

async function stored(address: string): Promise<number> {
  const acc = await t.app.store.getAccount(address);
  let n = 0;
  for (const mb of await t.app.store.listMailboxes(acc!.id)) n += (await t.app.store.listMessages(mb.id)).length;
  return n;
}

/** Alice's newest message: the mailbox it is in and the names of its verdict's symbols. */
async function symbolsOfNewest() {
  const v = await newestVerdict(t, ALICE);
  return { box: v.box, symbols: Object.keys(v.symbols) };
}

async function reputation(kind: 'ip' | 'domain' | 'from', key: string) {
  const [e] = await t.app.store.reputation.lookup([{ kind, key }], Date.now(), 1e12);
  return e ? Math.round(e.spam * 100) / 100 : 0;
}

test('a trap answers like a mailbox, stores nothing, and the filter learns the message as spam', async () => {
  const before = { alice: await stored(ALICE), bayes: (await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam };
  const r = await transact(
    '127.0.0.61',
    [
      ['trap@traps.test', 250],
      ['TRAP+shop@traps.test', 250],
    ],
    message('t1', 'Cheap replica watches, order today at a fraction of the price.'),
  );
  assert.equal(r.code, 250, r.raw);
  assert.equal(await stored(ALICE), before.alice, 'nothing delivered to the hosted domain');
  assert.equal(
    (await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam,
    before.bayes + 1,
    'the global Bayes table learned it',
  );
  assert.equal(await reputation('ip', '127.0.0.61'), 1, "the client IP's reputation counts one spam");
  assert.equal(await reputation('domain', 'cheap-offers.test'), 0, 'the claimed sender domain is not condemned');
  assert.equal(await reputation('from', 'deals@cheap-offers.test'), 0, 'nor the claimed From address');

  const line = log.lines.findLast((l) => l.msg === 'message accepted');
  assert.equal(line?.trapped, 2, JSON.stringify(line));
  const hit = log.lines.findLast((l) => l.msg === 'spam trap hit');
  assert.deepEqual(hit?.traps, ['trap@traps.test', 'TRAP+shop@traps.test']);
  assert.equal(hit?.learned, true);
  // The admin finds it beside the refusals (no stored message), with the symbol that says why.
  const [row] = await t.app.store.spam.recentRefusals(1);
  assert.match(row.symbols, /SPAMTRAP/);
  assert.equal(row.clientIp, '127.0.0.61');
});

test("the trapped message's twin to a real user is known to the digest store; a message to a trap and a user goes to Junk", async () => {
  const body = 'Exclusive crypto signals: join our private group, 500% returns guaranteed every week.';
  assert.equal((await transact('127.0.0.62', [['trap@traps.test', 250]], message('t2', body))).code, 250);

  // The same body later from another client, to Alice only: the trap's report marks its digest.
  assert.equal((await transact('127.0.0.63', [[ALICE, 250]], message('t3', body))).code, 250);
  assert.ok((await symbolsOfNewest()).symbols.includes('DIGEST_SPAM'));

  // A harvested list with a trap on it: the real recipient's copy goes to Junk, marked SPAMTRAP.
  const mixed = await transact(
    '127.0.0.64',
    [
      [ALICE, 250],
      ['anyone@oldcorp.test', 250],
    ],
    message('t4', 'Meet singles in your area tonight, no sign-up fee.'),
  );
  assert.equal(mixed.code, 250, mixed.raw);
  const newest = await symbolsOfNewest();
  assert.equal(newest.box, 'Junk');
  assert.ok(newest.symbols.includes('SPAMTRAP'), newest.symbols.join(' '));
});

test('a client that hit a trap scores SPAMTRAP_CLIENT on its next message, unless DKIM authenticates it', async () => {
  // 127.0.0.61 sent to the trap in the first test.
  const plain = `From: deals@cheap-offers.test\r\nTo: ${ALICE}\r\nSubject: Hello\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <c1@cheap-offers.test>\r\n\r\nHi there.\r\n`;
  assert.equal((await transact('127.0.0.61', [[ALICE, 250]], `${plain}.`)).code, 250);
  assert.ok((await symbolsOfNewest()).symbols.includes('SPAMTRAP_CLIENT'));
  // A client that never hit one does not.
  assert.equal((await transact('127.0.0.67', [[ALICE, 250]], `${plain}.`)).code, 250);
  assert.ok(!(await symbolsOfNewest()).symbols.includes('SPAMTRAP_CLIENT'));

  // Mail a big provider signs for its own user, from the server the trap's sender also used.
  const key = publishKey({ dns } as never, 'provider.test', 'sel');
  const signed = await sign(
    `From: carol@provider.test\r\nTo: ${ALICE}\r\nSubject: Lunch\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <c2@provider.test>\r\n\r\nLunch on Friday?\r\n`,
    key,
  );
  assert.equal((await transact('127.0.0.61', [[ALICE, 250]], `${signed}.`, 'carol@provider.test')).code, 250);
  const s = await symbolsOfNewest();
  assert.ok(s.symbols.includes('DKIM_PASS'), s.symbols.join(' '));
  assert.ok(!s.symbols.includes('SPAMTRAP_CLIENT'), s.symbols.join(' '));
});

/** `petrel spam ...` on the server's data directory, as an admin runs it beside the running server. */
async function petrel(...args: string[]) {
  const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', ...args], {
    env: { ...process.env, PETREL_SERVER_DATA_DIR: t.app.config.server.data_dir },
    timeoutMs: 30000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('petrel spam reputation shows what is known of a sender and forgets it', async () => {
  const shown = await petrel('reputation', 'show', '127.0.0.61');
  assert.equal(shown.code, 0, shown.err);
  const rows = shown.out
    .trim()
    .split('\n')
    .map((l) => l.split('\t'));
  assert.deepEqual(rows.map((r) => `${r[0]} ${r[1]}`).sort(), ['ip 127.0.0.61', 'net 127.0.0.0/24', 'trap 127.0.0.61']);
  assert.match(rows.find((r) => r[0] === 'trap')!.join(' '), /sent to a spam trap/);
  assert.match(rows.find((r) => r[0] === 'ip')!.join(' '), /scores nothing: fewer than 5 observations|REPUTATION_IP_/);
  assert.match((await petrel('reputation', 'show', 'nobody@unknown-sender.test')).out, /no reputation/);

  const forgot = await petrel('reputation', 'forget', '127.0.0.61');
  assert.equal(forgot.code, 0, forgot.err);
  assert.match(forgot.out, /^2 reputation rows forgotten/);
  const after = await petrel('reputation', 'show', '127.0.0.61');
  assert.deepEqual(
    after.out
      .trim()
      .split('\n')
      .map((l) => l.split('\t')[0]),
    ['net'],
    'its network stays',
  );
  const plain = `From: deals@cheap-offers.test\r\nTo: ${ALICE}\r\nSubject: Hello again\r\nDate: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <c3@cheap-offers.test>\r\n\r\nHi there.\r\n.`;
  assert.equal((await transact('127.0.0.61', [[ALICE, 250]], plain)).code, 250);
  assert.ok(!(await symbolsOfNewest()).symbols.includes('SPAMTRAP_CLIENT'), 'forgiven');

  for (const bad of [
    ['show', '10.0.0.0/16'],
    ['frobnicate', 'x.test'],
  ]) {
    const r = await petrel('reputation', ...bad);
    assert.equal(r.code, 2, `${bad.join(' ')}: ${r.out}${r.err}`);
  }
});

test('a trap domain need not be hosted: its addresses and subdomains are trapped, other domains still not relayed', async () => {
  const r = await transact(
    '127.0.0.65',
    [
      ['info@oldcorp.test', 250],
      ['sales@eu.oldcorp.test', 250],
      ['someone@elsewhere.test', 554],
      ['someone@notoldcorp.test', 554],
    ],
    message('t5', 'Your invoice is attached, please open it.'),
  );
  assert.equal(r.code, 250, r.raw);
  assert.equal(log.lines.findLast((l) => l.msg === 'message accepted')?.trapped, 2);
});

test('our own users writing to a trap address meet "user unknown"', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO laptop.traps.test');
    await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${ALICE}\0${PASS}`).toString('base64')}`);
    await c.expect(250, `MAIL FROM:<${ALICE}>`);
    await c.expect(550, 'RCPT TO:<trap@traps.test>', /5\.1\.1/);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
});

test('an allow-listed client is trapped all the same but not learned from', async () => {
  await t.app.store.spam.addListEntry({
    kind: 'allow',
    accountId: null,
    entry: '127.0.0.66',
    note: 'partner relay',
    createdAt: Date.now(),
  });
  const bayes = (await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam;
  const r = await transact('127.0.0.66', [['trap@traps.test', 250]], message('t6', 'Quarterly partner update.'));
  assert.equal(r.code, 250, r.raw);
  assert.equal((await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam, bayes);
  assert.equal(await reputation('ip', '127.0.0.66'), 0);
  const hit = log.lines.findLast((l) => l.msg === 'spam trap hit');
  assert.equal(hit?.ip, '127.0.0.66');
  assert.equal(hit?.learned, false);
});

test('at most learn_per_hour trapped messages from one client are learned; the rest are trapped all the same', async () => {
  const bayes = (await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam;
  for (const n of [1, 2, 3]) {
    const r = await transact(
      '127.0.0.69',
      [['trap@traps.test', 250]],
      message(`flood${n}`, `Offer number ${n} just for you.`),
    );
    assert.equal(r.code, 250, r.raw);
  }
  assert.equal((await t.app.store.bayes.totals(GLOBAL_SCOPE)).spam, bayes + 2);
  const hits = log.lines.filter((l) => l.msg === 'spam trap hit' && l.ip === '127.0.0.69');
  assert.deepEqual(
    hits.map((h) => h.learned),
    [true, true, false],
  );
});

test('a trap that is also an account is named in a warning at start', async () => {
  const warnings = captureLog<Line & { address?: string }>();
  const s = await startTestServer({
    logTo: warnings.stream,
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.traps.addresses = ['bob@start.test', 'nobody@start.test'];
    },
    async beforeServe(app) {
      await app.directory.addDomain('start.test');
      await app.directory.addAccount('bob@start.test', 'bob-secret-pw');
    },
  });
  try {
    const named = () => warnings.lines.filter((l) => l.msg.startsWith('spam.traps:')).map((l) => l.address);
    for (let i = 0; i < 250 && named().length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(named(), ['bob@start.test']);
  } finally {
    await s.stop();
  }
});
