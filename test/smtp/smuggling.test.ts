// SMTP smuggling: only CRLF.CRLF ends DATA. Each end-of-data look-alike with a second message smuggled
// behind it is refused as one message (550 5.6.0) and the smuggled commands are never executed.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
let lenient: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  lenient = await startSmtpServer({ configure: (c) => (c.smtp.bare_lf = 'normalise') });
});
after(async () => {
  await t.stop();
  await lenient.stop();
});

const smuggled = `MAIL FROM:<admin@${DOMAIN}>\r\nRCPT TO:<bob@${DOMAIN}>\r\nDATA\r\nFrom: admin@${DOMAIN}\r\nSubject: smuggled\r\n\r\nevil\r\n`;

/** Sends one message whose data holds `fakeEnd` + a smuggled transaction, then the real end. */
async function attempt(server: SmtpTestServer, fakeEnd: string) {
  const c = await RawSmtp.open(server.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO smuggler.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ subject: 'carrier', body: 'first' })}${fakeEnd}${smuggled}.\r\n`);
  const first = await c.read();
  // Exactly one reply: nothing of the smuggled transaction was taken as commands.
  const next = await c.cmd('NOOP');
  c.close();
  return { first, next };
}

const cases: [string, string][] = [
  ['bare LF . bare LF', '\n.\n'],
  ['CRLF . bare LF', '\r\n.\n'],
  ['bare LF . CRLF', '\n.\r\n'],
  ['bare CR . bare CR', '\r.\r'],
  ['CRLF . bare CR', '\r\n.\r'],
  ['bare CR . CRLF', '\r.\r\n'],
];

for (const [name, fakeEnd] of cases)
  test(`${name} is not the end of data; the message is refused and nothing is smuggled`, async () => {
    const before = (await t.inbox(`bob@${DOMAIN}`)).length;
    const { first, next } = await attempt(t, fakeEnd);
    assert.equal(first.code, 550, first.raw);
    assert.match(first.raw, /5\.6\.0 .*bare (LF|CR)/);
    assert.equal(next.code, 250, 'the session goes on in step');
    assert.equal((await t.inbox(`bob@${DOMAIN}`)).length, before, 'no smuggled message for bob');
  });

test('bare LF in the middle of an otherwise normal message is refused by default', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO x.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write('Subject: x\r\n\r\nline\nnext\r\n.\r\n');
  await c.expect(550);
  c.close();
});

test('normalise mode stores line ends as CRLF, and still never ends data early', async () => {
  const { first } = await attempt(lenient, '\n.\n');
  assert.equal(first.code, 250);
  const bob = await lenient.inbox(`bob@${DOMAIN}`);
  assert.equal(bob.length, 0, 'the smuggled transaction did not run');
  const alice = await lenient.inbox(`alice@${DOMAIN}`);
  const { rest } = splitTrace(alice[alice.length - 1]);
  assert.match(rest.toString(), /first\r\n\r\nMAIL FROM:<admin@example\.test>\r\n/);
  assert.doesNotMatch(rest.toString(), /[^\r]\n/);
});

/** One message in BDAT chunks (the last one LAST); the reply to the last chunk. */
async function bdat(server: SmtpTestServer, chunks: string[], body = '') {
  const c = await RawSmtp.open(server.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO x.test');
  await c.expect(250, `MAIL FROM:<a@remote.test>${body}`);
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  let last = { code: 0, raw: '' };
  for (const [i, chunk] of chunks.entries()) {
    const data = Buffer.from(chunk, 'latin1');
    c.write(`BDAT ${data.length}${i === chunks.length - 1 ? ' LAST' : ''}\r\n`);
    c.write(data);
    last = await c.read();
  }
  const next = await c.cmd('NOOP');
  c.close();
  return { last, next };
}

/** The newest message alice has, in whichever mailbox the filter put it (these have few header fields). */
async function stored(server: SmtpTestServer): Promise<string> {
  const acc = await server.app.store.getAccount(`alice@${DOMAIN}`);
  const all = [];
  for (const mb of await server.app.store.listMailboxes(acc!.id))
    all.push(...(await server.app.store.listMessages(mb.id)));
  const newest = all.sort((a, b) => a.id - b.id).pop()!;
  return splitTrace(await (await server.app.mail.source(newest)).read()).rest.toString('latin1');
}

const count = async (server: SmtpTestServer) => {
  const acc = await server.app.store.getAccount(`alice@${DOMAIN}`);
  let n = 0;
  for (const mb of await server.app.store.listMailboxes(acc!.id))
    n += (await server.app.store.listMessages(mb.id)).length;
  return n;
};

test('BDAT: text with a bare LF or bare CR is refused as DATA refuses it (RFC 3030 section 2: CRLF lines)', async () => {
  for (const [name, chunks] of [
    ['bare LF in the header', ['Subject: x\nX-Spam-Flag: YES\r\n\r\nbody\r\n']],
    ['bare LF in the body', ['Subject: x\r\n\r\nline\nnext\r\n']],
    ['bare CR in a second chunk', ['Subject: x\r\n\r\n', 'one\rtwo\r\n']],
  ] as const) {
    const before = await count(t);
    const { last, next } = await bdat(t, [...chunks]);
    assert.equal(last.code, 550, `${name}: ${last.raw}`);
    assert.match(last.raw, /5\.6\.0 .*bare (LF|CR)/);
    assert.equal(next.code, 250, 'the session goes on in step');
    assert.equal(await count(t), before, `${name}: nothing stored`);
  }
});

test('BDAT: a CRLF split across two chunks is a line end; BINARYMIME bodies may hold any octet', async () => {
  let r = await bdat(t, ['Subject: split\r', '\n\r\nbody\r', '\n']);
  assert.equal(r.last.code, 250, r.last.raw);
  assert.match(await stored(t), /^Subject: split\r\n\r\nbody\r\n$/);
  const binary =
    'Subject: bin\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\n\r\xff\r\n';
  r = await bdat(t, [binary], ' BODY=BINARYMIME');
  assert.equal(r.last.code, 250, r.last.raw);
  assert.ok((await stored(t)).endsWith('\r\n\r\n\x00\n\r\xff\r\n'), 'the binary body as sent');
  r = await bdat(t, ['Subject: bin\nX: y\r\n\r\n\x00\n'], ' BODY=BINARYMIME');
  assert.equal(r.last.code, 550, 'the header section of a binary message is still text');
});

test('BDAT in normalise mode: bare line ends become CRLF', async () => {
  const { last } = await bdat(lenient, ['Subject: lf\nX-A: b\r', 'X-C: d\r\n\r\none\ntwo\r\n']);
  assert.equal(last.code, 250, last.raw);
  assert.match(await stored(lenient), /^Subject: lf\r\nX-A: b\r\nX-C: d\r\n\r\none\r\ntwo\r\n$/);
});

// A BDAT chunk ends where its size says (RFC 3030 section 2). A BDAT line whose size could not be read was
// answered 501 and the chunk's octets were then read as commands: message content run as SMTP commands.
test('BDAT with a size that cannot be read: the session is closed, its chunk never read as commands', async () => {
  for (const line of ['BDAT 15 FIRST', 'BDAT -15', 'BDAT', 'BDAT fifteen LAST']) {
    const c = await RawSmtp.open(t.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO x.test');
    await c.expect(250, 'MAIL FROM:<a@remote.test>');
    await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
    c.write(`${line}\r\nRSET\r\nNOOP\r\n`);
    await c.expect(421, undefined, /^421 4\.5\.4 /);
    await c.closedByServer();
    c.close();
  }
});

test('BDAT: extra spaces around the size and LAST are tolerated (as Postfix does)', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO x.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  const m = message({ subject: 'spaced bdat' });
  c.write(`BDAT  ${m.length}  LAST \r\n${m}`);
  await c.expect(250, undefined, /^250 2\.0\.0 OK/);
  await c.expect(250, 'NOOP');
  c.close();
  assert.equal(await stored(t), m);
});
