// Real POP3 clients against Petrel: Python poplib (plain, STLS, POP3S), curl (pop3:// and pop3s://) and
// fetchmail delivering a whole maildrop to an MDA, each retrieving and deleting.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { peer } from '../helpers/peers.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const run = promisify(execFile);
const python = peer('python3', 'python3');
const curl = peer('curl', 'curl');
const fetchmail = peer('fetchmail', 'fetchmail');

let env: Pop3Env;
before(async () => {
  env = await startPop3Env();
});
after(() => env.stop());

async function inboxCount(): Promise<number> {
  return (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!.messages;
}

async function emptyInbox(): Promise<void> {
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  await env.srv.app.mail.expunge(mb, await env.srv.app.store.listUids(mb.id));
}

// Retrieves everything, deletes message 1, prints what it saw as JSON.
const POPLIB = `
import json, poplib, ssl, sys
mode, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'ssl':
    p = poplib.POP3_SSL('127.0.0.1', port, context=ctx)
else:
    p = poplib.POP3('127.0.0.1', port)
    if mode == 'stls':
        p.stls(context=ctx)
caps = p.capa()
p.user(user); p.pass_(password)
count, size = p.stat()
msgs = [b'\\r\\n'.join(p.retr(i + 1)[1]).decode('latin1') for i in range(count)]
uidl = [x.decode() for x in p.uidl()[1]]
top = [x.decode('latin1') for x in p.top(1, 0)[1]]
p.dele(1)
p.quit()
print(json.dumps({'caps': sorted(caps), 'count': count, 'size': size, 'msgs': msgs, 'uidl': uidl, 'top': top}))
`;

for (const mode of ['plain', 'stls', 'ssl'] as const)
  test(`Python poplib (${mode}) retrieves and deletes`, { skip: python.skip }, async () => {
    await emptyInbox();
    const m1 = message('py one');
    const m2 = message('py two', '.leading dot\r\n..two dots\r\n');
    await env.deliver(m1, m2);
    const port = mode === 'ssl' ? env.pop3s : env.pop3;
    const { stdout } = await run(python.path!, ['-c', POPLIB, mode, String(port), USER, PASS]);
    const r = JSON.parse(stdout);
    assert.equal(r.count, 2);
    assert.equal(r.size, m1.length + m2.length);
    // poplib strips CRLF and the byte-stuffing: joining the lines with CRLF gives back the message.
    assert.deepEqual(
      r.msgs.map((m: string) => `${m}\r\n`),
      [m1, m2],
    );
    assert.equal(r.uidl.length, 2);
    assert.deepEqual(r.top, [...m1.split('\r\n\r\n')[0].split('\r\n'), '']);
    assert.ok(r.caps.includes('UIDL') && r.caps.includes('TOP'));
    assert.equal(r.caps.includes('STLS'), mode === 'plain');
    assert.equal(await inboxCount(), 1, 'DELE 1 then QUIT removed one message');
  });

test('Python poplib TOP with a line count of 10+ digits gets the whole message (RFC 1939 section 7)', {
  skip: python.skip,
}, async () => {
  await emptyInbox();
  const m = message('py top', 'Line 1\r\n.Line 2\r\n');
  await env.deliver(m);
  // "If the number of lines requested ... is greater than the number of lines in the body, then the POP3
  // server sends the entire message": the count is any non-negative number, as Dovecot takes it.
  const script = `
import json, poplib, sys
p = poplib.POP3('127.0.0.1', int(sys.argv[1]))
p.user(sys.argv[2]); p.pass_(sys.argv[3])
resp, lines, _ = p.top(1, 99999999999)
p.quit()
print(json.dumps({'resp': resp.decode(), 'lines': [x.decode('latin1') for x in lines]}))
`;
  const { stdout } = await run(python.path!, ['-c', script, String(env.pop3), USER, PASS]);
  const r = JSON.parse(stdout);
  assert.equal(r.resp, '+OK Top of message follows');
  assert.equal(`${r.lines.join('\r\n')}\r\n`, m);
});

test('curl lists, retrieves (pop3:// and pop3s://) and deletes', { skip: curl.skip }, async () => {
  await emptyInbox();
  const m1 = message('curl one');
  const m2 = message('curl two', '.dot line\r\n');
  await env.deliver(m1, m2);
  const auth = ['-s', '-S', '-u', `${USER}:${PASS}`];
  const list = await run(curl.path!, [...auth, `pop3://127.0.0.1:${env.pop3}/`]);
  assert.equal(list.stdout, `1 ${m1.length}\r\n2 ${m2.length}\r\n`);
  const retr = await run(curl.path!, [...auth, '--insecure', `pop3s://127.0.0.1:${env.pop3s}/2`], {
    encoding: 'buffer',
  });
  assert.equal(retr.stdout.toString(), m2);
  await run(curl.path!, [...auth, '-X', 'DELE', '-I', `pop3://127.0.0.1:${env.pop3}/1`]);
  // curl ends the session with QUIT, so the deletion is committed.
  for (let i = 0; i < 50 && (await inboxCount()) !== 1; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(await inboxCount(), 1);
  const after = await run(curl.path!, [...auth, `pop3://127.0.0.1:${env.pop3}/`]);
  assert.equal(after.stdout, `1 ${m2.length}\r\n`);
});

test('fetchmail retrieves a whole maildrop over STLS into an MDA and deletes it', {
  skip: fetchmail.skip,
}, async () => {
  await emptyInbox();
  const msgs = [message('fm one'), message('fm two', '.dot\r\n..two\r\nlast\r\n'), message('fm three')];
  await env.deliver(...msgs);
  const home = mkdtempSync(join(tmpdir(), 'petrel-fetchmail-'));
  try {
    const mbox = join(home, 'mbox');
    // Each message goes through the MDA on its own, after a separator line we can split on.
    writeFileSync(
      join(home, '.fetchmailrc'),
      `set no bouncemail
poll 127.0.0.1 with proto POP3 port ${env.pop3}
  user "${USER}" there with password "${PASS}" is "localuser" here
  mda "/bin/sh -c 'echo ==PETREL== >> ${mbox}; cat >> ${mbox}'"
  no sslcertck
  fetchall
`,
    );
    chmodSync(join(home, '.fetchmailrc'), 0o600);
    const { stdout, stderr } = await run(fetchmail.path!, ['-v', '--nosyslog', '-f', join(home, '.fetchmailrc')], {
      env: { ...process.env, HOME: home },
      timeout: 60000,
    });
    const log = stdout + stderr;
    assert.match(log, /upgrade to TLS succeeded/);
    assert.match(log, /3 messages for alice@example.test/);
    assert.match(log, /POP3< \+OK Petrel POP3 server signing off \(0 messages left\)/);
    const delivered = readFileSync(mbox, 'latin1').split('==PETREL==\n').slice(1);
    assert.equal(delivered.length, 3);
    for (let i = 0; i < 3; i++) {
      // fetchmail adds its Received header and hands the MDA LF line ends.
      const want = msgs[i].replace(/\r\n/g, '\n');
      assert.ok(delivered[i].endsWith(want), `message ${i + 1}:\n${delivered[i]}`);
    }
    assert.equal(await inboxCount(), 0, 'fetchmail deleted what it retrieved');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
