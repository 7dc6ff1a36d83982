// What one command costs the server: a command of many tiny literals (`{0+}` lines, each a few octets) is
// refused once over the command's limits, not kept as objects many times its own size; many HEADER.FIELDS
// items of one message read and scan its header once, not once each, and the headers CATENATE scans for
// HEADER.FIELDS URLs count towards the command's bound.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ImapSession } from '../../src/imap/session.ts';
import { heapInUse } from '../helpers/heap.ts';
import type { RawImap } from '../helpers/imap-client.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

// The server runs in this process: its heap is measured after a full collection.
const used = heapInUse;

let f: ImapFixture;
before(async () => {
  // APPENDLIMIT 1 MB: CATENATE's command bound is then 2 MB.
  f = await imapFixture({ configure: (c) => void (c.imap.max_message_size = 1024 * 1024) });
});
after(() => f.stop());

/** Waits until the server session of this client has read everything the client wrote (bounded). */
async function allRead(c: RawImap): Promise<void> {
  const listener = f.srv.server.listeners.find((l) => l.name === 'imap')!;
  const s = [...listener.sessions].find(
    (x) => (x as ImapSession).conn.remotePort === c.socket.localPort,
  ) as ImapSession;
  for (let i = 0; i < 600; i++) {
    if (s.conn.socket.bytesRead >= c.socket.bytesWritten && s.conn.buffered === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not read what was sent');
}

const write = async (c: RawImap, data: string) => {
  if (!c.socket.write(data)) await new Promise((r) => c.socket.once('drain', r));
};

// Each literal was kept with its line, its spec and an empty buffer, ~420 octets of heap for 6 on the wire,
// and empty literals never counted towards the command's literal limit: the command grew without end.
for (const [name, start] of [
  ['NOOP', 'm1 NOOP'],
  ['APPEND', 'm1 APPEND INBOX'],
] as const) {
  test(`${name} with 300,000 empty literals: refused, not held (2 MB sent)`, async () => {
    const c = await f.login();
    const base = used();
    await write(c, start);
    const block = ' {0+}\r\n'.repeat(10_000);
    for (let i = 0; i < 30; i++) await write(c, block);
    await allRead(c);
    const held = used() - base;
    assert.ok(held < 16e6, `${Math.round(held / 1e6)} MB held for 2 MB of empty literals`);
    await write(c, '\r\n');
    assert.match((await c.until('m1', 30_000)).tagged, /^m1 (BAD|NO) \[TOOBIG\]/);
    assert.match((await c.cmd('NOOP')).tagged, /OK/);
    c.close();
  });
}

// Each item read the header from the blob store and scanned every line of it: a 64 KB FETCH of a few
// thousand such items on a message with a 4 MB header took minutes of CPU, for a few octets of answer each.
test('FETCH of 50 HEADER.FIELDS items reads a 1 MB header once, not once per item', async () => {
  const acc = (await f.srv.app.store.getAccount('alice@example.com'))!;
  const box = await f.srv.app.mail.createMailbox(acc.id, 'Headers');
  const header = `${'X-Filler: a\r\n'.repeat(80_000)}Subject: big header\r\n`;
  await f.srv.app.mail.append(acc.id, box.id, Buffer.from(`${header}\r\nbody\r\n`));
  const mail = f.srv.app.mail;
  const source = mail.source.bind(mail);
  let octets = 0;
  mail.source = async (rec) => {
    const src = await source(rec);
    const read = src.read.bind(src);
    src.read = async (start, end) => {
      const b = await read(start, end);
      octets += b.length;
      return b;
    };
    return src;
  };
  try {
    const c = await f.login();
    await c.cmd('SELECT Headers');
    const items = Array.from({ length: 50 }, (_, i) => `BODY.PEEK[HEADER.FIELDS (X-NONE-${i} SUBJECT)]`);
    const r = await c.cmd(`FETCH 1 (${items.join(' ')} BODY.PEEK[HEADER.FIELDS.NOT (X-FILLER)])`, 60_000);
    assert.match(r.tagged, /OK/);
    const answer = r.raw;
    assert.equal(answer.split('Subject: big header').length - 1, 51);
    assert.ok(octets < 2 * header.length, `${Math.round(octets / 1e6)} MB of header read for one message`);
    c.close();
  } finally {
    mail.source = source;
  }
});

// Each URL read and scanned the whole header it filtered, and only the small result counted: some 800 URLs
// (a 64 KB line) naming a message with a 4 MB header took minutes of CPU.
test('CATENATE: the headers scanned for HEADER.FIELDS URLs count towards the command bound (TOOBIG)', async () => {
  const acc = (await f.srv.app.store.getAccount('alice@example.com'))!;
  const box = await f.srv.app.mail.createMailbox(acc.id, 'Catenate');
  const header = `${'X-Filler: a\r\n'.repeat(50_000)}Subject: big header\r\n`;
  await f.srv.app.mail.append(acc.id, box.id, Buffer.from(`${header}\r\nbody\r\n`));
  const c = await f.login();
  const uv = /UIDVALIDITY (\d+)/.exec((await c.cmd('SELECT Catenate')).raw)![1];
  const url = `URL "/Catenate;UIDVALIDITY=${uv}/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT)"`;
  // One is fine; twenty scan 13 MB of header for a 2 MB bound.
  assert.match((await c.cmd(`APPEND Catenate CATENATE (${url})`, 30_000)).tagged, /OK \[APPENDUID/);
  const r = await c.cmd(`APPEND Catenate CATENATE (${Array(20).fill(url).join(' ')})`, 60_000);
  assert.match(r.tagged, /NO \[TOOBIG\]/);
  c.close();
});
