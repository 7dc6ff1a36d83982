// Real clients send mail in (swaks, Python smtplib, nodemailer, a raw pipelining/BDAT client); what is
// stored, read back through MailService.source, is exactly what was sent plus the trace header fields.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, PASSWORD, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
const scratch = mkdtempSync(join(tmpdir(), 'petrel-smtp-clients-'));
before(async () => {
  t = await startSmtpServer();
  await t.app.directory.addDomain('例子.test');
  await t.app.directory.addAccount('carol@例子.test', PASSWORD);
});
after(async () => {
  await t.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** The newest message of an INBOX, split into trace fields and the message as the client sent it. */
async function last(address: string) {
  const all = await t.inbox(address);
  assert.ok(all.length > 0, `nothing in ${address}`);
  return splitTrace(all[all.length - 1]);
}

const swaks = peer('swaks', 'swaks');
const python = peer('python3', 'python3');

test('swaks, pipelined, into the MX listener', { skip: swaks.skip }, async () => {
  const msg = message({ subject: 'swaks', body: 'line one\r\n.line starting with a dot\r\n' });
  const file = join(scratch, 'swaks.eml');
  // swaks ends the data with CRLF . CRLF itself: the file holds the message without its last CRLF.
  writeFileSync(file, msg.slice(0, -2));
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(t.ports.smtp),
    '--from',
    'sender@remote.test',
    '--to',
    `alice@${DOMAIN}`,
    '--pipeline',
    '--data',
    `@${file}`,
    '--silent',
    '1',
  ]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const { trace, rest } = await last(`alice@${DOMAIN}`);
  assert.equal(rest.toString(), msg);
  assert.match(trace, /^Delivered-To: alice@example\.test\r\nReturn-Path: <sender@remote\.test>\r\nReceived: from /);
});

test('swaks over submission: STARTTLS and AUTH PLAIN', { skip: swaks.skip }, async () => {
  const msg = message({ from: `bob@${DOMAIN}`, subject: 'swaks tls' });
  const file = join(scratch, 'swaks-tls.eml');
  writeFileSync(file, msg.slice(0, -2));
  const r = await run('swaks', [
    '--server',
    '127.0.0.1',
    '--port',
    String(t.ports.submission),
    '--from',
    `bob@${DOMAIN}`,
    '--to',
    `alice@${DOMAIN}`,
    '--tls',
    '--auth',
    'PLAIN',
    '--auth-user',
    `bob@${DOMAIN}`,
    '--auth-password',
    PASSWORD,
    '--data',
    `@${file}`,
  ]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const { trace, rest } = await last(`alice@${DOMAIN}`);
  assert.equal(rest.toString(), msg);
  assert.match(trace, /with ESMTPSA id /);
  assert.match(trace, /\(version=TLSv1\.[23] cipher=/);
  assert.match(trace, /\(authenticated as bob@example\.test\)/);
});

test('Python smtplib: 8-bit body and SMTPUTF8 envelope and headers arrive byte-exact', {
  skip: python.skip,
}, async () => {
  const msg = Buffer.from(
    'From: =?utf-8?q?J=C3=B6rg?= <δοκιμή@παράδειγμα.δοκιμή>\r\nTo: carol@例子.test\r\nSubject: Grüße aus Köln\r\n' +
      'Message-ID: <py-utf8@test>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n' +
      'Content-Transfer-Encoding: 8bit\r\n\r\nÄÖÜ äöü ß € 日本語\r\nLatin-1 octet: \xff\r\n'.replace('\xff', ''),
    'utf8',
  );
  const raw = Buffer.concat([msg, Buffer.from([0xe9, 0x0d, 0x0a])]); // and one octet that is not UTF-8
  const file = join(scratch, 'py.eml');
  writeFileSync(file, raw);
  const code = `
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', ${t.ports.smtp}, timeout=10)
s.ehlo('python.test')
assert s.has_extn('smtputf8') and s.has_extn('8bitmime')
msg = open(sys.argv[1], 'rb').read()
refused = s.sendmail('δοκιμή@παράδειγμα.δοκιμή', ['carol@例子.test'], msg, mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
assert not refused
s.quit()
`;
  const r = await run('python3', ['-c', code, file]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const { trace, rest } = await last('carol@xn--fsqu00a.test');
  assert.deepEqual(rest, raw);
  assert.match(trace, /Return-Path: <δοκιμή@παράδειγμα\.δοκιμή>/);
  assert.match(trace, /with UTF8SMTP id /);
});

test('Python smtplib: AUTH LOGIN on submission (loopback plaintext allowed by default)', {
  skip: python.skip,
}, async () => {
  const code = `
import smtplib
s = smtplib.SMTP('127.0.0.1', ${t.ports.submission}, timeout=10)
s.ehlo('python.test')
s.user, s.password = 'alice@${DOMAIN}', '${PASSWORD}'
code, resp = s.auth('LOGIN', s.auth_login, initial_response_ok=False)
assert code == 235, (code, resp)
s.sendmail('alice@${DOMAIN}', ['bob@${DOMAIN}'], b'From: alice@${DOMAIN}\\r\\nSubject: login\\r\\nMessage-ID: <py-login@test>\\r\\n\\r\\nhi\\r\\n')
s.quit()
`;
  const r = await run('python3', ['-c', code]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const { trace, rest } = await last(`bob@${DOMAIN}`);
  assert.match(rest.toString(), /Message-ID: <py-login@test>/);
  assert.match(trace, /with ESMTPA id/);
});

test('nodemailer over submission with STARTTLS and AUTH, raw message byte-exact', async () => {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.submission,
    secure: false,
    requireTLS: true,
    tls: { rejectUnauthorized: false },
    auth: { user: `alice@${DOMAIN}`, pass: PASSWORD },
  });
  const raw = message({
    from: `alice@${DOMAIN}`,
    to: `bob@${DOMAIN}`,
    subject: 'nodemailer',
    body: '..two dots\r\n.\r\nend\r\n',
  });
  const info = await transport.sendMail({ envelope: { from: `alice@${DOMAIN}`, to: [`bob@${DOMAIN}`] }, raw });
  assert.match(info.response, /^250 2\.0\.0 /);
  transport.close();
  const { trace, rest } = await last(`bob@${DOMAIN}`);
  assert.equal(rest.toString(), raw);
  assert.match(trace, /with ESMTPSA id/);
});

test('nodemailer over implicit TLS (submissions)', async () => {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.submissions,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user: `bob@${DOMAIN}`, pass: PASSWORD },
  });
  const raw = message({ from: `bob@${DOMAIN}`, to: `alice@${DOMAIN}`, subject: 'implicit tls' });
  await transport.sendMail({ envelope: { from: `bob@${DOMAIN}`, to: [`alice@${DOMAIN}`] }, raw });
  transport.close();
  const { trace, rest } = await last(`alice@${DOMAIN}`);
  assert.equal(rest.toString(), raw);
  assert.match(trace, /with ESMTPSA id/);
});

test('a whole pipelined transaction in one write (RFC 2920), two messages back to back', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO pipe.test');
  const m1 = message({ subject: 'pipe 1' });
  const m2 = message({ subject: 'pipe 2', to: `bob@${DOMAIN}` });
  c.write(`MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@${DOMAIN}>\r\nRCPT TO:<nobody@${DOMAIN}>\r\nDATA\r\n`);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 550);
  assert.equal((await c.read()).code, 354);
  c.write(`${m1}.\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<bob@${DOMAIN}>\r\nDATA\r\n`);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 354);
  c.write(`${m2}.\r\nQUIT\r\n`);
  assert.match((await c.read()).raw, /^250 2\.0\.0/);
  assert.equal((await c.read()).code, 221);
  assert.equal((await last(`alice@${DOMAIN}`)).rest.toString(), m1);
  assert.equal((await last(`bob@${DOMAIN}`)).rest.toString(), m2);
});

test('a transaction and QUIT pipelined before the client FIN (half-close): every reply is sent, 221 last', async () => {
  const live = () => t.server.listeners.find((l) => l.name === 'smtp')!.sessions.size;
  const before = live();
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  const m = message({ subject: 'half-close' });
  // Everything in one write, then shutdown(SHUT_WR), as `nc -N` or a script does.
  c.socket.end(`EHLO fin.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@${DOMAIN}>\r\nDATA\r\n${m}.\r\nQUIT\r\n`);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 250);
  assert.equal((await c.read()).code, 354);
  assert.match((await c.read()).raw, /^250 2\.0\.0 OK: queued/, 'the client hears that its message was taken');
  assert.equal((await c.read()).code, 221);
  await c.closedByServer();
  assert.equal((await last(`alice@${DOMAIN}`)).rest.toString(), m);
  for (let i = 0; i < 250 && live() > before; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(live() <= before, `${live() - before} half-closed sessions linger`);
});

test('BDAT: chunks with binary content and a pipelined LAST arrive byte-exact (RFC 3030)', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  const ehlo = await c.expect(250, 'EHLO chunk.test');
  assert.ok(ehlo.lines.includes('CHUNKING') && ehlo.lines.includes('BINARYMIME'));
  const head = Buffer.from(message({ subject: 'bdat', body: '' }));
  const body = Buffer.from([0, 1, 2, 13, 10, 46, 13, 10, 255, 10, 46, 10, 13, 13, 10]);
  const whole = Buffer.concat([head, body]);
  await c.expect(250, 'MAIL FROM:<a@remote.test> BODY=BINARYMIME');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(503, 'DATA', /BDAT/);
  c.write(
    Buffer.concat([Buffer.from(`BDAT ${head.length}\r\n`), head, Buffer.from(`BDAT ${body.length} LAST\r\n`), body]),
  );
  assert.match((await c.read()).raw, new RegExp(`^250 2\\.0\\.0 ${head.length} octets`));
  assert.match((await c.read()).raw, /^250 2\.0\.0 OK/);
  // BDAT 0 LAST with nothing before it is an empty message; refused chunks are still read.
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  c.write('BDAT 5\r\nxxxxxNOOP\r\n');
  assert.match((await c.read()).raw, /^554 5\.5\.1/);
  assert.equal((await c.read()).code, 250, 'the 5 octets were skipped, NOOP read as a command');
  await c.expect(221, 'QUIT');
  assert.deepEqual((await last(`alice@${DOMAIN}`)).rest, whole);
});

test('BDAT: the command line and its chunk split across TCP segments anywhere arrive byte-exact', async () => {
  const m = message({ subject: 'bdat in pieces' });
  const wire = `BDAT ${m.length} LAST\r\n${m}NOOP\r\n`;
  // Cut inside the verb, inside the size, at the CRLF, inside the chunk, and just before the next command.
  const cuts = [2, 7, wire.indexOf('\r\n') + 1, wire.indexOf('\r\n') + 20, wire.length - 6];
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO split.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    c.write(wire.slice(from, to));
    from = to;
    await new Promise((r) => setTimeout(r, 30)); // each piece its own segment
  }
  assert.match((await c.read()).raw, /^250 2\.0\.0 OK/);
  assert.equal((await c.read()).code, 250, 'NOOP after the chunk is read as a command');
  c.close();
  assert.equal((await last(`alice@${DOMAIN}`)).rest.toString(), m);
});
