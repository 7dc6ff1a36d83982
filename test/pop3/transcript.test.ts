// POP3 over a real socket, transcript style: every command's exact responses (RFC 1939, RFC 2449, RFC 5034).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

let env: Pop3Env;
const M1 = message('one', 'First body.\r\n');
const M2 = message('two', 'Line 1\r\nLine 2\r\nLine 3\r\n');
const M3 = message('three', '.starts with a dot\r\n.\r\nend\r\n');

before(async () => {
  env = await startPop3Env({
    configure: (c) => {
      c.pop3.max_errors = 6;
      // Six failed logins in a row: the failure delay doubles each time (5 s at the default cap by the sixth).
      c.security.failure_delay_ms = 10;
      c.security.max_failure_delay_ms = 100;
    },
  });
  await env.deliver(M1, M2, M3);
});
after(() => env.stop());

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function loggedIn(): Promise<Pop3Client> {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.equal(await c.cmd(`PASS ${PASS}`), `+OK Logged in, 3 messages (${M1.length + M2.length + M3.length} octets)`);
  return c;
}

test('greeting, CAPA before and after login, QUIT in AUTHORIZATION', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(c.greeting, '+OK Petrel POP3 server ready');
  assert.doesNotMatch(c.greeting, /</, 'no APOP timestamp');
  assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
  assert.deepEqual(await c.lines(), [
    'TOP',
    'UIDL',
    'RESP-CODES',
    'AUTH-RESP-CODE',
    'PIPELINING',
    'EXPIRE NEVER',
    'USER',
    'SASL SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2',
    'STLS',
    'IMPLEMENTATION Petrel',
  ]);
  assert.equal(await c.cmd('STAT'), '-ERR STAT is not valid in the AUTHORIZATION state');
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off');
  await c.closed();

  const d = await loggedIn();
  assert.equal(await d.cmd('CAPA'), '+OK Capability list follows');
  assert.deepEqual(await d.lines(), [
    'TOP',
    'UIDL',
    'RESP-CODES',
    'AUTH-RESP-CODE',
    'PIPELINING',
    'EXPIRE NEVER',
    'IMPLEMENTATION Petrel',
  ]);
  assert.equal(await d.cmd('QUIT'), '+OK Petrel POP3 server signing off (3 messages left)');
  await d.closed();
});

test('USER/PASS: wrong password, PASS without USER, then success; AUTH and USER refused after login', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd('PASS secret'), '-ERR USER first');
  assert.equal(await c.cmd('USER nobody@example.test'), '+OK Send your password');
  assert.equal(await c.cmd('PASS wrong'), '-ERR [AUTH] Authentication failed');
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.equal(await c.cmd('NOOP'), '-ERR NOOP is not valid in the AUTHORIZATION state');
  assert.equal(await c.cmd(`PASS ${PASS}`), '-ERR USER first', 'PASS must follow USER immediately');
  assert.equal(await c.cmd(`USER ${USER.toUpperCase()}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in, 3 messages/);
  assert.equal(await c.cmd('AUTH PLAIN'), '-ERR AUTH is not valid in the TRANSACTION state');
  c.destroy();
});

test('APOP is refused with the reason', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(
    await c.cmd(`APOP ${USER} c4c9334bac560ecc979e58001b3e22fb`),
    '-ERR [AUTH] APOP is not available: passwords are stored only as Argon2id hashes; use USER/PASS or AUTH',
  );
  c.destroy();
});

test('AUTH: mechanism list, PLAIN with initial response, continuation, cancel, bad base64, proxy refused', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd('AUTH'), '+OK Mechanisms follow');
  assert.deepEqual(await c.lines(), ['SCRAM-SHA-256', 'PLAIN', 'LOGIN', 'OAUTHBEARER', 'XOAUTH2']);
  assert.equal(await c.cmd('AUTH CRAM-MD5'), '-ERR Unsupported authentication mechanism');
  assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
  assert.equal(await c.cmd('*'), '-ERR [AUTH] Authentication cancelled');
  assert.equal(await c.cmd('AUTH PLAIN =AAA'), '-ERR Invalid base64 in the initial response');
  assert.equal(await c.cmd('AUTH PLAIN ='), '-ERR [AUTH] Malformed PLAIN response');
  assert.equal(
    await c.cmd(`AUTH PLAIN ${b64(`bob@example.test\0${USER}\0${PASS}`)}`),
    '-ERR [AUTH] Authentication failed',
  );
  c.destroy();

  const d = await Pop3Client.open(env.pop3);
  assert.equal(await d.cmd('AUTH PLAIN'), '+ ');
  assert.match(await d.cmd(b64(`\0${USER}\0${PASS}`)), /^\+OK Logged in, 3 messages/);
  assert.equal(await d.cmd('QUIT'), '+OK Petrel POP3 server signing off (3 messages left)');

  const e = await Pop3Client.open(env.pop3);
  assert.match(await e.cmd(`auth plain ${b64(`${USER}\0${USER}\0${PASS}`)}`), /^\+OK Logged in, 3 messages/);
  e.destroy();
});

// RFC 5034 section 4 holds an AUTH line with its initial response to 255 octets, but clients send bearer
// tokens inline (an XOAUTH2 response with a JWT is some 2-3 KB; Dovecot reads ~8 KB): the AUTH line is read
// as far as a SASL response may go, other commands keep the command line limit.
test('AUTH with an initial response of a few KB is read whole; other long lines stay refused', async () => {
  const long = 'p'.repeat(2500);
  await env.srv.app.directory.addAccount('long@example.test', long);
  const c = await Pop3Client.open(env.pop3);
  assert.equal(
    await c.cmd(`AUTH PLAIN ${b64(`\0long@example.test\0${long}`)}`),
    '+OK Logged in, 0 messages (0 octets)',
  );
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (0 messages left)');
  const d = await Pop3Client.open(env.pop3);
  assert.equal(await d.cmd(`USER ${'x'.repeat(2500)}`), '-ERR Line too long');
  assert.equal(await d.cmd(`AUTH PLAIN ${'A'.repeat(20_000)}`), '-ERR Line too long');
  assert.equal(await d.cmd(`AUTH PLAIN ${b64(`\0long@example.test\0${long}x`)}`), '-ERR [AUTH] Authentication failed');
  d.destroy();
});

test('STAT, LIST, UIDL, NOOP; LIST and UIDL of one message; no such message', async () => {
  const c = await loggedIn();
  const sizes = [M1.length, M2.length, M3.length];
  assert.equal(await c.cmd('STAT'), `+OK 3 ${sizes[0] + sizes[1] + sizes[2]}`);
  assert.equal(await c.cmd('LIST'), `+OK 3 messages (${sizes[0] + sizes[1] + sizes[2]} octets)`);
  assert.deepEqual(
    await c.lines(),
    sizes.map((s, i) => `${i + 1} ${s}`),
  );
  assert.equal(await c.cmd('LIST 2'), `+OK 2 ${sizes[1]}`);
  assert.equal(await c.cmd('LIST 4'), '-ERR No such message, only 3 in maildrop');
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;
  assert.equal(await c.cmd('UIDL'), '+OK Unique-id listing follows');
  assert.deepEqual(
    await c.lines(),
    [1, 2, 3].map((n) => `${n} ${mb.uidValidity}.${n}`),
  );
  assert.equal(await c.cmd('UIDL 3'), `+OK 3 ${mb.uidValidity}.3`);
  assert.equal(await c.cmd('UIDL 9'), '-ERR No such message, only 3 in maildrop');
  assert.equal(await c.cmd('NOOP'), '+OK');
  c.destroy();
});

test('RETR and TOP send exact bytes, byte-stuffed; TOP 0 is the header and its blank line', async () => {
  const c = await loggedIn();
  assert.equal(await c.cmd('RETR 1'), `+OK ${M1.length} octets`);
  assert.equal((await c.untilTerminator()).toString(), `${M1}.\r\n`);
  assert.equal(await c.cmd('RETR 3'), `+OK ${M3.length} octets`);
  assert.equal(
    (await c.untilTerminator()).toString(),
    M3.replace('\r\n\r\n.starts', '\r\n\r\n..starts').replace('\r\n.\r\nend', '\r\n..\r\nend') + '.\r\n',
  );
  const header = M2.slice(0, M2.indexOf('\r\n\r\n') + 4);
  assert.equal(await c.cmd('TOP 2 0'), '+OK Top of message follows');
  assert.equal((await c.untilTerminator()).toString(), `${header}.\r\n`);
  assert.equal(await c.cmd('TOP 2 2'), '+OK Top of message follows');
  assert.equal((await c.untilTerminator()).toString(), `${header}Line 1\r\nLine 2\r\n.\r\n`);
  assert.equal(await c.cmd('TOP 2 99'), '+OK Top of message follows');
  assert.equal((await c.untilTerminator()).toString(), `${M2}.\r\n`);
  assert.equal(await c.cmd('TOP 7 1'), '-ERR No such message, only 3 in maildrop');
  c.destroy();
});

test('DELE marks, RSET unmarks; deleted messages vanish from STAT/LIST/UIDL; nothing removed without QUIT', async () => {
  const c = await loggedIn();
  assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
  assert.equal(await c.cmd('DELE 1'), '-ERR Message 1 is marked as deleted');
  assert.equal(await c.cmd('RETR 1'), '-ERR Message 1 is marked as deleted');
  assert.equal(await c.cmd('STAT'), `+OK 2 ${M2.length + M3.length}`);
  assert.equal(await c.cmd('LIST'), `+OK 2 messages (${M2.length + M3.length} octets)`);
  assert.deepEqual(await c.lines(), [`2 ${M2.length}`, `3 ${M3.length}`]);
  assert.equal(await c.cmd('UIDL'), '+OK Unique-id listing follows');
  assert.equal((await c.lines()).length, 2);
  assert.equal(await c.cmd('RSET'), `+OK Maildrop has 3 messages (${M1.length + M2.length + M3.length} octets)`);
  assert.equal(await c.cmd('LIST 1'), `+OK 1 ${M1.length}`);
  c.destroy();
});

test('pipelining (RFC 2449 section 6.6): a batch of commands answered in order', async () => {
  const c = await Pop3Client.open(env.pop3);
  c.write(`USER ${USER}\r\nPASS ${PASS}\r\nSTAT\r\nRETR 1\r\nLIST 2\r\nBOGUS\r\nUIDL 1\r\nTOP 2 1\r\nNOOP\r\nQUIT\r\n`);
  assert.equal(await c.line(), '+OK Send your password');
  assert.match(await c.line(), /^\+OK Logged in/);
  assert.match(await c.line(), /^\+OK 3 \d+$/);
  assert.equal(await c.line(), `+OK ${M1.length} octets`);
  assert.equal((await c.untilTerminator()).toString(), `${M1}.\r\n`);
  assert.equal(await c.line(), `+OK 2 ${M2.length}`);
  assert.equal(await c.line(), '-ERR Unknown command');
  assert.match(await c.line(), /^\+OK 1 \d+\.1$/);
  assert.equal(await c.line(), '+OK Top of message follows');
  assert.match((await c.untilTerminator()).toString(), /\r\n\r\nLine 1\r\n\.\r\n$/);
  assert.equal(await c.line(), '+OK');
  assert.equal(await c.line(), '+OK Petrel POP3 server signing off (3 messages left)');
  await c.closed();
});

test('half-close: commands pipelined before the client FIN are all answered, then the server closes too', async () => {
  const live = () => env.srv.server.listeners.find((l) => l.name === 'pop3')!.sessions.size;
  const before = live();
  // A script that sends everything and then shutdown(SHUT_WR), as `nc -N` does: Dovecot answers it all.
  const c = await Pop3Client.open(env.pop3);
  c.end(`USER ${USER}\r\nPASS ${PASS}\r\nSTAT\r\nQUIT\r\n`);
  assert.equal(await c.line(), '+OK Send your password');
  assert.match(await c.line(), /^\+OK Logged in, 3 messages/);
  assert.equal(await c.line(), `+OK 3 ${M1.length + M2.length + M3.length}`);
  assert.equal(await c.line(), '+OK Petrel POP3 server signing off (3 messages left)');
  await c.closed();
  // Without QUIT: the answer, then the server ends its side once the input is used up.
  const d = await Pop3Client.open(env.pop3);
  d.end('CAPA\r\n');
  assert.equal(await d.line(), '+OK Capability list follows');
  assert.ok((await d.lines()).includes('PIPELINING'));
  await d.closed();
  // No half-open socket lingers: both sessions left the listener.
  for (let i = 0; i < 250 && live() > before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(live() <= before, `${live() - before} half-closed sessions linger`);
});

test('bad input: unknown and malformed commands get -ERR and the session goes on; a long line too', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd('HELO'), '-ERR Unknown command');
  assert.equal(await c.cmd('RETR'), '-ERR RETR needs one message number');
  assert.equal(await c.cmd(`USER ${'x'.repeat(5000)}`), '-ERR Line too long');
  assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
  await c.lines();
  assert.equal(await c.cmd('XYZZY'), '-ERR Unknown command');
  assert.equal(await c.cmd('LIST'), '-ERR LIST is not valid in the AUTHORIZATION state');
  // The sixth error (pop3.max_errors = 6 here) closes the session.
  assert.equal(await c.cmd('XYZZY'), '-ERR Too many errors, closing connection');
  await c.closed();
});

test('too many failed logins close the session', async () => {
  const c = await Pop3Client.open(env.pop3);
  for (let i = 0; i < 5; i++) {
    assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
    assert.equal(await c.cmd('PASS nope'), '-ERR [AUTH] Authentication failed');
  }
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.equal(await c.cmd('PASS nope'), '-ERR Too many errors, closing connection');
  await c.closed();
});
