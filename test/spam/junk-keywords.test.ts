// Junk keywords over the wire: Python imaplib sets $Junk on a message in INBOX (as Apple Mail does, and
// Thunderbird with its Junk keyword): the account's Bayes table learns it as spam and the sender's
// reputation gets one user judgement; moving the same message into Junk afterwards (what those clients do
// next) is not counted again. Taking $Junk off and setting NonJunk (Thunderbird's "not junk") learns ham
// in its place. Setting a keyword the message already has, or both at once, teaches nothing; neither does a
// client sending $Junk again with the whole flag list of a message the filter filed into Junk (mutt marking
// it read). Setting one of $Junk / $NotJunk takes the other off (RFC 9051 section 2.3.2), and the untagged
// FETCH says so.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { transaction } from '../helpers/smtp-client.ts';

const python = peer('python3', 'python3');
const USER = 'erin@keywords.test';
const PASS = 'erin-secret-pw';

// append MESSAGE_ID | store MESSAGE_ID MAILBOX +FLAGS|-FLAGS|FLAGS.SILENT FLAGS | move MESSAGE_ID FROM TO
// | flags MESSAGE_ID MAILBOX. store prints, as JSON, the untagged FETCH responses of the STORE (CONDSTORE
// enabled, so they carry MODSEQ) and then the message's FLAGS and MODSEQ read back; flags prints the latter.
const CLIENT = `
import imaplib, json, sys
port, user, pw, op = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
M = imaplib.IMAP4('127.0.0.1', port)
M.login(user, pw)
def uid_of(mailbox, mid):
    M.select(mailbox)
    typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', mid)
    return data[0].split()[0].decode()
if op == 'append':
    mid = sys.argv[5]
    msg = ('From: "Prize Desk" <desk@prizes.example>\\r\\nTo: ' + user + '\\r\\nSubject: your prize\\r\\nMessage-ID: <' + mid + '>\\r\\n'
           'Date: Mon, 05 Jan 2026 10:00:00 +0000\\r\\n\\r\\nClaim your prize voucher now, reference ' + mid + '.\\r\\n').encode()
    typ, data = M.append('INBOX', None, None, msg)
    assert typ == 'OK', (typ, data)
elif op == 'store':
    M.enable('CONDSTORE')
    uid = uid_of(sys.argv[6], sys.argv[5])
    typ, data = M.uid('STORE', uid, sys.argv[7], '(' + sys.argv[8] + ')')
    assert typ == 'OK', (typ, data)
    typ, back = M.uid('FETCH', uid, '(FLAGS MODSEQ)')
    print(json.dumps([[d.decode() for d in data if d], back[0].decode()]))
elif op == 'flags':
    typ, back = M.uid('FETCH', uid_of(sys.argv[6], sys.argv[5]), '(FLAGS)')
    print(json.dumps(back[0].decode()))
elif op == 'move':
    uid = uid_of(sys.argv[6], sys.argv[5])
    typ, data = M.uid('MOVE', uid, sys.argv[7])
    assert typ == 'OK', (typ, data)
M.logout()
`;

let t: TestServer;
let accountId: number;

before(async () => {
  t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.rules = ['LOCAL_CASINO body /online casino/i 1 junk'];
      // Reputation from users' judgements alone (the filter's own verdicts would add to the same rows).
      c.spam.reputation.learn_verdicts = false;
    },
  });
  await t.app.directory.addDomain('keywords.test');
  accountId = (await t.app.directory.addAccount(USER, PASS)).id;
});
after(() => t?.stop());

async function imap(...args: string[]) {
  const r = await run(python.path!, ['-c', CLIENT, String(t.ports.imap), USER, PASS, ...args], { timeoutMs: 30000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  await t.app.spamFeedback.settled();
  return r.stdout.trim() ? JSON.parse(r.stdout) : null;
}

/** Delivers a message from the internet that the filter files into Junk (LOCAL_CASINO); its Message-ID. */
async function deliverJunk(mid: string) {
  const r = await transaction(t.ports.smtp, {
    ip: '127.0.0.93',
    helo: 'mx.casino.example',
    from: 'news@casino.example',
    to: [USER],
    data:
      `From: Casino News <news@casino.example>\r\nTo: ${USER}\r\nSubject: Tonight ${mid}\r\n` +
      `Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${mid}>\r\n\r\nBest online casino bonuses, ${mid}.\r\n`,
  });
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(flagsIn(await imap('flags', mid, 'Junk')), ['$Junk'], 'filed into Junk with $Junk');
  return mid;
}

/**
 * Delivers a message from the internet that the filter files into INBOX. Its sender's reputation is read
 * under the client IP: a copy our filter delivered teaches it (its From, unauthenticated, is nobody's).
 */
async function deliverPrize(mid: string) {
  const r = await transaction(t.ports.smtp, {
    ip: '127.0.0.94',
    helo: 'mx.prizes.example',
    from: 'desk@prizes.example',
    to: [USER],
    data:
      `From: "Prize Desk" <desk@prizes.example>\r\nTo: ${USER}\r\nSubject: your prize\r\nMessage-ID: <${mid}>\r\n` +
      `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nClaim your prize voucher now, reference ${mid}.\r\n`,
  });
  assert.equal(r.code, 250, r.raw);
  assert.deepEqual(flagsIn(await imap('flags', mid, 'INBOX')), [], 'filed into INBOX');
}

/** The FLAGS of a FETCH response, sorted, without \\Recent (it says which session saw the message first). */
const flagsIn = (fetch: string) =>
  /FLAGS \(([^)]*)\)/
    .exec(fetch)![1]
    .split(' ')
    .filter((f) => f && f !== '\\Recent')
    .sort();
const modseqIn = (fetch: string) => Number(/MODSEQ \((\d+)\)/.exec(fetch)![1]);

async function reputationOfCasino() {
  const [e] = await t.app.store.reputation.lookup([{ kind: 'ip', key: '127.0.0.93' }], Date.now(), 1e12);
  return e ? { spam: Math.round(e.spam), ham: Math.round(e.ham) } : null;
}

const totals = async () => {
  const { spam, ham } = await t.app.store.bayes.totals(accountId);
  return { spam, ham };
};

async function reputationOfSender() {
  const [e] = await t.app.store.reputation.lookup([{ kind: 'ip', key: '127.0.0.94' }], Date.now(), 1e12);
  return e ? { spam: Math.round(e.spam), ham: Math.round(e.ham) } : null;
}

test('$Junk set in place teaches spam once, even when the client moves the message into Junk next', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  await deliverPrize('k1@prizes.example');
  assert.deepEqual(await totals(), { spam: 0, ham: 0 }, 'a delivery teaches Bayes nothing');
  assert.equal(await reputationOfSender(), null);

  await imap('store', 'k1@prizes.example', 'INBOX', '+FLAGS', '$Junk');
  assert.deepEqual(await totals(), { spam: 1, ham: 0 });
  assert.deepEqual(await reputationOfSender(), { spam: 5, ham: 0 });

  await imap('move', 'k1@prizes.example', 'INBOX', 'Junk');
  assert.deepEqual(await totals(), { spam: 1, ham: 0 });
  assert.deepEqual(await reputationOfSender(), { spam: 5, ham: 0 }, 'the move repeats the judgement: not counted');

  // Already flagged: nothing changes, nothing is learned.
  await imap('store', 'k1@prizes.example', 'Junk', '+FLAGS', '$Junk');
  assert.deepEqual(await reputationOfSender(), { spam: 5, ham: 0 });

  // Thunderbird's "not junk": Junk keyword off, NonJunk on. The spam is taken back and ham learned, in
  // Bayes and in the sender's reputation alike (the user's one judgement changed sides).
  await imap('store', 'k1@prizes.example', 'Junk', '-FLAGS', '$Junk');
  await imap('store', 'k1@prizes.example', 'Junk', '+FLAGS', 'NonJunk');
  assert.deepEqual(await totals(), { spam: 0, ham: 1 });
  assert.deepEqual(await reputationOfSender(), { spam: 0, ham: 5 });
});

test('both keywords at once, or ordinary keywords, teach nothing', { skip: python.skip, timeout: 120000 }, async () => {
  await imap('append', 'k2@prizes.example');
  const before = await totals();
  await imap('store', 'k2@prizes.example', 'INBOX', '+FLAGS', '$Junk $NotJunk');
  await imap('store', 'k2@prizes.example', 'INBOX', '+FLAGS', '$Work \\Flagged');
  assert.deepEqual(await totals(), before);
});

test('sending $Junk again with the flags of a message the filter filed into Junk teaches nothing', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const mid = await deliverJunk('c1@casino.example');
  const before = await totals();
  const reputation = await reputationOfCasino();
  // mutt marks a message read by storing its whole flag list; others add \Seen with what they show.
  const [, back] = await imap('store', mid, 'Junk', 'FLAGS.SILENT', '\\Seen $Junk');
  assert.deepEqual(flagsIn(back), ['$Junk', '\\Seen']);
  await imap('store', mid, 'Junk', '+FLAGS', '\\Flagged $Junk');
  assert.deepEqual(await totals(), before, 'the filter does not learn its own verdict');
  assert.deepEqual(await reputationOfCasino(), reputation, 'nor counts it as a user judgement of the sender');
});

test('$NotJunk set on a message with $Junk takes $Junk off and teaches ham; $Junk set back does the reverse', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const mid = await deliverJunk('c2@casino.example');
  const before = await totals();
  // Thunderbird's "not junk": +FLAGS ($NotJunk) first, then -FLAGS ($Junk).
  const [fetches, back] = await imap('store', mid, 'Junk', '+FLAGS', '$NotJunk');
  assert.equal(fetches.length, 1, fetches.join('\n'));
  assert.deepEqual(flagsIn(fetches[0]), ['$NotJunk'], 'the untagged FETCH shows $Junk gone');
  assert.deepEqual(flagsIn(back), ['$NotJunk']);
  assert.equal(modseqIn(fetches[0]), modseqIn(back), 'both keywords changed under one MODSEQ');
  assert.deepEqual(await totals(), { spam: before.spam, ham: before.ham + 1 });
  const [none] = await imap('store', mid, 'Junk', '-FLAGS', '$Junk');
  assert.deepEqual(flagsIn(none[0]), ['$NotJunk']);
  assert.deepEqual(await totals(), { spam: before.spam, ham: before.ham + 1 });

  // And back: $Junk on a message with $NotJunk takes $NotJunk off; the ham is taken back, spam learned.
  const [[fetch]] = await imap('store', mid, 'Junk', '+FLAGS', '$Junk');
  assert.deepEqual(flagsIn(fetch), ['$Junk']);
  assert.deepEqual(await totals(), { spam: before.spam + 1, ham: before.ham });
});
