// What a message in transit costs the server: a message of short lines (DATA) or of tiny BDAT chunks is held
// in a few large buffers, about its own size, not as one buffer object per line or per chunk.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SmtpSession } from '../../src/smtp/session.ts';
import { heapInUse } from '../helpers/heap.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

// The server runs in this process: its heap is measured after a full collection.
const used = heapInUse;

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
});
after(() => t.stop());

async function transaction(): Promise<RawSmtp> {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO memory.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  return c;
}

/** The server's session of this client. */
function session(c: RawSmtp): SmtpSession {
  const listener = t.server.listeners.find((l) => l.name === 'smtp')!;
  const port = c.socket.localPort;
  return [...listener.sessions].find((x) => (x as SmtpSession).conn.remotePort === port) as SmtpSession;
}

/** Waits until the server session has read everything this client wrote (bounded). */
async function allRead(c: RawSmtp): Promise<void> {
  const s = session(c);
  for (let i = 0; i < 600; i++) {
    if (s.conn.socket.bytesRead >= c.socket.bytesWritten && s.conn.buffered === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not read what was sent');
}

const write = async (c: RawSmtp, data: string) => {
  if (!c.socket.write(data)) await new Promise((r) => c.socket.once('drain', r));
};

// Each kept piece was a Buffer of its own, ~120 octets of heap per 3-octet line (342 MB for this 8 MB): a
// 50 MB message (the default smtp.max_message_size) of short lines took some 2 GB before it was delivered.
test('DATA: 8 MB of 3-octet lines is held in about 8 MB, not one buffer per line', async () => {
  const c = await transaction();
  await c.expect(354, 'DATA');
  const base = used();
  await write(c, 'Subject: short lines\r\n\r\n');
  const block = 'a\r\n'.repeat(100_000);
  for (let i = 0; i < 27; i++) await write(c, block);
  await allRead(c);
  const held = used() - base;
  assert.ok(held < 40e6, `${Math.round(held / 1e6)} MB held for an 8 MB message`);
  await c.expect(250, '.', /^250 2\.0\.0 /);
  c.close();
});

// Measured on the session itself: the heap noise of 20,000 commands (replies, metrics) would hide the
// ~100 octets each chunk cost.
test('BDAT: 20,000 one-octet chunks are held in a few buffers, not one per chunk', async () => {
  const c = await transaction();
  const n = 20_000;
  for (let i = 0; i < n; i += 1000) await write(c, 'BDAT 1\r\nx'.repeat(1000));
  for (let i = 0; i < n; i++) assert.equal((await c.read(30_000)).code, 250);
  const content = session(c).tx!.content;
  assert.equal(content.size, n);
  assert.ok(content.chunks.length <= 4, `${content.chunks.length} buffers`);
  assert.equal(Buffer.concat(content.chunks).toString(), 'x'.repeat(n));
  await c.expect(250, 'RSET');
  c.close();
});
