// Passwords given to `petrel account add|passwd` off the command line (where `ps` and the shell history
// would show them): `--password -` reads one line of standard input, a terminal is asked twice without
// echo. Each password is then tried over IMAP against the server the same data directory runs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { ImapClient } from '../helpers/imap-line-client.ts';
import { run } from '../helpers/run.ts';
import { startPetrel, stopPetrel } from './petrel-process.ts';

const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-cli-password-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const petrel = (cwd: string, args: string[], input = '') =>
  run(process.execPath, [BIN, ...args], { cwd, input, timeoutMs: 60_000 });

/** IMAP LOGIN over the plain loopback listener: "OK" or "NO". */
async function imapLogin(port: number, user: string, password: string): Promise<string> {
  const c = await ImapClient.open(port);
  try {
    const quote = (s: string) => `"${s.replace(/(["\\])/g, '\\$1')}"`;
    return (await c.command(`LOGIN ${quote(user)} ${quote(password)}`)).status;
  } finally {
    c.close();
  }
}

/**
 * Runs the command on a pseudo-terminal (util-linux `script`), answering each prompt once it is shown:
 * the terminal is in no-echo mode by then, so what is typed must not come back in the output.
 */
function onTerminal(cwd: string, args: string[], answers: string[]): Promise<{ code: number | null; out: string }> {
  const cmd = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd });
  let out = '';
  let asked = 0;
  child.stdout.on('data', (d) => {
    out += d;
    // Each prompt ends in ": "; answer the next one as it appears (Enter on a terminal sends CR).
    const prompts = out.match(/(Password[^\n]*|Again): $/gm)?.length ?? 0;
    while (asked < prompts && asked < answers.length) child.stdin.write(`${answers[asked++]}\r`);
  });
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((r) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      r({ code, out });
    }),
  );
}

test('--password - reads the password from standard input; a terminal is asked twice, without echo', async () => {
  const cwd = mkdtempSync(join(dir, 'run-'));
  // One line, its newline removed (CRLF too): what `printf '%s\n' "$PW" | petrel ...` sends.
  const add = await petrel(cwd, ['account', 'add', 'alice@localhost', '--password', '-'], 'from stdin 1\n');
  assert.equal(add.status, 0, add.stderr);
  assert.match(add.stdout, /^account alice@localhost added$/m, 'no generated password announced');
  const crlf = await petrel(cwd, ['account', 'add', 'carol@localhost', '--password', '-'], 'crlf pw\r\n');
  assert.equal(crlf.status, 0, crlf.stderr);
  const passwd = await petrel(cwd, ['account', 'add', 'dave@localhost', '--password', 'old-one']);
  assert.equal(passwd.status, 0, passwd.stderr);
  const change = await petrel(cwd, ['account', 'passwd', 'dave@localhost', '--password', '-'], 'changed pw\n');
  assert.equal(change.status, 0, change.stderr);
  assert.match(change.stdout, /password changed/);
  // Nothing on standard input: refused, nothing made.
  const empty = await petrel(cwd, ['account', 'add', 'erin@localhost', '--password', '-'], '');
  assert.equal(empty.status, 2, empty.stdout + empty.stderr);
  assert.match(empty.stderr, /no password on standard input/);
  // No --password and no terminal: `add` makes one and shows it once (as before); `passwd` says how.
  const gen = await petrel(cwd, ['account', 'add', 'frank@localhost']);
  assert.equal(gen.status, 0, gen.stderr);
  const generated = /; password: (\S+)$/m.exec(gen.stdout)?.[1];
  assert.ok(generated, gen.stdout);
  const bare = await petrel(cwd, ['account', 'passwd', 'frank@localhost']);
  assert.equal(bare.status, 2);
  assert.match(bare.stderr, /--password -/);

  const tty = await onTerminal(cwd, ['account', 'add', 'gina@localhost'], ['typed secret', 'typed secret']);
  assert.equal(tty.code, 0, tty.out);
  assert.match(tty.out, /account gina@localhost added/);
  assert.doesNotMatch(tty.out, /typed secret|; password:/, 'neither echoed nor generated');
  const differ = await onTerminal(cwd, ['account', 'passwd', 'gina@localhost'], ['one thing', 'another']);
  assert.equal(differ.code, 2, differ.out);
  assert.match(differ.out, /do not match/);
  // A mistyped address is reported before a password is asked for (as passwd(1) does), not after.
  for (const [args, why] of [
    [['account', 'passwd', 'nobody@localhost'], /no such account: nobody@localhost/],
    [['account', 'add', 'gina@localhost'], /account gina@localhost already exists/],
    [['account', 'add', 'hal@not-hosted.example'], /not-hosted\.example is not hosted here/],
  ] as const) {
    const early = await onTerminal(cwd, [...args], ['unused', 'unused']);
    assert.notEqual(early.code, 0, early.out);
    assert.match(early.out, why);
    assert.doesNotMatch(early.out, /Password|Again/, `${args.join(' ')}: no prompt`);
  }
  const piped = await petrel(cwd, ['account', 'passwd', 'nobody@localhost', '--password', '-'], 'pw\n');
  assert.notEqual(piped.status, 0);
  assert.match(piped.stderr, /no such account/);

  const p = await startPetrel(cwd);
  try {
    const imap = p.ports.imap;
    assert.equal(await imapLogin(imap, 'alice@localhost', 'from stdin 1'), 'OK');
    assert.equal(await imapLogin(imap, 'alice@localhost', 'from stdin 2'), 'NO');
    assert.equal(await imapLogin(imap, 'carol@localhost', 'crlf pw'), 'OK');
    assert.equal(await imapLogin(imap, 'dave@localhost', 'changed pw'), 'OK');
    assert.equal(await imapLogin(imap, 'dave@localhost', 'old-one'), 'NO');
    assert.equal(await imapLogin(imap, 'frank@localhost', generated), 'OK');
    assert.equal(await imapLogin(imap, 'gina@localhost', 'typed secret'), 'OK', 'the mismatch changed nothing');
    assert.equal(await imapLogin(imap, 'gina@localhost', 'another'), 'NO');
  } finally {
    await stopPetrel(p.child);
  }
  const none = await petrel(cwd, ['account', 'list']);
  assert.doesNotMatch(none.stdout, /erin@localhost/);
});
