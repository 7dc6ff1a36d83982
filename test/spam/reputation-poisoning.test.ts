// Sender reputation against those who would game it, over the wire (nodemailer into the MX listener, the
// test's own DNS publishing SPF, DKIM and DMARC): a forged From or envelope domain neither spends nor
// condemns the reputation of the real domain, which only authenticated mail of that domain builds; a
// sender cannot buy trust with a volume of bland messages and then spend it on spam; one user moving a
// big sender's mail into Junk by the dozen (Python imaplib) counts as one judgement, not one per message;
// what one user's own junk threshold files into Junk is not spam in the sender's reputation.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { GTUBE } from '../../src/spam/checks/gtube.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { message, newestVerdict, publishKey, send, sign, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

const DAY = 86_400_000;
let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({
    zones: {
      // bank.test sends from 127.0.0.60 only, signs its mail and publishes p=none (as most domains do).
      'bank.test': { TXT: [['v=spf1 ip4:127.0.0.60 -all']] },
      '_dmarc.bank.test': { TXT: [['v=DMARC1; p=none']] },
      // A spammer's own domain, whose SPF passes from its own server.
      'spammer.test': { TXT: [['v=spf1 ip4:127.0.2.0/24 -all']] },
      // A bulk sender that authenticates everything it sends.
      'promo.test': { TXT: [['v=spf1 ip4:127.0.3.0/24 -all']] },
      '_dmarc.promo.test': { TXT: [['v=DMARC1; p=none']] },
      // A big provider many people write from.
      'bigmail.test': { TXT: [['v=spf1 ip4:127.0.4.0/24 -all']] },
      '_dmarc.bigmail.test': { TXT: [['v=DMARC1; p=none']] },
    },
    configure(c) {
      c.listeners.imap.enabled = true;
      // The bank's statements are vouched for (as Bayes or a correspondence would): clean mail that earns trust.
      c.spam.rules = ['LOCAL_PILLS body /cheap pills/i 9', 'LOCAL_STATEMENT subject /^statement/i -12'];
    },
  });
});
after(() => f?.stop());

/** The stored evidence of these keys, rounded: "kind:key spam=S ham=H". */
async function evidence(keys: { kind: 'domain' | 'from' | 'dkim' | 'ip'; key: string }[]) {
  return (await f.app.store.reputation.lookup(keys, Date.now(), 14 * DAY))
    .map((e) => `${e.kind}:${e.key} spam=${e.spam.toFixed(1)} ham=${e.ham.toFixed(1)}`)
    .sort();
}

test('a forged From or envelope domain neither spends nor condemns the real domain’s reputation', {
  timeout: 120000,
}, async () => {
  // The bank's genuine mail, six vouched-for messages: a good reputation for bank.test and its address.
  const key = publishKey(f, 'bank.test', 's1');
  for (let i = 0; i < 6; i++) {
    const r = await send(f, {
      ip: '127.0.0.60',
      helo: 'mail.bank.test',
      from: 'notice@bank.test',
      raw: await sign(message('notice@bank.test', `statement ${i}`), key),
    });
    assert.ok(r.ok, r.response);
  }
  const good = await verdictSymbols(f, USER);
  assert.ok('REPUTATION_DOMAIN_GOOD' in good, `the genuine sender earned nothing: ${JSON.stringify(good)}`);

  // A spoof from another network, in the bank's name (SPF fails, no signature, DMARC fails with p=none):
  // it is delivered, but must not be vouched for by the bank's reputation.
  let r = await send(f, {
    ip: '127.0.2.9',
    helo: 'mail.spammer.test',
    from: 'notice@bank.test',
    raw: message('notice@bank.test', 'verify your account'),
  });
  assert.ok(r.ok, r.response);
  let spoof = await verdictSymbols(f, USER);
  assert.ok('DMARC_FAIL' in spoof, JSON.stringify(spoof));
  for (const name of ['REPUTATION_DOMAIN_GOOD', 'REPUTATION_FROM_GOOD'])
    assert.ok(!(name in spoof), `a spoof spent bank.test's reputation (${name}): ${JSON.stringify(spoof)}`);
  // Nor when the envelope is the spammer's own, SPF-passing domain and only From claims the bank.
  r = await send(f, {
    ip: '127.0.2.9',
    helo: 'mail.spammer.test',
    from: 'bounce@spammer.test',
    raw: message('notice@bank.test', 'verify your account again'),
  });
  assert.ok(r.ok, r.response);
  spoof = await verdictSymbols(f, USER);
  assert.ok('SPF_PASS' in spoof, JSON.stringify(spoof));
  for (const name of ['REPUTATION_DOMAIN_GOOD', 'REPUTATION_FROM_GOOD'])
    assert.ok(!(name in spoof), `a From-only spoof spent bank.test's reputation (${name}): ${JSON.stringify(spoof)}`);

  // Spam in the bank's name (refused): it condemns the spammer's network, not bank.test nor its address.
  const before = await evidence([
    { kind: 'domain', key: 'bank.test' },
    { kind: 'from', key: 'notice@bank.test' },
  ]);
  for (let i = 0; i < 6; i++) {
    r = await send(f, {
      ip: '127.0.2.9',
      helo: 'mail.spammer.test',
      from: i % 2 ? 'notice@bank.test' : 'bounce@spammer.test',
      raw: message('notice@bank.test', `urgent ${i}`, '', `${GTUBE}\r\n`),
    });
    assert.equal(r.code, 550, r.response);
  }
  // Verdict feedback is not awaited by the SMTP session: wait until the spammer's IP has its six.
  for (let i = 0; i < 100; i++) {
    const [ip] = await f.app.store.reputation.lookup([{ kind: 'ip', key: '127.0.2.9' }], Date.now(), 14 * DAY);
    if (ip && ip.spam >= 5.9) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  assert.deepEqual(
    await evidence([
      { kind: 'domain', key: 'bank.test' },
      { kind: 'from', key: 'notice@bank.test' },
    ]),
    before,
    'spam forging bank.test was counted against bank.test',
  );
  // The bank's next genuine message is still vouched for.
  r = await send(f, {
    ip: '127.0.0.60',
    helo: 'mail.bank.test',
    from: 'notice@bank.test',
    raw: await sign(message('notice@bank.test', 'statement 7'), key),
  });
  assert.ok(r.ok, r.response);
  const after = await verdictSymbols(f, USER);
  assert.ok(!('REPUTATION_DOMAIN_BAD' in after) && !('REPUTATION_FROM_BAD' in after), JSON.stringify(after));
});

test('a volume of bland, clean messages buys no trust to spend on spam', { timeout: 180000 }, async () => {
  const key = publishKey(f, 'promo.test', 's1');
  const from = 'offers@promo.test';
  // Thirty messages nothing says anything of: authenticated, no content anyone scores, delivered.
  for (let i = 0; i < 30; i++) {
    const r = await send(f, {
      ip: '127.0.3.5',
      helo: 'mail.promo.test',
      from,
      raw: await sign(message(from, `newsletter ${i}`, '', `Issue ${i} of our newsletter.\r\n`), key),
    });
    assert.ok(r.ok, r.response);
  }
  // Then spam the content check scores past the junk threshold on its own (LOCAL_PILLS 9).
  const r = await send(f, {
    ip: '127.0.3.5',
    helo: 'mail.promo.test',
    from,
    raw: await sign(message(from, 'offer', '', 'Cheap pills, order today.\r\n'), key),
  });
  assert.ok(r.ok, r.response);
  const v = await newestVerdict(f, USER);
  assert.equal(v.symbols.LOCAL_PILLS, 9, JSON.stringify(v.symbols));
  const reputation = Object.entries(v.symbols).filter(([n]) => n.startsWith('REPUTATION_'));
  assert.equal(
    v.box,
    'Junk',
    `the sender's volume of bland mail bought it into the INBOX: ${JSON.stringify(reputation)}`,
  );
});

const python = peer('python3', 'python3');
// Moves the first N messages from bigmail.test in alice's INBOX into Junk, one MOVE each (one filing each).
const MOVE_TO_JUNK = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login('alice@example.com', 'secret-pw')
M.select('INBOX')
typ, data = M.uid('SEARCH', 'FROM', 'bigmail.test')
uids = data[0].split()[:int(sys.argv[2])]
assert len(uids) == int(sys.argv[2]), data
for uid in uids:
    typ, data = M.uid('MOVE', uid, 'Junk')
    assert typ == 'OK', (typ, data)
M.logout()
`;

test('one user moving a big sender’s mail into Junk by the dozen judges it once, not for everyone', {
  skip: python.skip,
  timeout: 180000,
}, async () => {
  const BOB = 'bob@example.com';
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
  const key = publishKey(f, 'bigmail.test', 's1');
  /** A bland message from one of bigmail.test's many users, through its server. */
  const fromBig = async (i: number, to: string) => {
    const from = `user${i}@bigmail.test`;
    const r = await send(f, {
      ip: '127.0.4.10',
      helo: 'out.bigmail.test',
      from,
      to: [to],
      raw: await sign(message(from, `hello ${i}`, '', `Message ${i}, nothing special.\r\n`), key),
    });
    assert.ok(r.ok, r.response);
  };
  for (let i = 0; i < 20; i++) await fromBig(i, USER);
  // Alice has had enough of half of them: twelve moves into Junk, twelve filings.
  const mv = await run(python.path!, ['-c', MOVE_TO_JUNK, String(f.server.ports.imap), '12'], { timeoutMs: 60000 });
  assert.equal(mv.status, 0, mv.stdout + mv.stderr);
  await f.app.spamFeedback.settled();
  // Bob's next message from bigmail.test is not condemned by Alice's moves.
  await fromBig(99, BOB);
  const v = await newestVerdict(f, BOB);
  const bad = Object.entries(v.symbols).filter(([n]) => /^REPUTATION_.*_BAD$/.test(n));
  assert.deepEqual(bad, [], `one user condemned bigmail.test for everyone: ${JSON.stringify(v.symbols)}`);
  assert.equal(v.box, 'INBOX');
  const [dkim] = await f.app.store.reputation.lookup([{ kind: 'dkim', key: 'bigmail.test' }], Date.now(), 14 * DAY);
  assert.ok(dkim.spam <= 5.01, `one account's twelve moves counted as ${dkim.spam / 5} judgements`);
});

test('a user’s own junk threshold files mail into their Junk but condemns its sender for nobody else', {
  timeout: 180000,
}, async () => {
  const CAROL = 'carol@example.com';
  await f.app.directory.addAccount(CAROL, 'carol-secret-pw');
  // Alice is strict with herself (/account/spam): anything scoring 1 goes to her Junk.
  const alice = await f.app.store.getAccount(USER);
  await f.app.store.spam.setUserJunkScore(alice!.id, 1, Date.now());
  /** A bland message from a small sender without SPF or DKIM (it scores 2: SPF_NONE, RDNS_NONE). */
  const fromShop = async (i: number, to: string) => {
    const from = `orders@shop${i}.test`;
    const r = await send(f, {
      ip: '127.0.5.10',
      helo: 'mail.shops.test',
      from,
      to: [to],
      raw: message(from, `order ${i}`),
    });
    assert.ok(r.ok, r.response);
  };
  try {
    for (let i = 0; i < 8; i++) await fromShop(i, USER);
    assert.equal((await newestVerdict(f, USER)).box, 'Junk', 'Alice’s threshold files it into her Junk');
    // The server's verdict feedback runs after the 250: wait until enough are counted for the client to score.
    for (let i = 0; i < 100; i++) {
      const [ip] = await f.app.store.reputation.lookup([{ kind: 'ip', key: '127.0.5.10' }], Date.now(), 14 * DAY);
      if (ip && ip.count >= 5) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    await fromShop(99, CAROL);
    const v = await newestVerdict(f, CAROL);
    const bad = Object.entries(v.symbols).filter(([n]) => /^REPUTATION_.*_BAD$/.test(n));
    assert.deepEqual(bad, [], `Alice's own threshold condemned the sender for Carol: ${JSON.stringify(v.symbols)}`);
    assert.equal(v.box, 'INBOX');
  } finally {
    await f.app.store.spam.setUserJunkScore(alice!.id, null, Date.now());
  }
});
