// Malformed and hostile input: each broken command gets BAD or NO and the session goes on; oversized
// literals and lines are refused without buffering them; a client that stops reading stalls its own
// session instead of growing the server's memory (Connection.write backpressure).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ImapSession } from '../../src/imap/session.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice', 'bob'] });
});
after(() => f.stop());

/** [what, bytes sent, expected answer] */
const TABLE: [string, string | Buffer, RegExp][] = [
  ['unbalanced parenthesis', 'h1 FETCH 1 (FLAGS\r\n', /^h1 BAD .*parenthesis/],
  ['closing parenthesis only', 'h2 FETCH 1 FLAGS)\r\n', /^h2 BAD /],
  ['sequence number zero', 'h3 FETCH 0 FLAGS\r\n', /^h3 BAD invalid sequence set/],
  ['sequence set garbage', 'h4 FETCH 1:x,,3 FLAGS\r\n', /^h4 BAD invalid sequence set/],
  ['sequence number too large', 'h5 FETCH 4294967296 FLAGS\r\n', /^h5 BAD invalid sequence set/],
  ['number past the end', 'h6 FETCH 99 FLAGS\r\n', /^h6 BAD invalid message sequence number/],
  ['8-bit octet in an atom', Buffer.from('h7 SELECT INB\xffOX\r\n', 'latin1'), /^h7 BAD .*8-bit/],
  ['NUL byte', Buffer.from('h8 NOOP\0\r\n', 'latin1'), /^h8 BAD /],
  ['nesting too deep', `h9 SEARCH ${'('.repeat(50)}ALL${')'.repeat(50)}\r\n`, /^h9 BAD .*nested too deeply/],
  ['huge synchronising literal', 'h10 LOGIN {999999999999}\r\n', /^h10 BAD \[TOOBIG\]/],
  ['literal in the middle of nowhere', 'h11 NOOP {3}x\r\n', /^h11 BAD /],
  ['empty line', '\r\n', /^\* BAD missing or invalid tag/],
  ['tag without command', 'h13\r\n', /^h13 BAD /],
  ['unterminated quoted string', 'h14 SELECT "INBOX\r\n', /^h14 BAD unterminated/],
  ['bad fetch section', 'h15 FETCH 1 BODY[1.2.X]\r\n', /^h15 BAD unknown data item/],
  ['bad partial', 'h16 FETCH 1 BODY[]<10.0>\r\n', /^h16 BAD unknown data item/],
  ['flag that cannot be set', 'h17 STORE 1 +FLAGS (\\Recent)\r\n', /^h17 BAD /],
  [
    'bad date-time in APPEND',
    'h18 APPEND INBOX "31-Feb-2020 00:00:00 +0000" {1+}\r\nx\r\n',
    /^h18 BAD invalid date-time/,
  ],
  ['STORE without flags', 'h19 STORE 1 FLAGS\r\n', /^h19 BAD /],
  ['bad backslash escape', 'h20 SELECT "IN\\BOX"\r\n', /^h20 BAD bad escape/],
];

test('a table of broken commands: each gets BAD or NO, the session survives', async () => {
  const c = await f.login();
  await c.cmd('APPEND INBOX {23+}\r\nSubject: x\r\n\r\nhello\r\n\r\n');
  await c.cmd('SELECT INBOX');
  for (const [what, bytes, expected] of TABLE) {
    c.send(bytes);
    const line = await c.line();
    assert.match(line, expected, what);
    assert.match((await c.cmd('NOOP')).tagged, /OK/, `after: ${what}`);
  }
  c.close();
});

test('over-long lines and oversized non-synchronising literals are skipped, not buffered', async () => {
  const c = await f.login();
  c.send(`l1 NOOP ${'x'.repeat(70000)}\r\n`);
  assert.match(await c.line(), /^\* BAD \[TOOBIG\] Command line too long/);
  assert.match((await c.cmd('NOOP')).tagged, /OK/);
  // LITERAL+ over the 1 MiB limit for non-APPEND commands: read and dropped (RFC 7888 section 4).
  const big = 1024 * 1024 + 10;
  c.send(`l2 LOGIN {${big}+}\r\n`);
  c.send(Buffer.alloc(big, 0x61));
  c.send(' x\r\n');
  assert.match(await c.line(), /^l2 BAD \[TOOBIG\] /);
  assert.match((await c.cmd('NOOP')).tagged, /OK/);
  // A huge one that cannot sensibly be skipped ends the session.
  c.send('l3 APPEND INBOX {99999999999+}\r\n');
  assert.match(await c.line(), /^\* BYE \[TOOBIG\]/);
});

test("an over-long IDLE DONE line or SASL response is the client's error (BAD), and the session goes on", async () => {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  c.send('i1 IDLE\r\n');
  assert.match(await c.line(), /^\+ /);
  c.send(`DONE${'x'.repeat(100)}\r\n`);
  assert.match(await c.line(), /^i1 BAD Line too long/);
  assert.match((await c.cmd('NOOP')).tagged, /OK/);
  c.close();
  const { c: d } = await RawImap.open(f.port);
  d.send('a1 AUTHENTICATE PLAIN\r\n');
  assert.match(await d.line(), /^\+/);
  d.send(`${'A'.repeat(20_000)}\r\n`);
  assert.match(await d.line(), /^a1 BAD /);
  assert.match((await d.cmd('NOOP')).tagged, /OK/);
  d.close();
});

test('a client that vanishes mid-literal leaves the server serving others', async () => {
  const { c } = await RawImap.open(f.port);
  c.send('a LOGIN alice@example.com secret\r\nb APPEND INBOX {100000+}\r\nonly a little');
  assert.match(await c.line(), /^a OK /);
  await new Promise((r) => setTimeout(r, 50));
  c.close();
  const d = await f.login();
  assert.match((await d.cmd('NOOP')).tagged, /OK/);
  d.close();
});

test('a client that stops reading a big FETCH does not grow server memory', async () => {
  const acc = (await f.srv.app.store.getAccount('bob@example.com'))!;
  const inbox = (await f.srv.app.store.getMailbox(acc.id, 'INBOX'))!;
  const body = Buffer.alloc(1024 * 1024, 'x'.charCodeAt(0));
  for (let i = 0; i < 24; i++) {
    const raw = Buffer.concat([Buffer.from(`Subject: big ${i}\r\n\r\n`), body]);
    await f.srv.app.mail.append(acc.id, inbox.id, raw);
  }
  const c = await f.login('bob@example.com');
  await c.cmd('SELECT INBOX');
  c.socket.pause(); // stop reading
  c.send('big UID FETCH 1:* BODY.PEEK[]\r\n');
  await new Promise((r) => setTimeout(r, 1500));
  const listener = f.srv.server.listeners.find((l) => l.name === 'imap')!;
  let queued = 0;
  for (const s of listener.sessions) queued += (s as ImapSession).conn.socket.writableLength;
  assert.ok(queued < 4 * 1024 * 1024, `server queued ${queued} octets for a client that does not read`);
  // Now read it all: the answer is complete and exact.
  let total = 0;
  const done = new Promise<void>((resolve) => {
    c.socket.removeAllListeners('data');
    let tail = '';
    c.socket.on('data', (d: Buffer) => {
      total += d.length;
      tail = (tail + d.toString('latin1')).slice(-200);
      if (/big OK /.test(tail)) resolve();
    });
  });
  c.socket.resume();
  await done;
  assert.ok(total > 24 * 1024 * 1024, `got ${total} octets`);
  c.close();
});
