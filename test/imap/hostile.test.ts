// Malformed and hostile input: each broken command gets BAD or NO and the session goes on; oversized
// literals and lines are refused without buffering them; a client that stops reading stalls its own
// session instead of growing the server's memory (Connection.write backpressure); a big part is decoded
// for BINARY as it is sent, not in memory.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { ImapSession } from '../../src/imap/session.ts';
import { RawImap } from '../helpers/imap-client.ts';
import { firstSlice } from '../helpers/pipeline.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice', 'bob', 'carol', 'dave'] });
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

test('an IDLE client that stops reading does not grow server memory while its mailbox changes', async () => {
  const acc = (await f.srv.app.store.getAccount('dave@example.com'))!;
  const inbox = (await f.srv.app.store.getMailbox(acc.id, 'INBOX'))!;
  for (let i = 0; i < 2000; i++)
    await f.srv.app.mail.append(acc.id, inbox.id, Buffer.from(`Subject: m${i}\r\n\r\nx\r\n`));
  const idler = await f.login('dave@example.com');
  await idler.cmd('SELECT INBOX');
  idler.send('i IDLE\r\n');
  assert.match(await idler.line(), /^\+ /);
  idler.socket.pause(); // stop reading
  const other = await f.login('dave@example.com');
  await other.cmd('SELECT INBOX');
  // Each STORE changes every message: about 1 MB of FETCH responses for the idler each time.
  const long = (r: number) => [1, 2, 3, 4, 5].map((k) => `kw${r}.${k}.${'x'.repeat(90)}`).join(' ');
  for (let r = 0; r < 20; r++)
    assert.match((await other.cmd(`STORE 1:* FLAGS.SILENT (\\Flagged ${long(r)})`, 60000)).tagged, /OK/);
  await new Promise((r) => setTimeout(r, 500));
  const listener = f.srv.server.listeners.find((l) => l.name === 'imap')!;
  let queued = 0;
  for (const s of listener.sessions) queued += (s as ImapSession).conn.socket.writableLength;
  assert.ok(queued < 3 * 1024 * 1024, `server queued ${queued} octets for an idling client that does not read`);
  // Reading again, the client ends IDLE normally and sees the last state.
  idler.socket.resume();
  idler.send('DONE\r\n');
  const done = await idler.until('i', 30000);
  assert.match(done.tagged, /^i OK /);
  const flags = await idler.cmd('FETCH 2000 (FLAGS)');
  assert.equal(flags.lines.join('\n'), `* 2000 FETCH (FLAGS (\\Flagged ${long(19)} \\Recent))`);
  idler.close();
  other.close();
});

/** Peak resident memory of this process (the server runs in it), in octets. */
function peakRss(): number {
  return Number(/VmHWM:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

test('BINARY, BINARY.SIZE and a BINARY partial of a 15 MB base64 part take no more memory than BODY of it', {
  skip: process.platform !== 'linux' && 'needs /proc/self/clear_refs',
}, async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const acc = (await f.srv.app.store.getAccount('carol@example.com'))!;
  const inbox = (await f.srv.app.store.getMailbox(acc.id, 'INBOX'))!;
  const payload = Buffer.alloc(15 * 1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
  const b64 = payload.toString('base64').replace(/.{76}/g, '$&\r\n');
  const raw = Buffer.from(
    'Subject: big\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\n\r\nhi\r\n' +
      `--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--x--\r\n`,
  );
  await f.srv.app.mail.append(acc.id, inbox.id, raw);
  // A client that keeps nothing of what it reads (it hashes it), so the peak is the server's doing.
  const sock = connect({ port: f.port, host: '127.0.0.1' });
  let hash = createHash('sha256');
  let tail = '';
  let want = '';
  let done: (() => void) | null = null;
  sock.on('data', (d: Buffer) => {
    hash.update(d);
    tail = (tail + d.toString('latin1', Math.max(0, d.length - 4000))).slice(-4000);
    if (done && tail.includes(want)) done();
  });
  let n = 0;
  /** Sends a command; resolves with the hash of its whole answer and the answer's last 4000 octets. */
  const cmd = (command: string) =>
    new Promise<{ sha: string; tail: string }>((resolve) => {
      const tag = `m${++n}`;
      want = `\r\n${tag} OK`;
      tail = '\r\n';
      hash = createHash('sha256');
      done = () => {
        if (!/\r\n$/.test(tail)) return;
        done = null;
        resolve({ sha: hash.digest('hex'), tail });
      };
      sock.write(`${tag} ${command}\r\n`);
    });
  await new Promise((r) => sock.once('data', r));
  await cmd('LOGIN carol@example.com secret');
  await cmd('EXAMINE INBOX');
  await cmd('FETCH 1 (BODY.PEEK[2])'); // warm-up
  const growth: Record<string, number> = {};
  const got: Record<string, { sha: string; tail: string }> = {};
  const items = ['BINARY.SIZE[2]', 'BINARY.PEEK[2]<0.100>', 'BINARY.PEEK[2]<1000000.3000000>', 'BINARY.PEEK[2]'];
  for (const item of ['BODY.PEEK[2]', ...items]) {
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    writeFileSync('/proc/self/clear_refs', '5'); // the peak is reset to what is resident now
    const base = peakRss();
    got[item] = await cmd(`FETCH 1 (${item})`);
    growth[item] = peakRss() - base;
  }
  sock.destroy();
  const report = Object.entries(growth)
    .map(([k, v]) => `${k}: +${(v / 1e6).toFixed(1)} MB`)
    .join(', ');
  // BODY[2] streams its 21 MB from the blob store: the control. Decoding streams as well, and BINARY.SIZE
  // keeps none of the data (the whole part in memory, in several copies, was +40 to +90 MB).
  for (const item of items)
    assert.ok(growth[item] < 3 * Math.max(0, growth['BODY.PEEK[2]']) + 10e6, `peak memory growth: ${report}`);
  // And the answers are right: the size, the partials, and every octet of the part.
  assert.match(
    got['BINARY.SIZE[2]'].tail,
    new RegExp(`^\\r\\n\\* 1 FETCH \\(BINARY\\.SIZE\\[2\\] ${payload.length}\\)\\r\\n`),
  );
  const answer = (item: string, label: string, data: Buffer) => {
    const tagged = /\r\n(m\d+ OK [^\r]*\r\n)$/.exec(got[item].tail)![1];
    const h = createHash('sha256').update(`* 1 FETCH (${label} ~{${data.length}}\r\n`).update(data);
    return h.update(`)\r\n${tagged}`).digest('hex');
  };
  assert.equal(
    got['BINARY.PEEK[2]<0.100>'].sha,
    answer('BINARY.PEEK[2]<0.100>', 'BINARY[2]<0>', payload.subarray(0, 100)),
  );
  assert.equal(
    got['BINARY.PEEK[2]<1000000.3000000>'].sha,
    answer('BINARY.PEEK[2]<1000000.3000000>', 'BINARY[2]<1000000>', payload.subarray(1000000, 4000000)),
  );
  assert.equal(got['BINARY.PEEK[2]'].sha, answer('BINARY.PEEK[2]', 'BINARY[2]', payload));
});

// The session answered a whole buffered pipeline without giving the event loop back: a client streaming
// NOOPs (a megabyte of them buffered) held every other connection's replies for ~150 ms at a time.
test('a buffered pipeline is answered in slices: other work waiting on the event loop runs in between', async () => {
  const { c } = await RawImap.open(f.port);
  assert.match((await c.cmd('NOOP')).tagged, / OK/);
  const listener = f.srv.server.listeners.find((l) => l.name === 'imap')!;
  const session = [...listener.sessions].find(
    (s) => (s as ImapSession).conn.remotePort === c.socket.localPort,
  ) as ImapSession;
  const count = 10_000;
  const { commands, answered } = await firstSlice(
    session.conn.socket,
    (d) => c.socket.write(d),
    'p NOOP\r\n',
    'p OK NOOP completed\r\n'.length,
    count,
  );
  assert.ok(commands > 1000, `the pipeline arrived in pieces of ${commands} commands`);
  assert.ok(answered < commands, `all ${answered} commands at hand were answered before anything else ran`);
  for (let i = 0; i < count; i++) assert.match(await c.line(), /^p OK/);
  assert.match((await c.cmd('LOGOUT')).tagged, / OK/);
});
