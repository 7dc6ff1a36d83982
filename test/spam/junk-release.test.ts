// "Not spam" from the self-service page: mail the filter put in Junk is invisible to a POP3 client (POP3
// reads the INBOX only); the user signs in with curl, finds it in the Junk list of /account/spam (JSON and
// the HTML a browser gets), and releases it: Python poplib then downloads it from the INBOX, and the filter
// has learned ham from the move, as from an IMAP client's (the uid posted back as the JSON number the list
// gives). Releasing it twice, releasing another user's message and a uid that is no number are refused. "Spam" on a message of the INBOX list moves it into
// Junk and teaches spam: a POP3 user's only way to report one.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { accountHttp } from '../helpers/account-http.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { message, send, startSpamWorld, USER } from './fixture.ts';

const curl = peer('curl', 'curl');
const python = peer('python3', 'python3');
const BOB = 'bob@example.com';
let f: OutboundFixture;
let dir: string;

// PORT USER PASS: the subjects of the INBOX as POP3 lists them, one per line.
const POP3_SUBJECTS = `
import poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
for i in range(1, len(p.list()[1]) + 1):
    for line in p.top(i, 0)[1]:
        if line.lower().startswith(b'subject:'):
            print(line[8:].strip().decode())
p.quit()
`;

before(async () => {
  f = await startSpamWorld({
    configure(c) {
      c.spam.junk_score = -10; // every message lands in Junk
      c.listeners.http.enabled = true;
      c.listeners.pop3.enabled = true;
    },
  });
  await f.app.directory.addAccount(BOB, 'bob-secret-pw');
  dir = mkdtempSync(join(tmpdir(), 'petrel-junk-release-'));
});

after(async () => {
  await f?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const http = accountHttp(
  curl.path ?? 'curl',
  () => f.server.ports.http,
  () => dir,
);

const fromVendor = (subject: string) =>
  send(f, {
    ip: '127.0.0.47',
    helo: 'mail.vendor.test',
    from: 'billing@vendor.test',
    raw: message('billing@vendor.test', subject),
  });

async function pop3Subjects(user: string, pass: string): Promise<string[]> {
  const r = await run(python.path!, ['-c', POP3_SUBJECTS, String(f.server.ports.pop3), user, pass], {
    timeoutMs: 30000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('a POP3 user releases a message from Junk on /account/spam and reports one from the INBOX', {
  skip: curl.skip || python.skip,
  timeout: 120000,
}, async () => {
  const sent = await fromVendor('your invoice 4711');
  assert.ok(sent.ok, sent.response);
  assert.deepEqual(await pop3Subjects(USER, 'secret-pw'), [], 'in Junk: POP3 does not see it');

  assert.equal(
    (await http('alice', '/account/login', { json: { username: USER, password: 'secret-pw' } })).status,
    200,
  );
  const { junk } = JSON.parse((await http('alice', '/account/spam')).body) as {
    junk: { uid: number; from: string; subject: string; score: number | null }[];
  };
  assert.equal(junk.length, 1);
  assert.equal(junk[0].subject, 'your invoice 4711');
  assert.match(junk[0].from, /billing@vendor\.test/);
  assert.equal(typeof junk[0].score, 'number', 'the filter put it there');
  const page = await http('alice', '/account/spam', { html: true });
  assert.match(page.body, /your invoice 4711/);
  assert.match(page.body, new RegExp(`name="uid" value="${junk[0].uid}"><button>Not spam</button>`));

  // Another user cannot release it; a uid must be a number.
  assert.equal(
    (await http('bob', '/account/login', { json: { username: BOB, password: 'bob-secret-pw' } })).status,
    200,
  );
  assert.equal((await http('bob', '/account/spam/release', { json: { uid: String(junk[0].uid) } })).status, 404);
  assert.equal((await http('alice', '/account/spam/release', { json: { uid: 'abc' } })).status, 400);

  const accountId = (await f.app.store.getAccount(USER))!.id;
  const before = await f.app.store.bayes.totals(accountId);
  // The uid as GET /account/spam gives it: a JSON number.
  const r = await http('alice', '/account/spam/release', { json: { uid: junk[0].uid } });
  assert.equal(r.status, 200, r.body);
  assert.deepEqual(JSON.parse(r.body), { uid: junk[0].uid, released: true });
  assert.deepEqual(await pop3Subjects(USER, 'secret-pw'), ['your invoice 4711']);
  await f.app.spamFeedback.settled();
  const learned = await f.app.store.bayes.totals(accountId);
  assert.equal(learned.ham, before.ham + 1, 'the release taught ham, as a move out of Junk does');
  assert.deepEqual(JSON.parse((await http('alice', '/account/spam')).body).junk, []);
  // Gone from Junk: a second release finds nothing.
  assert.equal((await http('alice', '/account/spam/release', { json: { uid: String(junk[0].uid) } })).status, 404);

  // A browser's form: the release, then back to the page (303).
  assert.ok((await fromVendor('second invoice')).ok);
  const [second] = JSON.parse((await http('alice', '/account/spam')).body).junk as { uid: number }[];
  const form = await http('alice', '/account/spam/release', { form: { uid: String(second.uid) }, html: true });
  assert.equal(form.status, 303);
  assert.deepEqual(await pop3Subjects(USER, 'secret-pw'), ['your invoice 4711', 'second invoice']);

  // And the other way: "Spam" on a message of the INBOX list moves it into Junk and teaches spam.
  const { inbox } = JSON.parse((await http('alice', '/account/spam')).body) as {
    inbox: { uid: number; subject: string; score: number | null }[];
  };
  assert.deepEqual(
    inbox.map((m) => m.subject),
    ['second invoice', 'your invoice 4711'],
    'newest first',
  );
  const first = inbox.find((m) => m.subject === 'your invoice 4711')!;
  assert.equal(first.score, junk[0].score, 'moved there, it keeps the verdict of the copy the filter filed');
  assert.equal((await http('bob', '/account/spam/report', { json: { uid: String(first.uid) } })).status, 404);
  await f.app.spamFeedback.settled();
  const beforeReport = await f.app.store.bayes.totals(accountId);
  const rep = await http('alice', '/account/spam/report', { json: { uid: first.uid } });
  assert.equal(rep.status, 200, rep.body);
  assert.deepEqual(JSON.parse(rep.body), { uid: first.uid, reported: true });
  assert.deepEqual(await pop3Subjects(USER, 'secret-pw'), ['second invoice']);
  await f.app.spamFeedback.settled();
  const reported = await f.app.store.bayes.totals(accountId);
  assert.equal(reported.spam, beforeReport.spam + 1, 'learned as spam');
  assert.equal(reported.ham, beforeReport.ham - 1, 'its earlier ham learning taken back');
  assert.match((await http('alice', '/account/spam', { html: true })).body, /<button>Spam<\/button>/);
});
