// A DNSBL listing's TXT record (the list's reason, e.g. Spamhaus's lookup URL), over SMTP into the MX
// listener against the test's own DNS server: it reaches the symbol's detail and, for a zone code that
// refuses, the 550 reply, as Postfix's $rbl_reason does; the text is sanitised (printable ASCII, one line,
// capped), a Spamhaus DQS key in it is removed, and a TXT lookup that never answers changes nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { captureLog } from '../helpers/log-capture.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { RawSmtp, type SmtpReply } from '../helpers/smtp-client.ts';
import { message, startSpamWorld, USER } from './fixture.ts';

const KEY = 'k3y0f26characterslowercase';
const LONG = 'L'.repeat(200);

let f: OutboundFixture;
const log = captureLog<{ msg: string }>();
before(async () => {
  f = await startSpamWorld({
    logTo: log.stream,
    zones: {
      // Refused, with the list's reason.
      '91.0.0.127.zen.test': { A: ['127.0.0.2'], TXT: [['https://www.spamhaus.org/query/ip/127.0.0.91']] },
      // Refused by a zone queried under a key, whose reason names the query (the key in it, in any case).
      [`92.0.0.127.${KEY}.zen.dq.test`]: {
        A: ['127.0.0.2'],
        TXT: [[`Listed: 92.0.0.127.${KEY.toUpperCase()}.zen.dq.test see https://check.test/?key=${KEY}&x=1`]],
      },
      // A hostile reason: CR LF with a reply of its own, control characters, non-ASCII, far too long.
      '93.0.0.127.zen.test': {
        A: ['127.0.0.2'],
        TXT: [
          ['Listed\r\n250 2.0.0 Ok: queued\r\n', '\x00\x1b[31mred\x7f tab\there ', 'caf\u00e9 \u2028 \u00bfx'],
          [LONG, LONG, LONG, LONG, LONG],
        ],
      },
      // Refused; its TXT lookup never answers (below).
      '94.0.0.127.zen.test': { A: ['127.0.0.2'], TXT: [['never seen']] },
      // Scored, not refused: the reason is in the stored detail.
      '95.0.0.127.zen.test': { A: ['127.0.0.10'], TXT: [['PBL listing: https://check.test/127.0.0.95']] },
      // Refused, no TXT record at all.
      '96.0.0.127.zen.test': { A: ['127.0.0.2'] },
      // Scored; the TXT lookup never answers.
      '97.0.0.127.zen.test': { A: ['127.0.0.10'], TXT: [['never seen either']] },
    },
    configure(c) {
      c.spam.dnsbl.zones = [
        'zen.test=127.0.0.2:SBL:reject,127.0.0.10:PBL:2',
        `${KEY}.zen.dq.test=127.0.0.2:DQS:reject`,
      ];
    },
  });
  f.dns.silent.add('TXT 94.0.0.127.zen.test');
  f.dns.silent.add('TXT 97.0.0.127.zen.test');
});
after(() => f?.stop());

/** One transaction from `ip` over a raw socket: the reply to the end of data, and the one to QUIT after it. */
async function sendFrom(ip: string, subject: string): Promise<{ data: SmtpReply; quit: SmtpReply }> {
  const c = await RawSmtp.open(f.server.ports.smtp, { localAddress: ip });
  try {
    const step = async (line: string) => {
      c.write(`${line}\r\n`);
      return c.read(10_000);
    };
    assert.equal((await c.read()).code, 220);
    assert.equal((await step('EHLO mail.sender.test')).code, 250);
    assert.equal((await step('MAIL FROM:<a@sender.test>')).code, 250);
    assert.equal((await step(`RCPT TO:<${USER}>`)).code, 250);
    assert.equal((await step('DATA')).code, 354);
    const data = await step(`${message('a@sender.test', subject)}.`);
    const quit = await step('QUIT');
    return { data, quit };
  } finally {
    c.socket.destroy();
  }
}

/** Symbols (with details) of the newest verdict row for alice: refusals included. */
async function newestSymbols(): Promise<{ name: string; score: number; detail?: string }[]> {
  const acc = await f.app.store.getAccount(USER);
  const [row] = await f.app.store.spam.refusalsFor(acc!.id, 1);
  return JSON.parse(row.symbols);
}

test("a refusal carries the list's TXT reason, as Postfix's reject_rbl_client does", async () => {
  const { data } = await sendFrom('127.0.0.91', 'listed with reason');
  assert.equal(data.code, 550, data.raw);
  assert.equal(
    data.lines[0],
    '5.7.1 Client host 127.0.0.91 listed in RBL_SBL (127.0.0.2); https://www.spamhaus.org/query/ip/127.0.0.91',
  );
  const sbl = (await newestSymbols()).find((s) => s.name === 'RBL_SBL');
  assert.match(sbl?.detail ?? '', /; https:\/\/www\.spamhaus\.org\/query\/ip\/127\.0\.0\.91$/);
});

test('a DQS key in the TXT reason is removed, in any case, from the reply, the verdicts and the log', async () => {
  const { data } = await sendFrom('127.0.0.92', 'keyed reason');
  assert.equal(data.code, 550, data.raw);
  assert.match(data.raw, /listed in RBL_DQS \(127\.0\.0\.2\); Listed: 92\.0\.0\.127\.zen\.dq\.test see https:/);
  assert.doesNotMatch(data.raw, new RegExp(KEY, 'i'));
  const acc = await f.app.store.getAccount(USER);
  assert.doesNotMatch(JSON.stringify(await f.app.store.spam.refusalsFor(acc!.id, 10)), new RegExp(KEY, 'i'));
  assert.doesNotMatch(JSON.stringify(log.lines), new RegExp(KEY, 'i'));
});

test('a hostile TXT reason: one line of printable ASCII, capped, no reply of its own', async () => {
  const { data, quit } = await sendFrom('127.0.0.93', 'hostile reason');
  assert.equal(data.code, 550, data.raw);
  assert.match(data.raw, /^550 [\x20-\x7e]+\r\n$/, JSON.stringify(data.raw));
  const reason = data.lines[0].replace(/^5\.7\.1 Client host 127\.0\.0\.93 listed in RBL_SBL \(127\.0\.0\.2\); /, '');
  assert.notEqual(reason, data.lines[0], data.raw);
  assert.ok(reason.startsWith('Listed 250 2.0.0 Ok: queued'), reason);
  assert.match(reason, /red tab here caf x/);
  assert.ok(reason.length <= 200, `${reason.length}`);
  // The next reply is QUIT's own: no line the TXT record smuggled in sits in between.
  assert.equal(quit.code, 221, quit.raw);
});

test('a TXT lookup that never answers, or no TXT record: the same refusal without a reason', async () => {
  for (const ip of ['127.0.0.94', '127.0.0.96']) {
    const { data } = await sendFrom(ip, `no reason ${ip}`);
    assert.equal(data.code, 550, data.raw);
    assert.equal(data.lines[0], `5.7.1 Client host ${ip} listed in RBL_SBL (127.0.0.2)`);
    const names = (await newestSymbols()).map((s) => s.name);
    assert.ok(!names.some((n) => /TEMPERROR|_FAIL|TIMEOUT/.test(n)), names.join(' '));
  }
  assert.ok(f.dns.queries.includes('TXT 94.0.0.127.zen.test'), 'the TXT record was asked for');
});

test('a scored listing keeps its reason in the stored detail; a silent TXT lookup scores the same', async () => {
  const detailOf = async () => {
    const acc = await f.app.store.getAccount(USER);
    const [row] = await f.app.store.spam.recentVerdicts(acc!.id, 1);
    const symbols: { name: string; score: number; detail?: string }[] = JSON.parse(row.symbols);
    return { row, symbols, pbl: symbols.find((s) => s.name === 'RBL_PBL') };
  };
  const withReason = await sendFrom('127.0.0.95', 'scored with reason');
  assert.equal(withReason.data.code, 250, withReason.data.raw);
  const a = await detailOf();
  assert.equal(a.pbl?.score, 2);
  assert.match(a.pbl?.detail ?? '', /\(127\.0\.0\.10\); PBL listing: https:\/\/check\.test\/127\.0\.0\.95$/);
  const silent = await sendFrom('127.0.0.97', 'scored silent');
  assert.equal(silent.data.code, 250, silent.data.raw);
  const b = await detailOf();
  assert.equal(b.pbl?.score, 2);
  assert.equal(b.pbl?.detail, '127.0.0.97 listed in zen.test (127.0.0.10)');
  // The same symbols either way (other checks' scores, Bayes's, may move a little between two messages).
  assert.equal(b.row.action, a.row.action);
  assert.deepEqual(
    b.symbols.map((s) => s.name),
    a.symbols.map((s) => s.name),
  );
});
