// Fuzzy digests over the wire: a campaign sends each recipient a copy with their own name, price and
// tracking link (nodemailer from 127.0.0.45 into the MX listener); alice and bob each move theirs into Junk
// with Python imaplib; the next copy, to another name with another link, scores FUZZY_SPAM (its exact
// digest was never reported), while an unrelated message and a short one do not. Alice moving a second
// copy herself is still one report: a person counts once per digest.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { newestVerdict, send, startSpamWorld } from './fixture.ts';

const python = peer('python3', 'python3');
const BOB = 'bob@example.com';
const PASSWORDS: Record<string, string> = { 'alice@example.com': 'secret-pw', [BOB]: 'bob-secret-pw' };

// PORT USER PASS MESSAGE_ID: moves the message from INBOX into Junk.
const MOVE_TO_JUNK = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login(sys.argv[2], sys.argv[3])
M.select('INBOX')
typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', sys.argv[4])
uid = data[0].split()[0].decode()
typ, data = M.uid('MOVE', uid, 'Junk')
assert typ == 'OK', (typ, data)
M.logout()
`;

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    configure(c) {
      c.listeners.imap.enabled = true;
      c.spam.digests.min_reports = 2;
    },
    async beforeServe(app) {
      await app.directory.addAccount(BOB, PASSWORDS[BOB]);
    },
  });
});
after(() => f?.stop());

let n = 0;
function copy(to: string, name: string, price: string, code: string): { raw: string; id: string } {
  const id = `offer-${code}-${++n}@deals.example`;
  const raw =
    `From: "Spring Deals" <offers@deals.example>\r\nTo: ${to}\r\nSubject: ${name}, your exclusive offer\r\n` +
    `Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n\r\n' +
    `Dear ${name},\r\n\r\nyour account was selected for our exclusive spring offer. For a limited time only\r\n` +
    `you can order the complete premium package at the special price of ${price} instead of the usual\r\n` +
    'price, with free delivery to your door and a full refund if you are not satisfied. Thousands of\r\n' +
    'customers have already saved hundreds. To claim your discount follow the link below this week:\r\n\r\n' +
    `https://track.deals.example/c/${code}\r\n\r\nIf you no longer wish to receive our offers, reply with remove.\r\n`;
  return { raw, id };
}

const deliver = async (to: string, raw: string) => {
  const r = await send(f, {
    ip: '127.0.0.45',
    helo: 'mail.deals.example',
    from: 'offers@deals.example',
    to: [to],
    raw,
  });
  assert.ok(r.ok, r.response);
};

async function moveToJunk(user: string, messageId: string) {
  const r = await run(
    python.path!,
    ['-c', MOVE_TO_JUNK, String(f.server.ports.imap), user, PASSWORDS[user], messageId],
    {
      timeoutMs: 30000,
    },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  await f.app.spamFeedback.settled();
}

test('copies two users moved into Junk make the next copy score FUZZY_SPAM', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const a = copy('alice@example.com', 'Alice', '$49.99', 'a81f3bd29e004c1d');
  const b = copy(BOB, 'Robert', '$59.00', '77d01a9cc3e24f8b');
  await deliver('alice@example.com', a.raw);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols), 'nothing reported yet');
  await deliver(BOB, b.raw);
  await moveToJunk('alice@example.com', `<${a.id}>`);
  // One report is not enough (min_reports 2), nor is alice moving a second copy: one person, one vote.
  const c = copy('alice@example.com', 'Carol', '$39', 'c0ffee1234abcd');
  await deliver('alice@example.com', c.raw);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols));
  await moveToJunk('alice@example.com', `<${c.id}>`);
  await deliver('alice@example.com', copy('alice@example.com', 'Dan', '$45', 'da11da11da11da').raw);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols));

  await moveToJunk(BOB, `<${b.id}>`);
  await deliver('alice@example.com', copy('alice@example.com', 'Dora', '$29.50', 'dd0b1e5e77aa01').raw);
  const v = await newestVerdict(f, 'alice@example.com');
  assert.equal(v.symbols.FUZZY_SPAM, 4, JSON.stringify(v.symbols));
  assert.ok(!('DIGEST_SPAM' in v.symbols), 'its exact digest was never reported');

  // An unrelated message of the same length, and a copy's first lines alone (too short for a fuzzy digest).
  const minutes =
    'From: pm@partner.example\r\nTo: alice@example.com\r\nSubject: minutes\r\nMessage-ID: <minutes-1@partner.example>\r\n' +
    'Date: Mon, 07 Dec 2026 11:00:00 +0000\r\n\r\nMinutes of the project meeting held on Tuesday. Present were the whole\r\n' +
    'team except for the two members on holiday. The release is planned for the end of next month; the test\r\n' +
    'plan was reviewed and accepted with two changes. The budget for the new build machines was approved.\r\n';
  await deliver('alice@example.com', minutes);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols));
  const short = copy('alice@example.com', 'Erin', '$19', 'ee').raw.replace(/ For a limited[\s\S]*$/, '\r\n');
  await deliver('alice@example.com', short);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols));
});

test('`petrel spam digests show` names the reports behind FUZZY_SPAM; `forget` clears them', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const file = join(f.server.dataDir, 'next-copy.eml');
  writeFileSync(file, copy('alice@example.com', 'Gina', '$35', '9e9e9e9e9e9e9e').raw);
  const env = { ...process.env, PETREL_SERVER_DATA_DIR: f.server.dataDir, PETREL_SPAM_DIGESTS_MIN_REPORTS: '2' };
  const petrel = async (...args: string[]) => {
    const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'digests', ...args], {
      env,
      timeoutMs: 60000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    return r.stdout;
  };
  // A file that cannot be read is named in a usage error (exit 2), before anything is shown or forgotten.
  const bad = await run(
    process.execPath,
    [resolve('bin/petrel.js'), 'spam', 'digests', 'forget', file, f.server.dataDir],
    {
      env,
      timeoutMs: 60000,
    },
  );
  assert.equal(bad.status, 2, bad.stdout + bad.stderr);
  assert.match(bad.stderr, /: a directory|not a regular file/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
  const shown = await petrel('show', file);
  assert.match(shown, /the digest check says FUZZY_SPAM=4/);
  assert.match(shown, /^ {2}fz1\.\d:[0-9a-f]{32} spam 2 ham 0 last /m);
  assert.match(shown, /^ {2}body:[0-9a-f]{40} not reported$/m);
  assert.match(await petrel('forget', file), /^\d+ digests forgotten$/m);
  assert.match(await petrel('show', file), /the digest check says nothing/);
  // Over SMTP too: the next copy scores nothing from the digest store now.
  await deliver('alice@example.com', copy('alice@example.com', 'Hal', '$25', 'ab12ab12ab12ab').raw);
  assert.ok(!('FUZZY_SPAM' in (await newestVerdict(f, 'alice@example.com')).symbols));
});
