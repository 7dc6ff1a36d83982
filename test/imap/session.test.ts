// IMAP session transcripts: greeting, capabilities by state, LOGIN/AUTHENTICATE rules, STARTTLS,
// IMAPS, ENABLE, ID, NAMESPACE, COMPRESS=DEFLATE, LOGOUT (RFC 9051 sections 6.1-6.2, RFC 4959, 4978, 5161).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib';
import { ImapFlow } from 'imapflow';
import { RawImap } from '../helpers/imap-client.ts';
import { scramClient } from '../helpers/scram.ts';
import { type ImapFixture, imapFixture, PASSWORD } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture();
});
after(() => f.stop());

test('greeting carries the pre-login capabilities', async () => {
  const { c, greeting } = await RawImap.open(f.port);
  assert.match(greeting, /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .*STARTTLS.*AUTH=PLAIN.*\] /);
  assert.doesNotMatch(greeting, /LOGINDISABLED/);
  const r = await c.cmd('CAPABILITY');
  assert.match(r.lines[0], /^\* CAPABILITY IMAP4rev2 IMAP4rev1 /);
  assert.doesNotMatch(r.lines[0], /QUOTA/, 'extensions after login only');
  assert.equal((await c.cmd('SELECT INBOX')).tagged, 't2 BAD Log in first');
  c.close();
});

test('LOGIN: wrong password is AUTHENTICATIONFAILED; right one lists all capabilities', async () => {
  const { c } = await RawImap.open(f.port);
  assert.match((await c.cmd('LOGIN alice@example.com wrong')).tagged, /^t1 NO \[AUTHENTICATIONFAILED\] /);
  const ok = await c.cmd('LOGIN "alice@example.com" {6+}\r\nsecret');
  assert.match(ok.tagged, /^t2 OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .* QUOTA .*APPENDLIMIT=\d+.*\] Logged in$/);
  assert.match((await c.cmd('LOGIN alice@example.com secret')).tagged, /^t3 BAD /);
  c.close();
});

test('AUTHENTICATE PLAIN with SASL-IR and with a continuation; * cancels', async () => {
  const b64 = Buffer.from('\0alice@example.com\0secret').toString('base64');
  const { c } = await RawImap.open(f.port);
  assert.match((await c.cmd(`AUTHENTICATE PLAIN ${b64}`)).tagged, /^t1 OK \[CAPABILITY /);
  c.close();
  const { c: d } = await RawImap.open(f.port);
  d.send('a AUTHENTICATE PLAIN\r\n');
  assert.equal(await d.line(), '+ ');
  d.send('*\r\n');
  assert.match((await d.until('a')).tagged, /^a BAD /);
  d.send('b AUTHENTICATE PLAIN\r\n');
  assert.equal(await d.line(), '+ ');
  d.send(`${b64}\r\n`);
  assert.match((await d.until('b')).tagged, /^b OK /);
  assert.match((await d.cmd('AUTHENTICATE CRAM-MD5')).tagged, /BAD/, 'no AUTHENTICATE once logged in');
  d.close();
});

test('plaintext login refused without TLS when loopback plaintext is off; STARTTLS then works', async () => {
  const g = await imapFixture({ configure: (c) => (c.imap.allow_plaintext_loopback = false), users: ['carol'] });
  try {
    const { c, greeting } = await RawImap.open(g.port);
    assert.match(greeting, /LOGINDISABLED/);
    assert.doesNotMatch(greeting, /AUTH=PLAIN/);
    assert.match((await c.cmd('LOGIN carol@example.com secret')).tagged, /^t1 NO \[PRIVACYREQUIRED\]/);
    // STARTTLS, with a pipelined command after it that must be discarded (RFC 9051 section 6.2.1).
    c.send('t2 STARTTLS\r\nt3 LOGIN carol@example.com secret\r\n');
    assert.match((await c.until('t2')).tagged, /^t2 OK /);
    c.socket.removeAllListeners('data');
    const tls = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    await new Promise((r) => tls.once('secureConnect', r));
    let got = '';
    tls.on('data', (d) => {
      got += d.toString();
    });
    tls.write('u1 CAPABILITY\r\n');
    await waitFor(() => got.includes('u1 '));
    assert.doesNotMatch(got, /t3/, 'the pipelined plaintext LOGIN was dropped');
    assert.match(got, /AUTH=PLAIN/);
    assert.doesNotMatch(got, /STARTTLS|LOGINDISABLED/);
    tls.write('u2 LOGIN carol@example.com secret\r\n');
    await waitFor(() => got.includes('u2 '));
    assert.match(got, /u2 OK /);
    tls.destroy();
    // IMAPS: implicit TLS, login allowed at once.
    const { c: s, greeting: g2 } = await RawImap.open(g.tlsPort, { tls: true });
    assert.doesNotMatch(g2, /LOGINDISABLED|STARTTLS/);
    assert.match((await s.cmd('LOGIN carol@example.com secret')).tagged, /^t1 OK /);
    s.close();
  } finally {
    await g.stop();
  }
});

test('ENABLE, ID, NAMESPACE, NOOP and LOGOUT', async () => {
  const c = await f.login();
  const e = await c.cmd('ENABLE CONDSTORE UTF8=ACCEPT X-UNKNOWN');
  assert.deepEqual(e.lines, ['* ENABLED CONDSTORE UTF8=ACCEPT']);
  assert.deepEqual((await c.cmd('ENABLE CONDSTORE')).lines, ['* ENABLED']);
  const id = await c.cmd('ID ("name" "test" "version" "1")');
  assert.deepEqual(id.lines, ['* ID ("name" "Petrel" "vendor" "Petrel")']);
  assert.match((await c.cmd('ID (1 2 3)')).tagged, /BAD/);
  assert.deepEqual((await c.cmd('NAMESPACE')).lines, ['* NAMESPACE (("" "/")) NIL NIL']);
  assert.match((await c.cmd('NOOP')).tagged, /^t\d+ OK/);
  const bye = await c.cmd('LOGOUT');
  assert.deepEqual(bye.lines, ['* BYE Petrel IMAP logging out']);
  assert.match(bye.tagged, /OK LOGOUT completed/);
});

test('half-close: LOGIN, SELECT, LOGOUT pipelined before the client FIN all get their tagged replies', async () => {
  const live = () => f.srv.server.listeners.find((l) => l.name === 'imap')!.sessions.size;
  const before = live();
  // A script that sends everything, then shutdown(SHUT_WR) (as `nc -N` does): the server still answers.
  const { c } = await RawImap.open(f.port);
  c.socket.end('a001 LOGIN alice@example.com secret\r\na002 SELECT INBOX\r\na003 LOGOUT\r\n');
  assert.match((await c.until('a001')).tagged, /^a001 OK /);
  assert.match((await c.until('a002')).tagged, /^a002 OK \[READ-WRITE\] SELECT completed/);
  const bye = await c.until('a003');
  assert.deepEqual(bye.lines, ['* BYE Petrel IMAP logging out']);
  assert.equal(bye.tagged, 'a003 OK LOGOUT completed');
  // Without LOGOUT: the answer, then the server ends its side once the input is used up.
  const { c: d } = await RawImap.open(f.port);
  d.socket.end('b1 CAPABILITY\r\n');
  assert.match((await d.until('b1')).tagged, /^b1 OK /);
  for (let i = 0; i < 250 && !(c.closed && d.closed); i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(c.closed && d.closed, 'the server closed both half-closed connections');
  // No half-open socket lingers on the listener.
  for (let i = 0; i < 250 && live() > before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(live() <= before, `${live() - before} half-closed sessions linger`);
});

test('unknown commands and commands in the wrong state are BAD; the session goes on', async () => {
  const c = await f.login();
  assert.equal((await c.cmd('FROBNICATE')).tagged, 't2 BAD Unknown command FROBNICATE');
  assert.equal((await c.cmd('FETCH 1 FLAGS')).tagged, 't3 BAD Select a mailbox first');
  assert.match((await c.cmd('NOOP')).tagged, /OK/);
  c.close();
});

test('COMPRESS=DEFLATE: both directions compressed after the OK', async () => {
  const c = await f.login();
  assert.match((await c.cmd('COMPRESS DEFLATE')).tagged, /^t2 OK /);
  c.socket.removeAllListeners('data');
  const deflate = createDeflateRaw({ flush: constants.Z_SYNC_FLUSH });
  const inflate = createInflateRaw();
  deflate.pipe(c.socket);
  c.socket.pipe(inflate);
  let got = '';
  inflate.on('data', (d) => {
    got += d.toString();
  });
  deflate.write('z1 NAMESPACE\r\nz2 COMPRESS DEFLATE\r\n');
  await waitFor(() => got.includes('z2 '));
  assert.match(got, /\* NAMESPACE \(\("" "\/"\)\) NIL NIL\r\nz1 OK/);
  assert.match(got, /z2 NO \[COMPRESSIONACTIVE\]/);
  c.close();
});

test('silence is logged out: BYE Autologout, then the connection closes', async () => {
  const g = await imapFixture({
    users: ['dan'],
    configure: (c) => {
      c.imap.preauth_timeout_s = 1;
      c.imap.idle_timeout_s = 2;
    },
  });
  try {
    const { c } = await RawImap.open(g.port);
    const t = Date.now();
    assert.match(await c.line(3000), /^\* BYE Autologout/);
    assert.ok(Date.now() - t >= 900);
    const d = await g.login('dan@example.com');
    await d.cmd('SELECT INBOX');
    d.send('i IDLE\r\n');
    assert.equal(await d.line(), '+ idling');
    assert.match(await d.line(4000), /^\* BYE Autologout/, 'IDLE does not keep a silent client forever');
  } finally {
    await g.stop();
  }
});

// RFC 9051 section 5.4: signed in, the autologout timer is idle_timeout_s (at least 30 minutes). The
// pre-login timer, armed on the plaintext socket, must not live on under the TLS one after STARTTLS.
test('after STARTTLS a signed-in session has the signed-in timeout, not the pre-login one', async () => {
  const g = await imapFixture({
    users: ['erin'],
    configure: (c) => {
      c.imap.preauth_timeout_s = 1;
      c.imap.idle_timeout_s = 600;
    },
  });
  try {
    const { c } = await RawImap.open(g.port);
    c.send('t1 STARTTLS\r\n');
    assert.match((await c.until('t1')).tagged, /^t1 OK /);
    c.socket.removeAllListeners('data');
    const tls = tlsConnect({ socket: c.socket, rejectUnauthorized: false });
    tls.on('error', () => {});
    await new Promise((r) => tls.once('secureConnect', r));
    let got = '';
    tls.on('data', (d) => {
      got += d.toString();
    });
    tls.write('t2 LOGIN erin@example.com secret\r\n');
    await waitFor(() => got.includes('t2 '));
    assert.match(got, /t2 OK /);
    // Silent for longer than preauth_timeout_s, far less than idle_timeout_s.
    await new Promise((r) => setTimeout(r, 3000));
    tls.write('t3 NOOP\r\n');
    await waitFor(() => /^(t3 |\* BYE)/m.test(got));
    assert.doesNotMatch(got, /BYE Autologout/);
    assert.match(got, /^t3 OK /m);
    tls.destroy();
  } finally {
    await g.stop();
  }
});

test('a client that pipelines and never reads is dropped at the idle timeout (no drain wait forever)', async () => {
  const g = await imapFixture({ users: ['erin'], configure: (c) => (c.imap.preauth_timeout_s = 1) });
  try {
    const { c } = await RawImap.open(g.port);
    c.socket.pause(); // stop reading
    // Batches of 100 CAPABILITY (about 25 KB of replies each): bounded, until our side stops taking them.
    const batch = 'c CAPABILITY\r\n'.repeat(100);
    for (let i = 0; i < 1500 && c.socket.write(batch); i++) await new Promise((r) => setTimeout(r, 3));
    // Checked on the server side: a client that does not read may never see the close.
    const listener = g.srv.server.listeners.find((l) => l.name === 'imap')!;
    await waitFor(() => listener.sessions.size === 0, 20000);
    c.close();
  } finally {
    await g.stop();
  }
});

/** The next line is `* BYE` matching `re`, then the server closes the connection. */
async function byeThenClosed(c: RawImap, re: RegExp): Promise<void> {
  assert.match(await c.line(10000), re);
  await waitFor(() => c.closed, 10000);
}

test('an account removed or disabled: its open sessions (between commands, in IDLE) get * BYE and are closed', async () => {
  const dir = f.srv.app.directory;
  const changes: [string, () => Promise<void>][] = [
    ['removed', () => dir.removeAccount('removed@example.com')],
    ['disabled', () => dir.setDisabled('disabled@example.com', true)],
  ];
  for (const [user, change] of changes) {
    const address = `${user}@example.com`;
    await dir.addAccount(address, PASSWORD);
    const waiting = await f.login(address);
    const idling = await f.login(address);
    assert.match((await idling.cmd('SELECT INBOX')).tagged, /OK/);
    idling.send('i IDLE\r\n');
    assert.equal(await idling.line(), '+ idling');
    // A real client in IDLE too: it sees the connection end.
    const flow = new ImapFlow({
      host: '127.0.0.1',
      port: f.port,
      secure: false,
      doSTARTTLS: false,
      auth: { user: address, pass: PASSWORD },
      logger: false,
    });
    flow.on('error', () => {});
    await flow.connect();
    const flowClosed = new Promise<void>((r) => flow.once('close', () => r()));
    await flow.mailboxOpen('INBOX');
    const flowIdle = flow.idle().catch(() => {});
    const other = await f.login('bob@example.com');

    await change();
    // RFC 9051 section 7.1.5: an untagged BYE, then the connection closes; nothing more is done for it.
    await byeThenClosed(waiting, /^\* BYE \[CONTACTADMIN\] /);
    await byeThenClosed(idling, /^\* BYE \[CONTACTADMIN\] /);
    await flowClosed;
    await flowIdle;
    assert.match((await other.cmd('NOOP')).tagged, /^t\d+ OK/, "another account's session goes on");
    other.close();
    const { c } = await RawImap.open(f.port);
    assert.match((await c.cmd(`LOGIN ${address} ${PASSWORD}`)).tagged, /NO \[AUTHENTICATIONFAILED\]/);
    c.close();
  }
});

test('a new password ends the sessions signed in with the old one (password, SCRAM, PLAIN); app passwords stay', async () => {
  const dir = f.srv.app.directory;
  const address = 'rotated@example.com';
  await dir.addAccount(address, PASSWORD);
  const app = await f.srv.app.auth.createAppPassword(address, 'phone', null);
  const byPassword = await f.login(address);
  assert.match((await byPassword.cmd('SELECT INBOX')).tagged, /OK/);
  const { c: byPlain } = await RawImap.open(f.port);
  const plain = Buffer.from(`\0${address}\0${PASSWORD}`).toString('base64');
  assert.match((await byPlain.cmd(`AUTHENTICATE PLAIN ${plain}`)).tagged, /OK/);
  const { c: byScram } = await RawImap.open(f.port);
  const scram = scramClient(address);
  byScram.send(`s AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(scram.first).toString('base64')}\r\n`);
  const serverFirst = Buffer.from((await byScram.line()).slice(2), 'base64').toString();
  byScram.send(`${Buffer.from(scram.final(serverFirst, PASSWORD)).toString('base64')}\r\n`);
  assert.match(await byScram.line(), /^\+ /); // server-final-message
  byScram.send('\r\n');
  assert.match((await byScram.until('s')).tagged, /^s OK /);
  const byApp = await f.login(address, app.password);
  assert.match((await byApp.cmd('SELECT INBOX')).tagged, /OK/);

  await dir.setPassword(address, 'new secret');
  // RFC 9051 EXPIRED: "access is no longer permitted using that passphrase".
  await byeThenClosed(byPassword, /^\* BYE \[EXPIRED\] /);
  await byeThenClosed(byPlain, /^\* BYE \[EXPIRED\] /);
  await byeThenClosed(byScram, /^\* BYE \[EXPIRED\] /);
  assert.match((await byApp.cmd('NOOP')).tagged, /^t\d+ OK/, 'an app password is its own credential');

  // Revoking that app password ends its sessions in turn; one made with the new password goes on.
  const byNew = await f.login(address, '"new secret"');
  await f.srv.app.auth.revokeAppPassword(address, app.id);
  await byeThenClosed(byApp, /^\* BYE \[EXPIRED\] /);
  assert.match((await byNew.cmd('NOOP')).tagged, /^t\d+ OK/);
  byNew.close();
});

async function waitFor(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
