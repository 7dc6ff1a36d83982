// \Seen from POP3: messages retrieved with RETR (not TOP) get \Seen when the session ends with QUIT and
// enters the UPDATE state (RFC 1939 section 6), as Dovecot does; IMAP sessions hear it as FETCH FLAGS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { RawImap } from '../helpers/imap-client.ts';
import { peer } from '../helpers/peers.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const run = promisify(execFile);
const python = peer('python3', 'python3');

let env: Pop3Env;
let noMark: Pop3Env;
before(async () => {
  env = await startPop3Env({ configure: (c) => (c.listeners.imap.enabled = true) });
  noMark = await startPop3Env({
    configure: (c) => {
      c.listeners.imap.enabled = true;
      c.pop3.mark_seen = false;
    },
  });
});
after(async () => {
  await env.stop();
  await noMark.stop();
});

/**
 * A poplib session: logs in (retrying while an earlier session still holds the maildrop), runs the commands
 * ("RETR 1", "TOP 2 0", "DELE 3", "RSET"), then ends with QUIT or drops the connection without it.
 */
const POPLIB = `
import json, poplib, sys, time
port, user, password, end = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
for attempt in range(200):
    p = poplib.POP3('127.0.0.1', port)
    p.user(user)
    try:
        p.pass_(password)
        break
    except poplib.error_proto as e:
        if b'[IN-USE]' not in e.args[0]: raise
        p.sock.close(); time.sleep(0.02)
for c in sys.argv[5:]:
    verb, *args = c.split()
    if verb == 'RETR': p.retr(int(args[0]))
    elif verb == 'TOP': p.top(int(args[0]), int(args[1]))
    elif verb == 'DELE': p.dele(int(args[0]))
    elif verb == 'RSET': p.rset()
if end == 'quit':
    print(p.quit().decode())
else:
    p.sock.close(); p.file.close()
`;

/** FETCH FLAGS of every INBOX message over imaplib: [uid, flags][], \Recent left out (this is IMAP4rev1). */
const IMAPLIB = `
import imaplib, json, re, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login(sys.argv[2], sys.argv[3])
m.select('INBOX')
t, d = m.fetch('1:*', '(UID FLAGS)')
out = []
for x in d:
    if x is None: continue
    g = re.search(rb'UID (\\d+) FLAGS \\(([^)]*)\\)', x)
    out.append([int(g.group(1)), ' '.join(f for f in g.group(2).decode().split() if f != '\\\\Recent')])
m.logout()
print(json.dumps(out))
`;

async function pop(e: Pop3Env, end: 'quit' | 'drop', ...cmds: string[]): Promise<string> {
  return (await run(python.path!, ['-c', POPLIB, String(e.pop3), USER, PASS, end, ...cmds])).stdout.trim();
}

/** Flags by UID, as imaplib reads them. */
async function imapFlags(e: Pop3Env): Promise<Map<number, string>> {
  const { stdout } = await run(python.path!, ['-c', IMAPLIB, String(e.srv.ports.imap), USER, PASS]);
  return new Map(JSON.parse(stdout) as [number, string][]);
}

/** Empties INBOX and delivers n messages; their UIDs. */
async function fresh(e: Pop3Env, n: number): Promise<number[]> {
  const mb = (await e.srv.app.store.getMailbox(e.accountId, 'INBOX'))!;
  await e.srv.app.mail.expunge(mb, await e.srv.app.store.listUids(mb.id));
  for (let i = 1; i <= n; i++) await e.deliver(message(`seen ${i}`));
  return e.srv.app.store.listUids(mb.id);
}

/** Waits until no POP3 session holds the maildrop (a dropped connection is noticed asynchronously). */
async function maildropFree(e: Pop3Env): Promise<void> {
  await pop(e, 'quit');
}

test('RETR then QUIT: the retrieved message is \\Seen over IMAP; TOP, DELE and untouched ones are not', {
  skip: python.skip,
}, async () => {
  const [u1, u2, u3, u4] = await fresh(env, 4);
  assert.match(await pop(env, 'quit', 'RETR 1', 'TOP 2 0', 'DELE 3'), /^\+OK/);
  const flags = await imapFlags(env);
  assert.equal(flags.get(u1), '\\Seen', 'RETR then QUIT');
  assert.equal(flags.get(u2), '', 'TOP only: not seen');
  assert.equal(flags.has(u3), false, 'DELE then QUIT: expunged');
  assert.equal(flags.get(u4), '', 'untouched');
});

test('RETR then the connection dropped without QUIT: no UPDATE state, so no \\Seen (and no expunge)', {
  skip: python.skip,
}, async () => {
  const [u1, u2] = await fresh(env, 2);
  await pop(env, 'drop', 'RETR 1', 'DELE 2');
  await maildropFree(env);
  const flags = await imapFlags(env);
  assert.equal(flags.get(u1), '', 'the dropped session marked nothing');
  assert.equal(flags.get(u2), '', 'and deleted nothing');
});

test('RSET forgets what was retrieved as well as the deletion marks (as Dovecot does)', {
  skip: python.skip,
}, async () => {
  const [u1, u2] = await fresh(env, 2);
  await pop(env, 'quit', 'RETR 1', 'RSET', 'RETR 2');
  const flags = await imapFlags(env);
  assert.equal(flags.get(u1), '');
  assert.equal(flags.get(u2), '\\Seen');
});

test('pop3.mark_seen = false: RETR then QUIT leaves the flags alone (Dovecot pop3_no_flag_updates)', {
  skip: python.skip,
}, async () => {
  const [u1, u2] = await fresh(noMark, 2);
  await pop(noMark, 'quit', 'RETR 1', 'DELE 2');
  const flags = await imapFlags(noMark);
  assert.equal(flags.get(u1), '');
  assert.equal(flags.has(u2), false, 'the deletion is still committed');
});

test('an IMAP client in IDLE hears \\Seen and the expunge of one UPDATE; NOOP elsewhere too; one MODSEQ for both', {
  skip: python.skip,
}, async () => {
  const [u1, u2] = await fresh(env, 3);
  const login = async () => {
    const { c } = await RawImap.open(env.srv.ports.imap);
    assert.match((await c.cmd(`LOGIN ${USER} "${PASS}"`)).tagged, /OK/);
    return c;
  };
  const idler = await login();
  await idler.cmd('ENABLE QRESYNC IMAP4rev2');
  const sel = await idler.cmd('SELECT INBOX');
  const h0 = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.raw)![1]);
  const other = await login();
  await other.cmd('SELECT INBOX');
  idler.send('i IDLE\r\n');
  assert.equal(await idler.line(), '+ idling');

  assert.match(await pop(env, 'quit', 'RETR 1', 'DELE 2'), /^\+OK/);
  const heard = [await idler.line(), await idler.line()].sort();
  assert.deepEqual(heard, [`* 1 FETCH (UID ${u1} FLAGS (\\Seen) MODSEQ (${h0 + 1}))`, `* VANISHED ${u2}`]);
  idler.send('DONE\r\n');
  assert.match((await idler.until('i')).tagged, /OK/);
  // Both changes were made under one MODSEQ, in one transaction: nothing changed after h0 + 1.
  const since = await idler.cmd(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${h0 + 1} VANISHED)`);
  assert.deepEqual(since.lines, []);

  const noop = await other.cmd('NOOP');
  assert.ok(noop.lines.includes('* 2 EXPUNGE'), noop.raw);
  assert.ok(
    noop.lines.some((l) => /^\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\)\)$/.test(l)),
    noop.raw,
  );
  idler.close();
  other.close();
});
