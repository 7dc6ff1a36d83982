// Bayes learning over the wire: two near-identical spams arrive by SMTP (Python smtplib), a little ham and
// spam is learned with `petrel spam train`, then Python imaplib MOVEs the first spam into Junk: the
// account's table learns it and `petrel spam check` scores its twin higher, with a different BAYES symbol.
// Moving it back out of Junk un-learns the spam and learns ham: the twin's score falls again. A client
// APPENDing a message into Junk teaches spam too; APPEND anywhere else teaches nothing. An account removed with
// `petrel account remove` leaves no table behind.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { corpusFiles, storedForm } from '../helpers/corpus.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const BIN = resolve('bin/petrel.js');
const python = peer('python3', 'python3');
const USER = 'dora@bayes.test';
const PASS = 'dora-secret-pw';

// send HOST PORT FROM TO FILE | append PORT USER PASS MAILBOX FILE | move PORT USER PASS FROM_MAILBOX TO_MAILBOX MESSAGE_ID | fetch PORT USER PASS MESSAGE_ID OUT
const CLIENT = `
import imaplib, smtplib, sys
op = sys.argv[1]
if op == 'send':
    s = smtplib.SMTP('127.0.0.1', int(sys.argv[2]))
    s.sendmail(sys.argv[3], [sys.argv[4]], open(sys.argv[5], 'rb').read())
    s.quit()
else:
    M = imaplib.IMAP4('127.0.0.1', int(sys.argv[2]))
    M.login(sys.argv[3], sys.argv[4])
    if op == 'append':
        typ, data = M.append(sys.argv[5], None, None, open(sys.argv[6], 'rb').read())
        assert typ == 'OK', (typ, data)
    elif op == 'move':
        M.select(sys.argv[5])
        typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', sys.argv[7])
        uid = data[0].split()[0].decode()
        typ, data = M.uid('MOVE', uid, sys.argv[6])
        assert typ == 'OK', (typ, data)
    else:
        M.select('INBOX', readonly=True)
        typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', sys.argv[5])
        uid = data[0].split()[0].decode()
        typ, data = M.uid('FETCH', uid, '(BODY.PEEK[])')
        open(sys.argv[6], 'wb').write(data[0][1])
    M.logout()
print('ok')
`;

let t: TestServer;
let env: NodeJS.ProcessEnv;
let accountId: number;

before(async () => {
  t = await startTestServer({
    configure: (c) => {
      c.spam.bayes.account_min_learns = 5;
    },
  });
  await t.app.directory.addDomain('bayes.test');
  accountId = (await t.app.directory.addAccount(USER, PASS)).id;
  // The CLI runs against the server's data directory with the same settings.
  env = {
    ...process.env,
    PETREL_SERVER_DATA_DIR: t.dataDir,
    PETREL_SERVER_HOSTNAME: 'mx.test.petrel',
    PETREL_SPAM_BAYES_ACCOUNT_MIN_LEARNS: '5',
  };
});
after(() => t?.stop());

async function petrel(...args: string[]) {
  const r = await run(process.execPath, [BIN, ...args], { env, timeoutMs: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

async function py(...args: string[]) {
  const r = await run(python.path!, ['-c', CLIENT, ...args], { timeoutMs: 30000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
}

function spam(n: number): string {
  return (
    `From: "Lucky Draw Office" <winner${n}@prizes.example>\r\nTo: ${USER}\r\n` +
    `Subject: Claim your cruise voucher now ${n}\r\nMessage-ID: <cruise-${n}@prizes.example>\r\n` +
    'Date: Mon, 05 Jan 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n' +
    'Congratulations winner! Your exclusive cruise voucher is waiting. Claim the voucher today:\r\n' +
    `reply with your bank details and passport number to the lucky draw office, reference ${n}.\r\n` +
    'Limited offer, voucher expires soon. Act now to claim your exclusive luxury cruise prize.\r\n'
  );
}

type Symbol = { name: string; score: number; detail?: string };

async function twinScore(file: string): Promise<{ score: number; bayes: Symbol }> {
  const out = await petrel('spam', 'check', '--account', USER, file);
  const line = JSON.parse(out.trim().split('\n').pop()!) as { file: string; score: number; symbols: Symbol[] };
  assert.equal(line.file, file);
  const bayes = line.symbols.find((s) => s.name.startsWith('BAYES_'));
  assert.ok(bayes, out);
  return { score: line.score, bayes };
}

async function waitTotals(want: { spam: number; ham: number }) {
  await t.app.spamFeedback.settled();
  const { spam, ham } = await t.app.store.bayes.totals(accountId);
  assert.deepEqual({ spam, ham }, want);
}

test('moving into Junk learns spam for the account; moving out un-learns it', {
  skip: python.skip,
  timeout: 180000,
}, async () => {
  const dir = join(t.dataDir, 'bayes-e2e');
  mkdirSync(join(dir, 'spam'), { recursive: true });
  mkdirSync(join(dir, 'ham'));
  // Two near-identical spams over SMTP.
  for (const n of [1, 2]) {
    writeFileSync(join(dir, `spam${n}.eml`), spam(n));
    await py('send', String(t.ports.smtp), 'winner@prizes.example', USER, join(dir, `spam${n}.eml`));
  }
  // A little training for the account: corpus ham and spam, through the CLI.
  const files = corpusFiles();
  const pick = (group: string) => files.filter((f) => f.includes(`/${group}/`)).slice(0, 6);
  for (const [i, f] of pick('spam-2').entries())
    writeFileSync(join(dir, 'spam', `${i}.eml`), storedForm(readFileSync(f)));
  for (const [i, f] of pick('easy-ham-1').entries())
    writeFileSync(join(dir, 'ham', `${i}.eml`), storedForm(readFileSync(f)));
  const trained = await petrel(
    'spam',
    'train',
    '--spam',
    join(dir, 'spam'),
    '--ham',
    join(dir, 'ham'),
    '--account',
    USER,
  );
  assert.match(trained, /spam: 6 learned/);
  assert.match(trained, /ham: 6 learned/);
  await waitTotals({ spam: 6, ham: 6 });

  // The twin as stored, fetched over IMAP.
  const twin = join(dir, 'twin.eml');
  await py('fetch', String(t.ports.imap), USER, PASS, '<cruise-2@prizes.example>', twin);
  const before = await twinScore(twin);

  await py('move', String(t.ports.imap), USER, PASS, 'INBOX', 'Junk', '<cruise-1@prizes.example>');
  await waitTotals({ spam: 7, ham: 6 });
  const junked = await twinScore(twin);
  assert.ok(junked.score > before.score, `${JSON.stringify(before)} -> ${JSON.stringify(junked)}`);
  assert.equal(junked.bayes.name, 'BAYES_SPAM');
  assert.notDeepEqual(junked.bayes, before.bayes);

  // Moved twice? Copying it into Junk again changes nothing (learning is per message, not per move).
  await py('move', String(t.ports.imap), USER, PASS, 'Junk', 'Trash', '<cruise-1@prizes.example>');
  await waitTotals({ spam: 7, ham: 6 });
  await py('move', String(t.ports.imap), USER, PASS, 'Trash', 'Junk', '<cruise-1@prizes.example>');
  await waitTotals({ spam: 7, ham: 6 });

  // Out of Junk: the spam is taken back and the message learned as ham.
  await py('move', String(t.ports.imap), USER, PASS, 'Junk', 'INBOX', '<cruise-1@prizes.example>');
  await waitTotals({ spam: 6, ham: 7 });
  const rescued = await twinScore(twin);
  assert.ok(rescued.score < junked.score, `${JSON.stringify(junked)} -> ${JSON.stringify(rescued)}`);
  assert.notEqual(rescued.bayes.name, 'BAYES_SPAM');
});

test('APPEND into Junk learns spam for the account; APPEND elsewhere learns nothing', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const before = await t.app.store.bayes.totals(accountId);
  const dir = join(t.dataDir, 'bayes-append');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'inbox.eml'), spam(4));
  await py('append', String(t.ports.imap), USER, PASS, 'INBOX', join(dir, 'inbox.eml'));
  await waitTotals({ spam: before.spam, ham: before.ham });
  writeFileSync(join(dir, 'junk.eml'), spam(3));
  await py('append', String(t.ports.imap), USER, PASS, 'Junk', join(dir, 'junk.eml'));
  await waitTotals({ spam: before.spam + 1, ham: before.ham });
  // The same message appended again is the same message: learned once.
  await py('append', String(t.ports.imap), USER, PASS, 'Junk', join(dir, 'junk.eml'));
  await waitTotals({ spam: before.spam + 1, ham: before.ham });
});

test('moved into Junk and straight back out, a message ends learned as ham even when the spam learn is slow', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const user = 'lee@bayes.test';
  const id = (await t.app.directory.addAccount(user, PASS)).id;
  const file = join(t.dataDir, 'undo.eml');
  writeFileSync(file, spam(5).replace(`To: ${USER}`, `To: ${user}`));
  await py('append', String(t.ports.imap), user, PASS, 'INBOX', file);
  // The spam learn (the move into Junk) is held, as a big message's content scan holds it, until the ham
  // learn has been made or a second after the move back out (with judgements in order, the ham learn waits
  // for it). The user's last word, ham, must be what the table ends with.
  const bayes = t.app.store.bayes;
  const learn = bayes.learn;
  let release!: () => void;
  let gate: Promise<void> | undefined = new Promise((r) => (release = r));
  bayes.learn = async (scope, items, now) => {
    const g = items[0]?.class === 'spam' ? gate : undefined;
    if (g) {
      gate = undefined;
      await g;
    }
    const out = await learn.call(bayes, scope, items, now);
    if (items[0]?.class === 'ham') release();
    return out;
  };
  try {
    await py('move', String(t.ports.imap), user, PASS, 'INBOX', 'Junk', '<cruise-5@prizes.example>');
    await py('move', String(t.ports.imap), user, PASS, 'Junk', 'INBOX', '<cruise-5@prizes.example>');
    setTimeout(release, 1000);
    await t.app.spamFeedback.settled();
  } finally {
    release();
    bayes.learn = learn;
  }
  const totals = await t.app.store.bayes.totals(id);
  assert.deepEqual({ spam: totals.spam, ham: totals.ham }, { spam: 0, ham: 1 });
});

test("`petrel account remove` takes the account's Bayes table and judgements with it; the address made again starts empty", {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const user = 'gone@bayes.test';
  const id = (await t.app.directory.addAccount(user, PASS)).id;
  const file = join(t.dataDir, 'gone.eml');
  writeFileSync(file, spam(6).replace(`To: ${USER}`, `To: ${user}`));
  await py('append', String(t.ports.imap), user, PASS, 'Junk', file);
  await t.app.spamFeedback.settled();
  const left = () => {
    const db = new Database(join(t.dataDir, 'petrel.db'), { readonly: true });
    try {
      const n = (sql: string) => (db.prepare(sql).get(id) as { n: number }).n;
      return {
        tokens: n('SELECT COUNT(*) AS n FROM bayes_tokens WHERE scope = ?'),
        totals: n('SELECT COUNT(*) AS n FROM bayes_totals WHERE scope = ?'),
        learned: n('SELECT COUNT(*) AS n FROM bayes_learned WHERE scope = ?'),
        judgements: n('SELECT COUNT(*) AS n FROM spam_judgements WHERE account_id = ?'),
      };
    } finally {
      db.close();
    }
  };
  const had = left();
  assert.ok(had.tokens > 0 && had.totals === 1 && had.learned === 1 && had.judgements === 1, JSON.stringify(had));
  await petrel('account', 'remove', user);
  assert.deepEqual(left(), { tokens: 0, totals: 0, learned: 0, judgements: 0 });
  const again = await t.app.directory.addAccount(user, PASS);
  assert.notEqual(again.id, id);
  const { spam: s, ham: h } = await t.app.store.bayes.totals(again.id);
  assert.deepEqual({ spam: s, ham: h }, { spam: 0, ham: 0 });
});
