// Sessions still busy when the shutdown grace period runs out (`petrel serve` in a child process, SIGTERM):
// each hears its protocol's goodbye where the wire allows one (SMTP 421 even mid-DATA, IMAP BYE between
// responses) and never inside a response begun (a literal, a RETR); nothing is acknowledged that is not
// stored, and nothing sent after the goodbye is taken.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { inboxOf, openStoppedPetrel, type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const USER = 'slow@localhost';
const PASS = 'slow-secret';
/** A message IMAP streams as a literal (over 256 KB) and POP3 streams from the blob (over 256 KB). */
const LARGE = 32 * 1024 * 1024;
/** Messages IMAP sends whole, one FETCH response each, many of them: more than socket buffers hold. */
const SMALL = 200 * 1024;
const SMALL_COUNT = 120;
const ENV = { PETREL_SERVER_SHUTDOWN_GRACE_MS: '300', PETREL_LISTENERS_POP3_ENABLED: 'true' };

function message(subject: string, size: number): Buffer {
  const head = `From: load@remote.test\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\n`;
  const line = `${subject} ${'x'.repeat(70)}\r\n`;
  return Buffer.from(head + line.repeat(Math.ceil((size - head.length) / line.length)));
}
const large = message('large', LARGE);

let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'petrel-past-grace-'));
  const seed = await openStoppedPetrel(dir, ENV);
  try {
    await seed.directory.addDomain('localhost');
    const acc = await seed.directory.addAccount(USER, PASS);
    await seed.mail.deliver(large, [{ accountId: acc.id }]);
    for (let i = 0; i < SMALL_COUNT; i++)
      await seed.mail.deliver(message(`small ${i}`, SMALL), [{ accountId: acc.id }]);
  } finally {
    await seed.close();
  }
});
after(() => rmSync(dir, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the server logs that the grace period is over (or has exited without saying so). */
async function hungUp(p: PetrelProcess): Promise<void> {
  while (!p.stdout().includes('grace period over') && p.child.exitCode === null) await sleep(10);
}

/** A raw connection that reads only when told to, keeping everything it read, until the server closes. */
class Reader {
  data = Buffer.alloc(0);
  ended = false;
  readonly socket: Socket;
  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
    });
  }
  static async open(port: number): Promise<Reader> {
    const s = connect({ port, host: '127.0.0.1' });
    await new Promise((r) => s.once('connect', r));
    return new Reader(s);
  }
  text(): string {
    return this.data.toString('latin1');
  }
  async until(pred: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 3000 && !pred(); i++) {
      if (this.ended) break;
      await sleep(10);
    }
    assert.ok(pred(), `${what}; got ${JSON.stringify(this.text().slice(-300))}`);
  }
  async closed(): Promise<void> {
    for (let i = 0; i < 3000 && !this.ended; i++) await sleep(10);
    assert.ok(this.ended, 'the server closed the connection');
  }
}

describe('the end of the grace period', () => {
  let p: PetrelProcess | null = null;
  after(async () => {
    if (p) await stopPetrel(p.child, 'SIGKILL');
  });

  test('SMTP mid-DATA, plain and after STARTTLS: 421 4.3.2 before the close; the message is not stored', async () => {
    p = await startPetrel(dir, ENV);
    const clients: RawSmtp[] = [];
    for (const tls of [false, true]) {
      const c = await RawSmtp.open(p.ports.smtp);
      await c.expect(220);
      await c.expect(250, 'EHLO grace.test');
      if (tls) {
        await c.expect(220, 'STARTTLS');
        await c.startTls();
        await c.expect(250, 'EHLO grace.test');
      }
      await c.expect(250, 'MAIL FROM:<load@remote.test>');
      await c.expect(250, `RCPT TO:<${USER}>`);
      await c.expect(354, 'DATA');
      c.write(`Subject: unfinished ${tls ? 'tls' : 'plain'}\r\nMessage-ID: <unfinished-${tls}@grace.test>\r\n\r\n`);
      clients.push(c);
    }
    const exited = stopPetrel(p.child, 'SIGTERM');
    for (const c of clients) {
      // Still sending when the grace runs out: the server's 421 comes in the middle of the content.
      const r = await c.read(10000);
      assert.equal(r.code, 421, r.raw);
      assert.match(r.raw, /^421 4\.3\.2 .*shutting down/);
      // What the client sends after the goodbye (the end of its message) is never taken.
      try {
        c.write('The rest.\r\n.\r\nQUIT\r\n');
      } catch {}
      await c.closedByServer(10000);
    }
    assert.equal(await exited, 0, p.stderr());
    p = null;
    const app = await openStoppedPetrel(dir, ENV);
    try {
      const stored = (await inboxOf(app, USER)).filter((m) => m.includes('unfinished'));
      assert.deepEqual(stored, [], 'a message cut off by the shutdown is not stored');
    } finally {
      await app.close();
      for (const c of clients) c.close();
    }
  });

  test('IMAP: a FETCH that ends within the grace gets its tagged OK, then BYE', { timeout: 60000 }, async () => {
    p = await startPetrel(dir, { ...ENV, PETREL_SERVER_SHUTDOWN_GRACE_MS: '20000' });
    const c = await Reader.open(p.ports.imap);
    c.socket.write(`a1 LOGIN ${USER} ${PASS}\r\na2 SELECT INBOX\r\n`);
    await c.until(() => c.text().includes('a2 OK'), 'selected');
    c.socket.pause();
    // 60 messages of 200 KB: more than the socket buffers hold, little enough to end well within the grace.
    c.socket.write('a3 FETCH 2:61 BODY.PEEK[]\r\n');
    // The FETCH is under way (stuck behind the client that does not read) when the server is told to stop.
    await sleep(300);
    const exited = stopPetrel(p.child, 'SIGTERM');
    await sleep(300);
    c.socket.resume();
    await c.closed();
    const text = c.text();
    assert.ok(/\r\na3 OK [^\r\n]*\r\n\* BYE [^\r\n]*\r\n$/.test(text), `ends ${JSON.stringify(text.slice(-200))}`);
    assert.equal(text.match(/^\* \d+ FETCH /gm)?.length, 60, 'every message was sent');
    assert.equal(await exited, 0, p.stderr());
    p = null;
  });

  test('IMAP past the grace: BYE after a whole response, never inside a literal being sent', {
    timeout: 60000,
  }, async () => {
    p = await startPetrel(dir, ENV);
    const login = `LOGIN ${USER} ${PASS}\r\n`;
    // Many whole responses, stuck behind a client that does not read.
    const many = await Reader.open(p.ports.imap);
    many.socket.write(`b1 ${login}b2 SELECT INBOX\r\n`);
    await many.until(() => many.text().includes('b2 OK'), 'selected');
    many.socket.pause();
    many.socket.write(`b3 FETCH 2:${SMALL_COUNT + 1} BODY.PEEK[]\r\n`);
    // One large literal, streaming.
    const one = await Reader.open(p.ports.imap);
    one.socket.write(`c1 ${login}c2 SELECT INBOX\r\n`);
    await one.until(() => one.text().includes('c2 OK'), 'selected');
    const before = one.data.length;
    one.socket.pause();
    one.socket.write('c3 FETCH 1 BODY.PEEK[]\r\n');
    await sleep(300);
    const exited = stopPetrel(p.child, 'SIGTERM');
    await hungUp(p);
    many.socket.resume();
    one.socket.resume();
    await many.closed();
    await one.closed();

    const text = many.text();
    assert.ok(/\)\r\n\* BYE [^\r\n]*\r\n$/.test(text), `ends ${JSON.stringify(text.slice(-200))}`);
    assert.ok(!/b3 (OK|NO|BAD)/.test(text), 'the FETCH was cut short: no tagged reply');
    assert.ok((text.match(/^\* \d+ FETCH /gm)?.length ?? 0) < SMALL_COUNT, 'cut short');

    // The literal: whatever came of it is the message's own bytes, no BYE in them, and nothing after.
    const got = one.data.subarray(before);
    const head = /^\* 1 FETCH \(BODY\[\] \{(\d+)\}\r\n/.exec(got.toString('latin1'));
    assert.ok(head, `a literal began: ${JSON.stringify(got.subarray(0, 100).toString('latin1'))}`);
    assert.equal(Number(head[1]), large.length);
    const literal = got.subarray(head[0].length);
    assert.ok(literal.length < large.length, 'the literal was cut short');
    assert.ok(literal.equals(large.subarray(0, literal.length)), 'the literal holds only message bytes');
    assert.equal(await exited, 0, p.stderr());
    p = null;
  });

  test('POP3 past the grace, mid-RETR: the connection ends, no -ERR inside the message and no final "."', {
    timeout: 60000,
  }, async () => {
    p = await startPetrel(dir, ENV);
    const c = await Reader.open(p.ports.pop3);
    c.socket.write(`USER ${USER}\r\nPASS ${PASS}\r\n`);
    await c.until(() => /\+OK Logged in/.test(c.text()), 'logged in');
    const before = c.data.length;
    c.socket.pause();
    c.socket.write('RETR 1\r\n');
    await sleep(300);
    const exited = stopPetrel(p.child, 'SIGTERM');
    await hungUp(p);
    c.socket.resume();
    await c.closed();
    const got = c.data.subarray(before);
    const head = /^\+OK (\d+) octets\r\n/.exec(got.toString('latin1'));
    assert.ok(head, `RETR began: ${JSON.stringify(got.subarray(0, 100).toString('latin1'))}`);
    const body = got.subarray(head[0].length);
    // The message has no line starting with ".": its bytes go out unstuffed.
    assert.ok(body.length < large.length, 'cut short');
    assert.ok(body.equals(large.subarray(0, body.length)), 'only message bytes: no -ERR, no terminating "."');
    assert.equal(await exited, 0, p.stderr());
    p = null;
  });
});
