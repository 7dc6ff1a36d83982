// `npm start` as a new user meets it: first start bootstraps and prints a password once, /healthz and
// /readyz answer, SIGTERM stops cleanly; a second start reuses ./data and prints no password.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';

const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-quick-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts `petrel serve` with every port chosen by the OS; resolves with the ports it logged. */
function start(): Promise<{
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  stdout: () => string;
}> {
  const env: Record<string, string> = { ...process.env } as Record<string, string>;
  for (const l of ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'HTTP'])
    env[`PETREL_LISTENERS_${l}_PORT`] = '0';
  const child = spawn(process.execPath, [BIN, 'serve'], { cwd: dir, env });
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

test('first start: bootstrap, health, readiness, clean SIGTERM; second start reuses the data', async () => {
  const s = await start();
  assert.match(s.stderr(), /created domain localhost and administrator admin@localhost/);
  const pw = /Password \(shown only now\): (\S+)/.exec(s.stderr())?.[1];
  assert.ok(pw && pw.length >= 12);
  assert.doesNotMatch(s.stdout(), new RegExp(pw!), 'the password never reaches the logs');
  const health = await fetch(`http://127.0.0.1:${s.ports.http}/healthz`);
  assert.equal(health.status, 200);
  assert.deepEqual(await health.json(), { status: 'ok' });
  assert.equal((await fetch(`http://127.0.0.1:${s.ports.http}/readyz`)).status, 200);
  assert.equal((await fetch(`http://127.0.0.1:${s.ports.http}/nope`)).status, 404);
  assert.ok(existsSync(join(dir, 'data', 'petrel.db')));
  assert.ok(existsSync(join(dir, 'data', 'tls', 'self-signed.crt')) || !s.ports.imaps, 'TLS material made when needed');
  assert.equal(await stop(s.child), 0);
  assert.match(s.stdout(), /"msg":"stopped"/);

  const again = await start();
  assert.doesNotMatch(again.stderr(), /Password/);
  assert.equal(await stop(again.child), 0);
});
