// Input limits: recipients, line length, message size (declared and streamed, DATA and BDAT), errors per
// session, connections per IP, and the command, idle and data timeouts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
let slow: SmtpTestServer;
let few: SmtpTestServer;
let full: SmtpTestServer;
before(async () => {
  t = await startSmtpServer({
    configure: (c) => {
      c.smtp.max_recipients = 3;
      c.smtp.max_line_length = 512;
      c.smtp.max_message_size = 4096;
      c.smtp.max_errors = 5;
    },
  });
  slow = await startSmtpServer({
    configure: (c) => {
      c.smtp.command_timeout_ms = 600;
      c.smtp.idle_timeout_ms = 300;
      c.smtp.data_timeout_ms = 1000;
    },
  });
  few = await startSmtpServer({ configure: (c) => (c.smtp.max_connections_per_ip = 2) });
  full = await startSmtpServer({ configure: (c) => (c.smtp.max_connections = 2) });
});
after(async () => {
  await Promise.all([t.stop(), slow.stop(), few.stop(), full.stop()]);
});

async function session(server = t) {
  const c = await RawSmtp.open(server.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO limits.test');
  return c;
}

test('more recipients than smtp.max_recipients: 452 4.5.3 for the extra ones', async () => {
  const c = await session();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  for (let i = 0; i < 3; i++) await c.expect(250, `RCPT TO:<alice+${i}@${DOMAIN}>`);
  await c.expect(452, `RCPT TO:<bob@${DOMAIN}>`, /4\.5\.3/);
  c.close();
});

// RFC 5321 section 4.5.3.1.10: the client sends the refused recipients in a later transaction. A pipelining
// client sends them all before it reads a reply; when each 452 counted as an error (smtp.max_errors, 5 here)
// the session was cut with 421, the accepted recipients lost with it, and the same happened on every retry.
test('recipients past smtp.max_recipients, pipelined: 452 4.5.3 each, no disconnect, the message still goes', async () => {
  const c = await session();
  const id = 'many-rcpts@test';
  const rcpts = Array.from({ length: 12 }, (_, i) => `RCPT TO:<alice+${i}@${DOMAIN}>\r\n`).join('');
  c.write(`MAIL FROM:<a@remote.test>\r\n${rcpts}DATA\r\n`);
  const codes = [];
  for (let i = 0; i < 14; i++) codes.push((await c.read()).code);
  assert.deepEqual(codes, [250, 250, 250, 250, ...Array(9).fill(452), 354]);
  await c.expect(250, `${message({ id })}.`);
  await c.expect(221, 'QUIT');
  assert.equal((await t.inbox(`alice@${DOMAIN}`)).filter((m) => m.includes(`<${id}>`)).length, 1);
});

test('a command line over smtp.max_line_length: 500 5.5.2, and the session goes on', async () => {
  const c = await session();
  await c.expect(500, `MAIL FROM:<${'a'.repeat(600)}@remote.test>`, /5\.5\.2 Line too long/);
  await c.expect(250, 'NOOP');
  // Also when the long line comes in pieces with no LF for a while.
  c.write('X'.repeat(300));
  await new Promise((r) => setTimeout(r, 50));
  c.write(`${'X'.repeat(300)}\r\nNOOP\r\n`);
  await c.expect(500);
  await c.expect(250);
  c.close();
});

test('a declared SIZE above the limit is refused at MAIL (RFC 1870)', async () => {
  const c = await session();
  const ehlo = await c.cmd('EHLO again.test');
  assert.ok(ehlo.lines.includes('SIZE 4096'));
  await c.expect(552, 'MAIL FROM:<a@remote.test> SIZE=5000', /5\.3\.4/);
  await c.expect(250, 'MAIL FROM:<a@remote.test> SIZE=4000');
  c.close();
});

test('an oversized message is streamed to its end, not stored, and answered 552 5.3.4', async () => {
  const c = await session();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  const before = (await t.inbox(`alice@${DOMAIN}`)).length;
  const line = `${'x'.repeat(998)}\r\n`;
  for (let i = 0; i < 2000; i++) c.write(line); // ~2 MB against a 4 KB limit
  c.write('.\r\n');
  await c.expect(552, undefined, /5\.3\.4/);
  await c.expect(250, 'NOOP');
  assert.equal((await t.inbox(`alice@${DOMAIN}`)).length, before);
  c.close();
});

test('BDAT past the limit fails on that chunk; later chunks are skipped with 503', async () => {
  const c = await session();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  c.write(`BDAT 3000\r\n${'a'.repeat(3000)}`);
  await c.expect(250);
  c.write(`BDAT 3000 LAST\r\n${'b'.repeat(3000)}`);
  await c.expect(552, undefined, /5\.3\.4/);
  c.write('BDAT 10 LAST\r\n0123456789');
  await c.expect(503);
  await c.expect(250, 'NOOP');
  c.close();
});

test('too many errors in one session: 421 4.7.0 and the connection is closed', async () => {
  const c = await session();
  for (let i = 0; i < 4; i++) await c.expect(500, 'BOGUS');
  await c.expect(503, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(421, undefined, /4\.7\.0 .*Too many errors/);
  await c.closedByServer();
});

test('connections per IP above the limit get 421 4.7.0 and are closed', async () => {
  const a = await RawSmtp.open(few.ports.smtp);
  const b = await RawSmtp.open(few.ports.smtp);
  await a.expect(220);
  await b.expect(220);
  const c = await RawSmtp.open(few.ports.smtp);
  await c.expect(421, undefined, /4\.7\.0 .*Too many connections from your address/);
  await c.closedByServer();
  a.close();
  b.close();
});

test('silence where a command is due (command_timeout_ms): 421 and disconnected', async () => {
  const c = await RawSmtp.open(slow.ports.smtp);
  await c.expect(220);
  // Before EHLO too the reply carries its enhanced status code (RFC 2034 section 5: no negotiation).
  await c.expect(421, undefined, /^421 4\.4\.2 mx\.test\.petrel Timeout/);
  await c.closedByServer();
});

test('silence after EHLO: 421 4.4.2', async () => {
  const c = await RawSmtp.open(slow.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO quiet.test');
  const start = Date.now();
  await c.expect(421, undefined, /4\.4\.2/);
  await c.closedByServer();
  // The configured short timeout, not the five-minute default (no speed claim: a loaded machine is slow).
  assert.ok(Date.now() - start < 60_000);
});

test('connections above smtp.max_connections get 421 4.7.0', async () => {
  const a = await RawSmtp.open(full.ports.smtp);
  const b = await RawSmtp.open(full.ports.smtp);
  await a.expect(220);
  await b.expect(220);
  const c = await RawSmtp.open(full.ports.smtp);
  await c.expect(421, undefined, /4\.7\.0 .*Too many connections, try again later/);
  await c.closedByServer();
  a.close();
  b.close();
});

test('command timeout: a command dribbled one octet at a time cannot keep the session forever', async () => {
  const c = await RawSmtp.open(slow.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO dribble.test');
  const start = Date.now();
  const timer = setInterval(() => c.write('N'), 100); // always within the 300 ms idle timeout
  try {
    await c.expect(421, undefined, /4\.4\.2/);
  } finally {
    clearInterval(timer);
  }
  assert.ok(Date.now() - start >= 500, 'the command timeout (600 ms), not the idle timeout, ended it');
});

test('a client that pipelines and never reads is dropped at the timeout, not held by our blocked write', async () => {
  const c = await RawSmtp.open(slow.ports.smtp);
  await c.expect(220);
  c.socket.pause(); // stop reading
  // Batches of 100 EHLO (about 20 KB of replies each): bounded, until our side stops taking them.
  const batch = 'EHLO stall.test\r\n'.repeat(100);
  for (let i = 0; i < 1500 && c.socket.write(batch); i++) await new Promise((r) => setTimeout(r, 3));
  // Checked on the server side: a client that does not read may never see the close.
  const listener = slow.server.listeners.find((l) => l.name === 'smtp')!;
  const end = Date.now() + 20000;
  while (listener.sessions.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  c.close();
  assert.equal(listener.sessions.size, 0, 'the stalled session is still live');
});

test('idle timeout inside DATA: 421 4.4.2, nothing stored', async () => {
  const c = await RawSmtp.open(slow.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO idle.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(message({ id: 'never-finished@test' }));
  await c.expect(421, undefined, /4\.4\.2/);
  await c.closedByServer();
  assert.equal((await slow.inbox(`alice@${DOMAIN}`)).length, 0);
});

// After STARTTLS only the TLS socket carries the silence timer: the one armed on the plaintext socket before
// it (command_timeout_ms) went on under the TLS one and cut message content silent for less than
// idle_timeout_ms (RFC 5321 section 4.5.3.2.5).
test('after STARTTLS, silence inside DATA is bounded by idle_timeout_ms, not the command timeout', async () => {
  const long = await startSmtpServer({
    configure: (c) => {
      c.smtp.command_timeout_ms = 1000;
      c.smtp.idle_timeout_ms = 600_000;
    },
  });
  try {
    const c = await RawSmtp.open(long.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO tls.test');
    await c.expect(220, 'STARTTLS');
    await c.startTls();
    await c.expect(250, 'EHLO tls.test');
    await c.expect(250, 'MAIL FROM:<a@remote.test>');
    await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
    await c.expect(354, 'DATA');
    c.write(message({ id: 'slow-after-starttls@test' }));
    // Silent for longer than command_timeout_ms, far less than idle_timeout_ms.
    await new Promise((r) => setTimeout(r, 2500));
    await c.expect(250, '.');
    c.close();
    assert.equal((await long.inbox(`alice@${DOMAIN}`)).length, 1);
  } finally {
    await long.stop();
  }
});
