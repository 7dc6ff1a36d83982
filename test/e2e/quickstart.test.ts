// `npm start` as a new user meets it: first start bootstraps and gives the password once (printed on a
// terminal, else written to data/admin-password), /healthz and /readyz answer, SIGTERM stops cleanly; a
// second start reuses ./data and gives no password.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { RawImap } from '../helpers/imap-client.ts';
import { peer } from '../helpers/peers.ts';

const exec = promisify(execFile);

const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-quick-'));
/** Every server started: a failed assertion must not leave one running (the test run would never end). */
const started = new Set<ChildProcess>();
after(() => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const PORT_NAMES = ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'HTTP'];

/** Starts `petrel serve` in `cwd` with every port chosen by the OS; resolves with the ports it logged. */
function start(cwd = dir): Promise<{
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  stdout: () => string;
}> {
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  for (const l of PORT_NAMES) env[`PETREL_LISTENERS_${l}_PORT`] = '0';
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd, env });
  started.add(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  return new Promise((resolvePorts, reject) => {
    const timer = setTimeout(() => reject(new Error(`not started within 30 s:\n${out}\n${err}`)), 30000);
    child.stdout!.on('data', (b) => {
      out += b;
      for (const line of out.split('\n')) {
        if (!line.includes('"petrel started"')) continue;
        clearTimeout(timer);
        resolvePorts({ child, ports: JSON.parse(line).ports, stderr: () => err, stdout: () => out });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}:\n${out}\n${err}`)));
  });
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((r) => {
    child.once('exit', (code) => r(code));
    child.kill('SIGTERM');
  });
}

/** Whether IMAP LOGIN as `user` with `password` succeeds on 127.0.0.1:port (plain IMAP from loopback). */
async function imapLogin(port: number, user: string, password: string): Promise<boolean> {
  const { c } = await RawImap.open(port);
  try {
    return (await c.cmd(`LOGIN ${user} "${password}"`)).tagged.includes(' OK ');
  } finally {
    c.close();
  }
}

test('first start: bootstrap, health, readiness, clean SIGTERM; second start reuses the data', async () => {
  const s = await start();
  assert.match(s.stderr(), /created domain localhost and administrator admin@localhost/);
  // Not a terminal (a service manager's journal keeps stderr for months): the password goes to a file only
  // this user can read, and stderr says where.
  const file = join(dir, 'data', 'admin-password');
  assert.ok(s.stderr().includes(`Password: in ${file} (`), s.stderr());
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const pw = readFileSync(file, 'utf8').trim();
  assert.ok(pw.length >= 12);
  assert.ok(!s.stdout().includes(pw), 'the password never reaches the logs');
  assert.ok(!s.stderr().includes(pw), 'nor stderr');
  assert.ok(await imapLogin(s.ports.imap, 'admin@localhost', pw), 'the password in the file signs in');
  // The records to publish are the whole set (MX, SPF, DMARC, DKIM, SRV...): `dkim show` prints DKIM only.
  assert.match(s.stderr(), /DNS records to publish: npx petrel domain records localhost/);
  const health = await fetch(`http://127.0.0.1:${s.ports.http}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  assert.equal((await fetch(`http://127.0.0.1:${s.ports.http}/readyz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${s.ports.http}/nope`)).status, 404);
  assert.ok(existsSync(join(dir, 'data', 'petrel.db')));
  assert.ok(existsSync(join(dir, 'data', 'tls', 'self-signed.crt')) || !s.ports.imaps, 'TLS material made when needed');

  // Another account's new password leaves the file; the administrator's removes it (it would be stale).
  await exec(process.execPath, [BIN, 'account', 'add', 'eve@localhost', '--password', 'eve-pw-1'], { cwd: dir });
  await exec(process.execPath, [BIN, 'account', 'passwd', 'eve@localhost', '--password', 'eve-pw-2'], { cwd: dir });
  assert.ok(existsSync(file), "another account's password change keeps the file");
  const passwd = await exec(process.execPath, [BIN, 'account', 'passwd', 'admin@localhost', '--password', 'new-pw'], {
    cwd: dir,
  });
  assert.ok(!existsSync(file), `the file goes with the first password: ${passwd.stdout}${passwd.stderr}`);
  assert.ok(await imapLogin(s.ports.imap, 'admin@localhost', 'new-pw'));
  assert.equal(await stop(s.child), 0);
  assert.match(s.stdout(), /"msg":"stopped"/);

  const again = await start();
  assert.doesNotMatch(again.stderr(), /Password/);
  assert.ok(!existsSync(file), 'a later start writes no password file');
  assert.equal(await stop(again.child), 0);
});

const script = peer('script', 'bsdutils');

test('on a terminal the first password is printed once and no file is written', { skip: script.skip }, async () => {
  // script(1) gives the command a pseudo-terminal, as a user typing `npm start` (here `account add`, which
  // bootstraps the same way and exits) has; its output is what the terminal shows.
  const cwd = mkdtempSync(join(dir, 'tty-'));
  const cmd = `'${process.execPath}' '${BIN}' account add bob@localhost --password bob-pw`;
  const r = await exec(script.path!, ['-q', '-e', '-c', cmd, '/dev/null'], { cwd });
  assert.match(r.stdout, /created domain localhost and administrator admin@localhost/);
  const pw = /Password \(shown only now\): (\S+)/.exec(r.stdout)?.[1];
  assert.ok(pw && pw.length >= 12, r.stdout);
  assert.ok(!existsSync(join(cwd, 'data', 'admin-password')));
  const s = await start(cwd);
  try {
    assert.ok(await imapLogin(s.ports.imap, 'admin@localhost', pw!), 'the printed password signs in');
  } finally {
    assert.equal(await stop(s.child), 0);
  }
});

/** A TCP server on a port the OS chooses (a port to hold, or to learn a free one and close). */
function listen(): Promise<Server & { port: number }> {
  const s = createServer((c) => c.destroy());
  return new Promise((r) =>
    s.listen(0, '127.0.0.1', () => r(Object.assign(s, { port: (s.address() as { port: number }).port }))),
  );
}

/** The first bytes a server on 127.0.0.1:port sends, or the connect error code. */
function probe(port: number): Promise<string> {
  return new Promise((r) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('data', (d) => {
      s.destroy();
      r(d.toString());
    });
    s.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error'));
  });
}

/**
 * Runs `petrel serve` with the SMTP listener on `smtpPort` and `env`; once it has said why it cannot start
 * (stderr names `reason`), asks the SMTP port, then waits for the process to end (unless SMTP still answers).
 */
async function failedStart(
  env: Record<string, string>,
  smtpPort: number,
  reason: string,
): Promise<{ code: number | null; greeting: string; stderr: string }> {
  const e: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const l of PORT_NAMES) e[`PETREL_LISTENERS_${l}_PORT`] = '0';
  Object.assign(e, { PETREL_LISTENERS_SMTP_PORT: String(smtpPort) }, env);
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: mkdtempSync(join(dir, 'fail-')), env: e });
  started.add(child);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let err = '';
  await new Promise<void>((r) => {
    child.stderr!.on('data', (b) => {
      err += b;
      if (err.includes(reason)) r();
    });
    void exited.then(() => r());
  });
  const greeting = await probe(smtpPort);
  if (/^220 /.test(greeting)) child.kill('SIGKILL');
  return { code: await exited, greeting, stderr: err };
}

test('a start that fails (a bad value, a port in use) exits 1 and leaves nothing accepting mail', {
  timeout: 60000,
}, async () => {
  // A value only read when the server starts: refused before any listener is bound.
  const free = await listen();
  free.close();
  const bad = await failedStart({ PETREL_TLS_WATCH_INTERVAL: 'every minute' }, free.port, 'tls.watch_interval');
  assert.doesNotMatch(bad.greeting, /^220 /, 'SMTP answers after serve failed');
  assert.equal(bad.code, 1, bad.stderr);
  // A port held by another process: the SMTP listener was already up and is shut again.
  const held = await listen();
  const smtp = await listen();
  smtp.close();
  try {
    const busy = await failedStart({ PETREL_LISTENERS_SUBMISSION_PORT: String(held.port) }, smtp.port, 'EADDRINUSE');
    assert.doesNotMatch(busy.greeting, /^220 /, 'SMTP answers after serve failed');
    assert.equal(busy.code, 1, busy.stderr);
  } finally {
    held.close();
  }
});
