// POP3 maildrop semantics over the wire: DELE only on QUIT, a dropped connection deletes nothing, POP3
// deletions are expunges other sessions hear, [IN-USE], a list fixed at login, byte-exact RETR.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MailEvent } from '../../src/core/ports.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

let env: Pop3Env;
before(async () => {
  env = await startPop3Env();
});
after(() => env.stop());

async function login(port = env.pop3, tls = false): Promise<Pop3Client> {
  const c = await Pop3Client.open(port, { tls });
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
  return c;
}

async function inboxUids(): Promise<number[]> {
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  return env.srv.app.store.listUids(mb.id);
}

/** Empties the maildrop through the store, so each test starts from a known state. */
async function emptyInbox(): Promise<void> {
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  await env.srv.app.mail.expunge(mb, await env.srv.app.store.listUids(mb.id));
}

/** Retries a login until the previous session's lock is gone (the server notices a drop asynchronously). */
async function loginWhenFree(): Promise<Pop3Client> {
  for (let i = 0; i < 100; i++) {
    const c = await Pop3Client.open(env.pop3);
    await c.cmd(`USER ${USER}`);
    const r = await c.cmd(`PASS ${PASS}`);
    if (r.startsWith('+OK')) return c;
    assert.match(r, /^-ERR \[IN-USE\]/);
    c.destroy();
    await new Promise((res) => setTimeout(res, 20));
  }
  throw new Error('the lock was never released');
}

test('a dropped connection deletes nothing; QUIT expunges, other sessions hear the expunge', async () => {
  await emptyInbox();
  await env.deliver(message('a'), message('b'), message('c'));
  const before = await inboxUids();

  const dropped = await login();
  assert.equal(await dropped.cmd('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await dropped.cmd('DELE 2'), '+OK Message 2 deleted');
  dropped.destroy();

  const events: MailEvent[] = [];
  const unsubscribe = env.srv.app.events.subscribe(env.accountId, (e) => events.push(e));
  const c = await loginWhenFree();
  assert.deepEqual(await inboxUids(), before, 'nothing deleted by the dropped session');
  assert.equal(await c.cmd('STAT'), `+OK 3 ${3 * message('a').length}`);
  assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await c.cmd('DELE 3'), '+OK Message 3 deleted');
  assert.equal(events.length, 0, 'DELE alone changes nothing');
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (1 message left)');
  await c.closed();
  unsubscribe();
  // The reply came after the commit: the store and the event bus already show it.
  assert.deepEqual(await inboxUids(), [before[1]]);
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  assert.deepEqual(
    events.map((e) => [e.kind, e.mailboxId]),
    [['expunge', mb.id]],
  );
  assert.equal(mb.messages, 1);
  const gone = await env.srv.app.store.expungedSince(mb.id, 0);
  assert.ok(
    before.filter((u) => u !== before[1]).every((u) => gone.uids.includes(u)),
    'tombstones for VANISHED',
  );
});

test('DELE and QUIT pipelined before the client FIN: the deletion is committed and QUIT answered', async () => {
  await emptyInbox();
  await env.deliver(message('hc a'), message('hc b'));
  const c = await login();
  c.end('DELE 1\r\nQUIT\r\n');
  assert.equal(await c.line(), '+OK Message 1 deleted');
  // The client must hear of the commit that happened (it used to happen with neither reply sent).
  assert.equal(await c.line(), '+OK Petrel POP3 server signing off (1 message left)');
  await c.closed();
  assert.equal((await inboxUids()).length, 1);
});

test('[IN-USE] for a second session, on either listener, until the first ends', async () => {
  await emptyInbox();
  await env.deliver(message('locked'));
  const first = await login();
  const second = await Pop3Client.open(env.pop3);
  assert.equal(await second.cmd(`USER ${USER}`), '+OK Send your password');
  assert.equal(await second.cmd(`PASS ${PASS}`), '-ERR [IN-USE] Maildrop is in use by another POP3 session');
  const third = await Pop3Client.open(env.pop3s, { tls: true });
  assert.equal(
    await third.cmd(`AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASS}`).toString('base64')}`),
    '-ERR [IN-USE] Maildrop is in use by another POP3 session',
  );
  third.destroy();
  assert.equal(await first.cmd('QUIT'), '+OK Petrel POP3 server signing off (1 message left)');
  await first.closed();
  assert.equal(await second.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await second.cmd(`PASS ${PASS}`), /^\+OK Logged in, 1 message/);
  second.destroy();
});

test('the message list is fixed at login: a delivery during the session shows in the next one', async () => {
  await emptyInbox();
  await env.deliver(message('old'));
  const c = await login();
  await env.deliver(message('new'));
  assert.equal(await c.cmd('STAT'), `+OK 1 ${message('old').length}`);
  assert.equal(await c.cmd('LIST 2'), '-ERR No such message, only 1 in maildrop');
  // QUIT reports what the maildrop holds now, the new delivery included.
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (2 messages left)');
  await c.closed();
  const d = await login();
  assert.equal(await d.cmd('STAT'), `+OK 2 ${message('old').length + message('new').length}`);
  d.destroy();
});

test('a message expunged by another session meanwhile: the numbers stay, QUIT still succeeds', async () => {
  await emptyInbox();
  await env.deliver(message('x'), message('y'));
  const c = await login();
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  const uids = await inboxUids();
  await env.srv.app.mail.expunge(mb, [uids[0]]);
  assert.equal(await c.cmd('STAT'), `+OK 2 ${2 * message('x').length}`);
  assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await c.cmd('DELE 2'), '+OK Message 2 deleted');
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (0 messages left)');
  assert.deepEqual(await inboxUids(), []);
});

test('QUIT: an update that committed is answered +OK even when the count after it cannot be read', async () => {
  await emptyInbox();
  await env.deliver(message('q one'), message('q two'));
  const c = await login();
  const { mail } = env.srv.app;
  const { expunge } = mail;
  const { getMailbox } = mail.store;
  let committed = false;
  mail.expunge = async function (this: typeof mail, ...args: Parameters<typeof expunge>) {
    const r = await expunge.apply(this, args);
    committed = true;
    return r;
  };
  mail.store.getMailbox = async function (this: typeof mail.store, ...args: Parameters<typeof getMailbox>) {
    if (committed) throw new Error('the store is unavailable');
    return getMailbox.apply(this, args);
  };
  try {
    assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
    // RFC 1939 section 6: -ERR says deleted messages were not removed; here they were.
    assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (1 message left)');
    await c.closed();
  } finally {
    mail.expunge = expunge;
    mail.store.getMailbox = getMailbox;
  }
  assert.equal((await inboxUids()).length, 1);
});

/** What RETR sent, with the status line, the terminator and the byte-stuffing removed. */
async function retr(c: Pop3Client, n: number): Promise<{ status: string; body: Buffer; wire: Buffer }> {
  const status = await c.cmd(`RETR ${n}`);
  const wire = await c.untilTerminator();
  const text = wire.subarray(0, wire.length - 3).toString('latin1');
  return { status, wire, body: Buffer.from(text.replace(/(^|\r\n)\./g, '$1'), 'latin1') };
}

test('RETR is byte-exact: dot lines, bare LF, 8-bit, no final newline, per-recipient prefix; LIST counts it', async () => {
  await emptyInbox();
  const eightBit = Buffer.concat([
    Buffer.from('Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
    Buffer.from('Grüße, ça va? \u00ff\r\n', 'utf8'),
    Buffer.from([0x80, 0xfe, 0x0d, 0x0a]),
  ]);
  const cases: { raw: Buffer; want: Buffer; prefix?: string }[] = [
    {
      raw: Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n'),
      want: Buffer.from('Subject: dots\r\n\r\n.\r\n..\r\n.x\r\nend\r\n'),
    },
    {
      raw: Buffer.from('Subject: lf\n\nline\n.dot\n\nlast\n'),
      want: Buffer.from('Subject: lf\r\n\r\nline\r\n.dot\r\n\r\nlast\r\n'),
    },
    {
      raw: Buffer.from('Subject: open\r\n\r\nno newline at the end'),
      want: Buffer.from('Subject: open\r\n\r\nno newline at the end\r\n'),
    },
    { raw: Buffer.from('Subject: mixed\r\n\nCR\ronly\r\n'), want: Buffer.from('Subject: mixed\r\n\r\nCR\ronly\r\n') },
    { raw: eightBit, want: eightBit },
    {
      raw: Buffer.from('Subject: prefixed\n\n.body\n'),
      prefix: 'Delivered-To: alice@example.test\r\n',
      want: Buffer.from('Delivered-To: alice@example.test\r\nSubject: prefixed\r\n\r\n.body\r\n'),
    },
  ];
  for (const k of cases) await env.srv.app.mail.deliver(k.raw, [{ accountId: env.accountId, prefix: k.prefix }]);
  const c = await login();
  assert.equal(
    await c.cmd('LIST'),
    `+OK ${cases.length} messages (${cases.reduce((n, k) => n + k.want.length, 0)} octets)`,
  );
  const sizes = await c.lines();
  for (let i = 0; i < cases.length; i++) {
    const r = await retr(c, i + 1);
    assert.equal(r.status, `+OK ${cases[i].want.length} octets`);
    assert.equal(sizes[i], `${i + 1} ${cases[i].want.length}`);
    assert.deepEqual(r.body, cases[i].want, `message ${i + 1}`);
    assert.ok(!/(^|[^\r])\n/.test(r.wire.toString('latin1')), 'no bare LF on the wire');
  }
  c.destroy();
});

test('a large message streams byte-exact; TOP of it stops early', async () => {
  await emptyInbox();
  const line = 'x'.repeat(70);
  let body = '';
  for (let i = 0; i < 45000; i++) body += i % 1000 === 0 ? `.${line}\n` : `${line}\n`;
  const raw = Buffer.from(`Subject: big\nX-Filler: 1\n\n${body}`);
  assert.ok(raw.length > 3_000_000);
  await env.deliver(raw);
  const want = Buffer.from(raw.toString('latin1').replace(/\n/g, '\r\n'), 'latin1');
  const c = await login();
  assert.equal(await c.cmd('LIST 1'), `+OK 1 ${want.length}`);
  const r = await retr(c, 1);
  assert.equal(r.status, `+OK ${want.length} octets`);
  assert.equal(r.body.length, want.length);
  assert.ok(r.body.equals(want));
  assert.equal(await c.cmd('TOP 1 2'), '+OK Top of message follows');
  assert.equal(
    (await c.untilTerminator()).toString(),
    `Subject: big\r\nX-Filler: 1\r\n\r\n..${line}\r\n${line}\r\n.\r\n`,
  );
  c.destroy();
});

test('a message whose content vanished gets -ERR before any octet; the session and its neighbours go on', async () => {
  await emptyInbox();
  await env.deliver(message('keep 1'), message('lost'), message('keep 3'));
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  const [, lost] = await env.srv.app.store.listMessages(mb.id);
  const c = await login();
  await env.srv.app.blobs.delete((await env.srv.app.mail.body(lost.bodyId)).hash);
  c.write('RETR 1\r\nRETR 2\r\nRETR 3\r\n');
  assert.equal(await c.line(), `+OK ${message('keep 1').length} octets`);
  assert.equal((await c.untilTerminator()).toString(), `${message('keep 1')}.\r\n`);
  assert.equal(await c.line(), '-ERR [SYS/PERM] no such blob');
  assert.equal(await c.line(), `+OK ${message('keep 3').length} octets`);
  assert.equal((await c.untilTerminator()).toString(), `${message('keep 3')}.\r\n`);
  assert.equal(await c.cmd('NOOP'), '+OK');
  c.destroy();
});

test('QUIT counts what INBOX holds now, not the login snapshot: changes by other sessions show', async () => {
  await emptyInbox();
  await env.deliver(message('one'));
  await env.deliver(message('two'));
  await env.deliver(message('three'));
  const c = await login();
  assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
  // Meanwhile an IMAP session expunges another message and a new one is delivered.
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  const uids = await inboxUids();
  await env.srv.app.mail.expunge(mb, [uids[2]]);
  await env.deliver(message('four'));
  await env.deliver(message('five'));
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (3 messages left)');
  await c.closed();
});
