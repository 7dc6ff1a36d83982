// Bounds on the header section: its size and number of lines (552 5.3.4) and Received fields as a loop
// signal (554 5.4.6, RFC 5321 section 6.3), over DATA, BDAT and LMTP; at the limit the message goes in.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer({
    configure: (c) => {
      c.smtp.max_header_size = 4096;
      c.smtp.max_header_lines = 100;
      c.smtp.max_received = 10;
    },
  });
});
after(() => t.stop());

const ALICE = `alice@${DOMAIN}`;

/** A message whose header has `extra` prepended (each line CRLF-terminated). */
const withHeader = (extra: string, id: string) => `${extra}${message({ id })}`;
const received = (n: number) =>
  Array.from(
    { length: n },
    (_, i) => `Received: from hop${i}.remote.test by hop${i + 1}.remote.test; Mon, 05 Jan 2026 10:00:00 +0000\r\n`,
  ).join('');
/** A folded field: one field of `lines` physical lines. */
const folded = (lines: number) => `X-Long: start\r\n${' more\r\n'.repeat(lines - 1)}`;

async function session(port = t.ports.smtp, greet = 'EHLO') {
  const c = await RawSmtp.open(port);
  await c.expect(220);
  await c.expect(250, `${greet} limits.test`);
  return c;
}

async function sendData(c: RawSmtp, content: string) {
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<${ALICE}>`);
  await c.expect(354, 'DATA');
  c.write(`${content}.\r\n`);
  return c.read();
}

const stored = async (id: string) =>
  (await t.inbox(ALICE)).filter((m) => m.toString('latin1').includes(`<${id}>`)).length;

test('more header lines than smtp.max_header_lines: 552 5.3.4, nothing stored, the session goes on', async () => {
  const c = await session();
  // message() has 5 header lines; 96 more folded ones make 101.
  const r = await sendData(c, withHeader(folded(96), 'lines-over@test'));
  assert.equal(r.code, 552, r.raw);
  assert.match(r.raw, /5\.3\.4 Message header section too large/);
  assert.equal(await stored('lines-over@test'), 0);
  // Exactly at the limit (100 lines) the message is taken.
  const ok = await sendData(c, withHeader(folded(95), 'lines-at@test'));
  assert.equal(ok.code, 250, ok.raw);
  assert.equal(await stored('lines-at@test'), 1);
  c.close();
});

test('a header section over smtp.max_header_size octets: 552 5.3.4', async () => {
  const c = await session();
  const big = `X-Big: ${'x'.repeat(900)}\r\n`.repeat(5); // about 4.5 KiB in 5 lines
  const r = await sendData(c, withHeader(big, 'size-over@test'));
  assert.equal(r.code, 552, r.raw);
  assert.match(r.raw, /5\.3\.4/);
  assert.equal(await stored('size-over@test'), 0);
  // The same octets in the body are fine: only the header section is bounded.
  const ok = await sendData(c, message({ id: 'size-body@test', body: big }));
  assert.equal(ok.code, 250, ok.raw);
  c.close();
});

test('more Received fields than smtp.max_received: refused as a mail loop with 554 5.4.6', async () => {
  const c = await session();
  const r = await sendData(c, withHeader(received(11), 'loop@test'));
  assert.equal(r.code, 554, r.raw);
  assert.match(r.raw, /5\.4\.6 .*loop/);
  assert.equal(await stored('loop@test'), 0);
  // Field names are case-insensitive: "RECEIVED:" counts too.
  const upper = await sendData(c, withHeader(received(11).replaceAll('Received:', 'RECEIVED:'), 'loop-upper@test'));
  assert.equal(upper.code, 554, upper.raw);
  const ok = await sendData(c, withHeader(received(10), 'hops-at@test'));
  assert.equal(ok.code, 250, ok.raw);
  assert.equal(await stored('hops-at@test'), 1);
  // "Received" in the body is no hop.
  const body = await sendData(c, message({ id: 'hops-body@test', body: received(20) }));
  assert.equal(body.code, 250, body.raw);
  c.close();
});

test('BDAT: the same header bounds apply to the assembled message', async () => {
  const c = await session();
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<${ALICE}>`);
  const content = Buffer.from(withHeader(received(11), 'bdat-loop@test'));
  const half = Math.floor(content.length / 2);
  c.write(Buffer.concat([Buffer.from(`BDAT ${half}\r\n`), content.subarray(0, half)]));
  await c.expect(250);
  c.write(Buffer.concat([Buffer.from(`BDAT ${content.length - half} LAST\r\n`), content.subarray(half)]));
  await c.expect(554, undefined, /5\.4\.6/);
  await c.expect(250, 'NOOP');
  c.close();
});

test('LMTP: one refusal per recipient', async () => {
  const c = await session(t.ports.lmtp, 'LHLO');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<${ALICE}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${withHeader(folded(200), 'lmtp-over@test')}.\r\n`);
  await c.expect(552, undefined, /5\.3\.4/);
  await c.expect(552, undefined, /5\.3\.4/);
  await c.expect(250, 'NOOP');
  c.close();
});
