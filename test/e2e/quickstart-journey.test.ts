// The new user's journey from the README in one test: `petrel serve` in an empty directory, `petrel
// account add` while it runs, swaks sends to that account over SMTP, Python's imaplib reads it over IMAPS
// and poplib over POP3S (self-signed certificate, no verification): the same octets both ways.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { peer } from '../helpers/peers.ts';
import { run } from '../helpers/run.ts';
import { type PetrelProcess, startPetrel, stopPetrel } from './petrel-process.ts';

const exec = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const swaks = peer('swaks', 'swaks');
const python = peer('python3', 'python3');
const dir = mkdtempSync(join(tmpdir(), 'petrel-journey-'));
let running: PetrelProcess | null = null;
after(async () => {
  if (running) await stopPetrel(running.child, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

// Reads message 1 over IMAPS and over POP3S; prints both as base64 in JSON.
const READ_BOTH = `
import base64, imaplib, json, poplib, ssl, sys
imaps, pop3s, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
M = imaplib.IMAP4_SSL('127.0.0.1', imaps, ssl_context=ctx)
M.login(user, password)
typ, data = M.select('INBOX')
count = int(data[0])
typ, data = M.fetch('1', '(BODY.PEEK[])')
imap = data[0][1]
M.logout()
P = poplib.POP3_SSL('127.0.0.1', pop3s, context=ctx)
P.user(user); P.pass_(password)
resp, lines, octets = P.retr(1)
P.quit()
pop = b'\\r\\n'.join(lines) + b'\\r\\n'
print(json.dumps({'count': count, 'octets': octets, 'imap': base64.b64encode(imap).decode(), 'pop': base64.b64encode(pop).decode()}))
`;

test('serve, account add, swaks, then imaplib (IMAPS) and poplib (POP3S) read the same octets', {
  skip: swaks.skip ?? python.skip,
  timeout: 60000,
}, async () => {
  const p = await startPetrel(dir);
  running = p;
  assert.ok(p.ports.smtp && p.ports.imaps && p.ports.pop3s, JSON.stringify(p.ports));

  // The CLI works on the same ./data while the server runs; the server sees the account at once.
  const add = await exec(process.execPath, [BIN, 'account', 'add', 'carol@localhost', '--password', 'carol-pw'], {
    cwd: dir,
  });
  assert.match(add.stdout, /account carol@localhost added/);

  const msg =
    'From: Someone <someone@remote.test>\r\nTo: carol@localhost\r\nSubject: welcome\r\n' +
    'Message-ID: <journey@remote.test>\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n' +
    'First mail.\r\n.a line with a dot\r\n\r\nBye.\r\n';
  const file = join(dir, 'msg.eml');
  writeFileSync(file, msg.slice(0, -2)); // swaks adds the final CRLF before its "."
  const sw = await run('swaks', [
    ...['--server', '127.0.0.1', '--port', String(p.ports.smtp)],
    ...['--from', 'someone@remote.test', '--to', 'carol@localhost', '--data', `@${file}`],
  ]);
  assert.equal(sw.status, 0, sw.stdout + sw.stderr);
  assert.match(sw.stdout, /<- {2}250 2\.0\.0 OK: queued as/);

  const r = await run(python.path!, [
    '-c',
    READ_BOTH,
    String(p.ports.imaps),
    String(p.ports.pop3s),
    'carol@localhost',
    'carol-pw',
  ]);
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.equal(got.count, 1);
  const imap = Buffer.from(got.imap, 'base64');
  const pop = Buffer.from(got.pop, 'base64');
  assert.ok(imap.equals(pop), `IMAP and POP3 differ:\n${imap}\n---\n${pop}`);
  assert.equal(got.octets, imap.length, 'RETR announced the octets it sent');
  const text = imap.toString();
  assert.match(text, /^Delivered-To: carol@localhost\r\nReturn-Path: <someone@remote\.test>\r\nReceived: from /);
  assert.ok(text.endsWith(`\r\n${msg}`), 'the message as swaks sent it, after the trace fields');

  assert.equal(await stopPetrel(p.child), 0);
  running = null;
});
