// Brute-force and abuse defence over the wire: 50 wrong passwords from one IP lock that IP out (across
// protocols) while its owner signs in from another address; a distributed attack on one account locks
// password sign-ins from new IPs but not from the owner's known-good IP or with a token, however the name is
// padded; the connection rate limit refuses politely. Nothing crashes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { scramClient } from '../helpers/scram.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { LineClient } from './line-client.ts';

const PASS = 'the right password';
const TOKEN = 'bob-token-abcdefghijklmnop';
let t: TestServer;

before(async () => {
  t = await startTestServer({
    configure: (c) => {
      c.security.failure_delay_ms = 10;
      c.security.max_failure_delay_ms = 100;
      c.security.max_failures_per_ip = 10;
      c.security.max_failures_per_account = 20;
    },
  });
  await t.app.directory.addDomain('localhost');
  await t.app.directory.addAccount('alice@localhost', PASS);
  const bob = await t.app.directory.addAccount('bob@localhost', PASS);
  t.app.bearer = async (token) => (token === TOKEN ? { accountId: bob.id } : null);
});
after(() => t.stop());

/** One IMAP LOGIN from `from`: the tagged reply, or the BYE/close that replaced it. */
async function imapLogin(from: string, user: string, password: string): Promise<string> {
  const c = await LineClient.open(t.ports.imap, from);
  const greeting = await c.line();
  if (!greeting?.startsWith('* OK')) return greeting ?? 'closed';
  c.send(`a LOGIN "${user}" "${password}"`);
  const r = await c.until(/^a /);
  c.close();
  return r ?? 'closed';
}

test('50 wrong passwords from one IP: failures, then lockout replies on every protocol; the owner still signs in from elsewhere', async () => {
  const replies: string[] = [];
  for (let i = 0; i < 50; i++) replies.push(await imapLogin('127.0.0.1', 'alice@localhost', `guess ${i}`));
  assert.ok(
    replies.slice(0, 9).every((r) => /^a NO \[AUTHENTICATIONFAILED\]/.test(r)),
    replies.slice(0, 10).join('\n'),
  );
  const locked = replies.filter((r) => /^a NO \[UNAVAILABLE\]/.test(r)).length;
  assert.ok(locked >= 40, `most attempts after the lockout are refused unchecked (${locked})`);
  assert.match(
    await imapLogin('127.0.0.1', 'alice@localhost', PASS),
    /^a NO \[UNAVAILABLE\]/,
    'even the right password, from the locked IP',
  );

  // The same IP on SMTP submission and POP3: locked there too.
  const s = await LineClient.open(t.ports.submission, '127.0.0.1');
  await s.until(/^220 /);
  s.send('EHLO attacker');
  await s.until(/^250 /);
  s.send(`AUTH PLAIN ${Buffer.from(`\0alice@localhost\0${PASS}`).toString('base64')}`);
  assert.match((await s.line())!, /^454 4\.7\.0 /);
  s.close();
  const p = await LineClient.open(t.ports.pop3, '127.0.0.1');
  await p.line();
  p.send('USER alice@localhost');
  await p.line();
  p.send(`PASS ${PASS}`);
  assert.match((await p.line())!, /^-ERR \[SYS\/TEMP\] /);
  p.close();

  // The owner, from another address: the account itself was not locked by one IP's failures.
  assert.match(await imapLogin('127.0.0.2', 'alice@localhost', PASS), /^a OK /);
});

test('a distributed attack on one account: new IPs are locked out of password sign-in, the known-good IP and tokens are not', async () => {
  assert.match(await imapLogin('127.0.3.1', 'bob@localhost', PASS), /^a OK /, 'bob signs in from home first');
  for (let i = 1; i <= 20; i++)
    assert.match(await imapLogin(`127.0.1.${i}`, 'bob@localhost', 'nope'), /^a NO \[AUTHENTICATIONFAILED\]/);
  assert.match(
    await imapLogin('127.0.2.1', 'bob@localhost', PASS),
    /^a NO \[UNAVAILABLE\]/,
    'a new IP, even with the password',
  );
  assert.match(await imapLogin('127.0.3.1', 'bob@localhost', PASS), /^a OK /, 'home still works');
  const c = await LineClient.open(t.ports.imap, '127.0.2.1');
  await c.line();
  c.send(
    `a AUTHENTICATE XOAUTH2 ${Buffer.from(`user=bob@localhost\x01auth=Bearer ${TOKEN}\x01\x01`).toString('base64')}`,
  );
  assert.match((await c.until(/^a /))!, /^a OK /, 'a valid token still signs in');
  c.close();
  assert.match(await imapLogin('127.0.2.2', 'alice@localhost', PASS), /^a OK /, 'other accounts are unaffected');
});

test('a locked account stays locked when its name is padded with whitespace (IMAP LOGIN, SMTP AUTH PLAIN)', async () => {
  await t.app.directory.addAccount('carol@localhost', PASS);
  for (let i = 1; i <= 20; i++)
    assert.match(await imapLogin(`127.0.5.${i}`, 'carol@localhost', 'nope'), /^a NO \[AUTHENTICATIONFAILED\]/);
  assert.match(await imapLogin('127.0.6.1', 'carol@localhost', PASS), /^a NO \[UNAVAILABLE\]/, 'locked');
  // The account lookup trims the name: " carol@localhost" is carol, and so is her lockout.
  assert.match(await imapLogin('127.0.6.2', ' carol@localhost', 'another guess'), /^a NO \[UNAVAILABLE\]/);
  assert.match(await imapLogin('127.0.6.3', 'Carol@localhost\t', PASS), /^a NO \[UNAVAILABLE\]/);
  const s = await LineClient.open(t.ports.submission, '127.0.6.4');
  await s.until(/^220 /);
  s.send('EHLO attacker');
  await s.until(/^250 /);
  s.send(`AUTH PLAIN ${Buffer.from(`\0carol@localhost  \0${PASS}`).toString('base64')}`);
  assert.match((await s.line())!, /^454 4\.7\.0 /, 'SMTP AUTH PLAIN with a padded authcid is locked out too');
  s.close();
});

test('SCRAM exchanges opened together before any proof: no more guesses are answered than the IP may fail', async () => {
  await t.app.directory.addAccount('dave@localhost', PASS);
  // 30 exchanges from one IP pass the lockout check at their first message, then send their proofs one by
  // one: 29 wrong passwords and, last, the right one. An answer past the limit must say "locked" whatever the
  // proof, or the limit of 10 failures is a limit of 200 (the connections an IP may hold).
  const from = '127.0.8.1';
  const exchanges: { c: LineClient; scram: ReturnType<typeof scramClient>; serverFirst: string }[] = [];
  for (let i = 0; i < 30; i++) {
    const c = await LineClient.open(t.ports.imap, from);
    assert.match((await c.line())!, /^\* OK/);
    const scram = scramClient('dave@localhost');
    c.send(`a AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(scram.first).toString('base64')}`);
    const challenge = (await c.line())!;
    assert.match(challenge, /^\+ /);
    exchanges.push({ c, scram, serverFirst: Buffer.from(challenge.slice(2), 'base64').toString() });
  }
  const replies: string[] = [];
  for (const [i, e] of exchanges.entries()) {
    const password = i === exchanges.length - 1 ? PASS : `guess ${i}`;
    e.c.send(Buffer.from(e.scram.final(e.serverFirst, password)).toString('base64'));
    replies.push((await e.c.until(/^(a |\+ )/)) ?? 'closed');
    e.c.close();
  }
  const failed = replies.filter((r) => /^a NO \[AUTHENTICATIONFAILED\]/.test(r)).length;
  assert.ok(failed <= 10, `at most 10 guesses answered as wrong (${failed}):\n${replies.join('\n')}`);
  assert.match(replies.at(-1)!, /^a NO \[UNAVAILABLE\]/, 'the right password, past the limit, is not confirmed');
});

test('a guesser who owns an account cannot undo the IP lockout by signing in to it between guesses', async () => {
  // A success resets the IP's delay (as Dovecot's auth penalty), never its failure count: ten guesses in the
  // window lock the IP whatever successes come between them, on any protocol.
  await t.app.directory.addAccount('erin@localhost', PASS);
  await t.app.directory.addAccount('mallory@localhost', 'mallory password');
  const from = '127.0.10.1';
  for (let i = 0; i < 9; i++) {
    assert.match(await imapLogin(from, 'erin@localhost', `guess ${i}`), /^a NO \[AUTHENTICATIONFAILED\]/);
    if (i % 3 === 2) assert.match(await imapLogin(from, 'mallory@localhost', 'mallory password'), /^a OK /);
  }
  const s = await LineClient.open(t.ports.submission, from);
  await s.until(/^220 /);
  s.send('EHLO attacker');
  await s.until(/^250 /);
  s.send(`AUTH PLAIN ${Buffer.from('\0mallory@localhost\0mallory password').toString('base64')}`);
  assert.match((await s.line())!, /^235 /, 'mallory signs in once more, on SMTP');
  s.close();
  assert.match(await imapLogin(from, 'erin@localhost', 'guess 9'), /^a NO \[AUTHENTICATIONFAILED\]/);
  assert.match(
    await imapLogin(from, 'erin@localhost', PASS),
    /^a NO \[UNAVAILABLE\]/,
    'the tenth failure locked the IP',
  );
  assert.match(await imapLogin(from, 'mallory@localhost', 'mallory password'), /^a NO \[UNAVAILABLE\]/);
  assert.match(await imapLogin('127.0.10.2', 'erin@localhost', PASS), /^a OK /, 'erin, from elsewhere');
});

test('connection rate limit per IP: a burst beyond it is refused with a protocol goodbye; the server lives on', async () => {
  const r = await startTestServer({ configure: (c) => (c.security.connection_rate_per_ip = 5) });
  try {
    const greetings: string[] = [];
    for (let i = 0; i < 7; i++) {
      const c = await LineClient.open(r.ports.imap, '127.0.0.9');
      greetings.push((await c.line()) ?? 'closed');
      c.close();
    }
    assert.equal(greetings.filter((g) => g.startsWith('* OK')).length, 5);
    assert.ok(
      greetings.slice(5).every((g) => g.startsWith('* BYE')),
      greetings.join('\n'),
    );
    const other = await LineClient.open(r.ports.imap, '127.0.0.10');
    assert.match((await other.line())!, /^\* OK/, 'other IPs are not affected');
    other.close();
    const s = await LineClient.open(r.ports.smtp, '127.0.0.11');
    for (let i = 0; i < 5; i++) await LineClient.open(r.ports.smtp, '127.0.0.11').then((x) => x.close());
    assert.match((await s.line())!, /^220 /);
    const sixth = await LineClient.open(r.ports.smtp, '127.0.0.11');
    assert.match((await sixth.line())!, /^421 4\.7\.0 .*rate/);
    s.close();
  } finally {
    await r.stop();
  }
});
