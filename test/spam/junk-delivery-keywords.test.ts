// Junk keywords the server sets, read by Python imaplib: what the filter files into Junk arrives with $Junk
// (and $Phishing when a phishing check scored), clean mail with neither; a user moving a message out of Junk
// (a phone client that knows nothing of keywords) leaves it with $NotJunk and without $Junk, so a client that
// shows junk status by keyword (Thunderbird) agrees with the mailbox; moving it back sets $Junk again and
// clears $NotJunk; filing junk into Trash changes nothing. With spam.junk_keywords off, none of this.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { transaction } from '../helpers/smtp-client.ts';

const python = peer('python3', 'python3');
const PASS = 'keywords-secret-pw';

// argv: port user password, then steps as JSON: ["flags", mailbox, message-id] prints the flags of that
// message (\Recent left out: it says which session saw it first); ["move" | "copy", from, message-id, to].
const CLIENT = `
import imaplib, json, re, sys
port, user, pw, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
M = imaplib.IMAP4('127.0.0.1', port)
M.login(user, pw)
def uid_of(mailbox, mid):
    typ, _ = M.select(mailbox)
    assert typ == 'OK', mailbox
    typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', mid)
    uids = data[0].split()
    assert len(uids) == 1, (mailbox, mid, data)
    return uids[0].decode()
out = []
for step in steps:
    uid = uid_of(step[1], step[2])
    if step[0] == 'flags':
        typ, data = M.uid('FETCH', uid, '(FLAGS)')
        flags = re.search(rb'FLAGS \\(([^)]*)\\)', data[0]).group(1).decode().split()
        out.append(sorted(f for f in flags if f != '\\\\Recent'))
    else:
        typ, data = M.uid(step[0].upper(), uid, step[3])
        assert typ == 'OK', (typ, data)
        out.append(None)
M.logout()
print(json.dumps(out))
`;

async function startWith(junkKeywords: boolean, domain: string): Promise<TestServer> {
  const t = await startTestServer({
    configure(c) {
      c.listeners.smtp.enabled = true;
      c.spam.junk_keywords = junkKeywords;
      c.spam.rules = ['LOCAL_CASINO body /online casino/i 1 junk'];
    },
  });
  await t.app.directory.addDomain(domain);
  await t.app.directory.addAccount(`alice@${domain}`, PASS);
  return t;
}

let on: TestServer;
let off: TestServer;
before(async () => {
  on = await startWith(true, 'kw-on.test');
  off = await startWith(false, 'kw-off.test');
});
after(async () => {
  await on?.stop();
  await off?.stop();
});

/** Sends one message from the internet (127.0.0.x) and returns its Message-ID. */
async function deliver(t: TestServer, to: string, subject: string, body: string): Promise<string> {
  const mid = `${Date.now()}.${Math.random().toString(36).slice(2)}@casino.example`;
  const r = await transaction(t.ports.smtp, {
    ip: '127.0.0.93',
    helo: 'mx.casino.example',
    from: 'news@casino.example',
    to: [to],
    data:
      `From: Casino News <news@casino.example>\r\nTo: ${to}\r\nSubject: ${subject}\r\n` +
      `Date: Sun, 06 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${mid}>\r\n\r\n${body}`,
  });
  assert.equal(r.code, 250, r.raw);
  return mid;
}

async function imap(t: TestServer, user: string, steps: unknown[][]): Promise<(string[] | null)[]> {
  const r = await run(python.path!, ['-c', CLIENT, String(t.ports.imap), user, PASS, JSON.stringify(steps)], {
    timeoutMs: 30000,
  });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout);
}

test('junk arrives with $Junk, phishing with $Phishing too; moves keep $Junk and $NotJunk in step', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const user = 'alice@kw-on.test';
  const clean = await deliver(on, user, 'Minutes', 'The minutes of the meeting.');
  const junk = await deliver(on, user, 'Tonight', 'Best online casino bonuses.');
  // "Pаypal" with a Cyrillic a, in an encoded word: PHISH_MIXED_SCRIPT_TEXT.
  const subject = `=?utf-8?b?${Buffer.from('Your P\u0430ypal account').toString('base64')}?=`;
  const phish = await deliver(on, user, subject, 'Verify at the online casino.');
  const [cleanFlags, junkFlags, phishFlags] = await imap(on, user, [
    ['flags', 'INBOX', clean],
    ['flags', 'Junk', junk],
    ['flags', 'Junk', phish],
  ]);
  assert.deepEqual(cleanFlags, []);
  assert.deepEqual(junkFlags, ['$Junk']);
  assert.deepEqual(phishFlags, ['$Junk', '$Phishing']);

  // Out of Junk: the user says "not junk". $Phishing stays (a client warns only while $Junk is set too).
  const out = await imap(on, user, [
    ['move', 'Junk', phish, 'INBOX'],
    ['flags', 'INBOX', phish],
    ['copy', 'Junk', junk, 'Trash'],
    ['flags', 'Trash', junk],
  ]);
  assert.deepEqual(out[1], ['$NotJunk', '$Phishing']);
  assert.deepEqual(out[3], ['$Junk'], 'junk filed into Trash is not judged ham');

  // Back into Junk: $Junk again, $NotJunk gone; the clean message moved in gets $Junk too.
  const back = await imap(on, user, [
    ['move', 'INBOX', phish, 'Junk'],
    ['flags', 'Junk', phish],
    ['move', 'INBOX', clean, 'Junk'],
    ['flags', 'Junk', clean],
  ]);
  assert.deepEqual(back[1], ['$Junk', '$Phishing']);
  assert.deepEqual(back[3], ['$Junk']);
});

test('with spam.junk_keywords off, Junk deliveries and moves leave keywords alone', {
  skip: python.skip,
  timeout: 120000,
}, async () => {
  const user = 'alice@kw-off.test';
  const junk = await deliver(off, user, 'Tonight', 'Best online casino bonuses.');
  const r = await imap(off, user, [
    ['flags', 'Junk', junk],
    ['move', 'Junk', junk, 'INBOX'],
    ['flags', 'INBOX', junk],
  ]);
  assert.deepEqual(r[0], []);
  assert.deepEqual(r[2], []);
});
