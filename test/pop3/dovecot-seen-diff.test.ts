// Differential test against Dovecot 2.3 (defaults: pop3_no_flag_updates = no): the same poplib sessions on
// both servers must leave the same flags (read back over IMAP), except where we differ on purpose (named).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const run = promisify(execFile);
const python = peer('python3', 'python3');
const skip = python.skip ?? peer('dovecot', 'dovecot-pop3d').skip;

/**
 * A connection ended without QUIT: Dovecot still sets \Seen on what RETR sent (its client_destroy updates
 * the flags, not the expunges); we change nothing, since only QUIT enters the UPDATE state (RFC 1939
 * section 6) and a client cut off may not have kept what it was sent.
 */
const DROP_DIFFERENCE = 'dovecot-seen-on-drop';

let dovecot: Dovecot;
let petrel: Pop3Env;
before(async () => {
  if (skip) return;
  dovecot = await startDovecot({ users: 3 });
  petrel = await startPop3Env({ configure: (c) => (c.listeners.imap.enabled = true) });
});
after(async () => {
  await dovecot?.stop();
  await petrel?.stop();
});

interface Target {
  name: string;
  pop3: number;
  imap: number;
  user: string;
  pass: string;
  deliver(raw: string[]): Promise<void>;
}

/** Delivers over LMTP (Dovecot), runs one poplib session, then prints every message's flags over IMAP. */
const SCRIPT = `
import imaplib, json, poplib, smtplib, sys, time
pop3, imap, user, password, end = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
p = poplib.POP3('127.0.0.1', pop3)
p.user(user); p.pass_(password)
for c in sys.argv[6:]:
    verb, *args = c.split()
    if verb == 'RETR': p.retr(int(args[0]))
    elif verb == 'TOP': p.top(int(args[0]), int(args[1]))
    elif verb == 'DELE': p.dele(int(args[0]))
    elif verb == 'RSET': p.rset()
if end == 'quit': p.quit()
else: p.sock.close(); p.file.close()
flags = None
for attempt in range(100):
    # Dovecot updates after the connection is gone, asynchronously: wait until the POP3 lock is free.
    q = poplib.POP3('127.0.0.1', pop3)
    q.user(user)
    try:
        q.pass_(password); q.quit(); break
    except poplib.error_proto:
        q.sock.close(); time.sleep(0.05)
m = imaplib.IMAP4('127.0.0.1', imap)
m.login(user, password)
m.select('INBOX')
t, d = m.fetch('1:*', '(FLAGS)')
out = []
for x in d:
    if x is None: continue
    inner = x.decode().split('FLAGS (', 1)[1].split(')', 1)[0]
    out.append(' '.join(f for f in inner.split() if f != '\\\\Recent'))
m.logout()
print(json.dumps(out))
`;

const LMTP = `
import smtplib, sys
l = smtplib.LMTP('127.0.0.1', int(sys.argv[1]))
for raw in sys.argv[3:]:
    l.sendmail('bob@example.test', [sys.argv[2]], raw.encode())
l.quit()
`;

async function flagsAfter(t: Target, n: number, end: 'quit' | 'drop', cmds: string[]): Promise<string[]> {
  await t.deliver(Array.from({ length: n }, (_, i) => message(`diff ${i + 1}`)));
  const { stdout } = await run(python.path!, [
    '-c',
    SCRIPT,
    String(t.pop3),
    String(t.imap),
    t.user,
    t.pass,
    end,
    ...cmds,
  ]);
  return JSON.parse(stdout);
}

/** Each scenario on a Dovecot user of its own and on Petrel with an empty INBOX. */
function targets(dovecotUser: string): Target[] {
  return [
    {
      name: 'dovecot',
      pop3: dovecot.pop3Port,
      imap: dovecot.imapPort,
      user: dovecotUser,
      pass: 'pass',
      deliver: async (raw) => {
        await run(python.path!, ['-c', LMTP, String(dovecot.lmtpPort), dovecotUser, ...raw]);
      },
    },
    {
      name: 'petrel',
      pop3: petrel.pop3,
      imap: petrel.srv.ports.imap,
      user: USER,
      pass: PASS,
      deliver: async (raw) => {
        const mb = (await petrel.srv.app.store.getMailbox(petrel.accountId, 'INBOX'))!;
        await petrel.srv.app.mail.expunge(mb, await petrel.srv.app.store.listUids(mb.id));
        await petrel.deliver(...raw);
      },
    },
  ];
}

test('RETR, TOP, DELE then QUIT leave the same flags as on Dovecot', { skip }, async () => {
  const cmds = ['RETR 1', 'TOP 2 0', 'DELE 3', 'RETR 4', 'TOP 4 1'];
  const [d, p] = await Promise.all(targets('user1').map((t) => flagsAfter(t, 5, 'quit', cmds)));
  assert.deepEqual(d, ['\\Seen', '', '\\Seen', ''], 'Dovecot, as observed');
  assert.deepEqual(p, d);
});

test('RSET forgets RETR as Dovecot does', { skip }, async () => {
  const cmds = ['RETR 1', 'DELE 2', 'RSET', 'RETR 3'];
  const [d, p] = await Promise.all(targets('user2').map((t) => flagsAfter(t, 3, 'quit', cmds)));
  assert.deepEqual(d, ['', '', '\\Seen']);
  assert.deepEqual(p, d);
});

test(`a connection dropped without QUIT: the one named difference (${DROP_DIFFERENCE})`, { skip }, async () => {
  const cmds = ['RETR 1', 'DELE 2'];
  const [d, p] = await Promise.all(targets('user3').map((t) => flagsAfter(t, 3, 'drop', cmds)));
  assert.deepEqual(d, ['\\Seen', '', ''], 'Dovecot: \\Seen set, nothing expunged');
  assert.deepEqual(p, ['', '', ''], 'Petrel: nothing changed');
});
