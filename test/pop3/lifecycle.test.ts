// POP3 across server lifetimes and limits: UIDL stable across a restart, the shutdown goodbye (which commits
// no DELE), the idle timeout (closes without a reply, RFC 1939 section 3; also for a client that stops
// reading), connection limits.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { openApp } from '../../src/server/app.ts';
import { serve } from '../../src/server/serve.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

async function login(port: number): Promise<Pop3Client> {
  const c = await Pop3Client.open(port);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
  return c;
}

/** A raw socket that keeps what the server sends (the test decides when to stop reading). */
async function rawConnect(port: number): Promise<{ s: Socket; data: () => string }> {
  const s = await new Promise<Socket>((resolve, reject) => {
    const c = connect({ port, host: '127.0.0.1' }, () => resolve(c));
    c.once('error', reject);
  });
  let buf = '';
  s.on('data', (d: Buffer) => {
    buf += d.toString('latin1');
  });
  s.on('error', () => {});
  return { s, data: () => buf };
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

/** Live sessions on the pop3 listener (one leaves the set when its socket closes on our side). */
function pop3Sessions(env: Pop3Env): number {
  return env.srv.server.listeners.find((l) => l.name === 'pop3')!.sessions.size;
}

async function uidl(c: Pop3Client): Promise<string[]> {
  assert.equal(await c.cmd('UIDL'), '+OK Unique-id listing follows');
  return c.lines();
}

test('shutdown says -ERR goodbye and commits no DELE; UIDLs are the same after a restart', async () => {
  const env = await startPop3Env();
  await env.deliver(message('one'), message('two'), message('three'));
  const c = await login(env.pop3);
  const before = await uidl(c);
  assert.equal(before.length, 3);
  assert.equal(await c.cmd('DELE 2'), '+OK Message 2 deleted');

  // Stop the server (not the test helper's stop(): it would remove the data directory).
  const config = env.srv.app.config;
  await env.srv.server.stop();
  assert.equal(await c.line(), '-ERR [SYS/TEMP] Server shutting down, try again later');
  await c.closed();

  const app = await openApp(config, silentLogger);
  const server = await serve(app);
  try {
    const d = await login(server.ports.pop3);
    assert.deepEqual(await uidl(d), before, 'same messages, same unique ids');
    assert.equal(await d.cmd('DELE 1'), '+OK Message 1 deleted');
    assert.equal(await d.cmd('QUIT'), '+OK Petrel POP3 server signing off (2 messages left)');
    const e = await login(server.ports.pop3);
    assert.deepEqual(
      await uidl(e),
      before.slice(1).map((l, i) => l.replace(/^\d+/, String(i + 1))),
    );
    e.destroy();
  } finally {
    await server.stop();
    rmSync(config.server.data_dir, { recursive: true, force: true });
  }
});

test('a new password, a removal or a disabling ends the POP3 session with -ERR [AUTH], no UPDATE: DELE marks stay unapplied', async () => {
  const env = await startPop3Env();
  try {
    await env.deliver(message('one'), message('two'));
    const dir = env.srv.app.directory;
    const app = await env.srv.app.auth.createAppPassword(USER, 'phone', null);

    // A new password: the session made with the old one ends, its deletion not applied (RFC 1939 section 6:
    // only QUIT enters UPDATE).
    let c = await login(env.pop3);
    assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
    await dir.setPassword(USER, 'new horse');
    assert.match(await c.line(), /^-ERR \[AUTH\] /);
    await c.closed();
    c = await Pop3Client.open(env.pop3);
    assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
    assert.match(await c.cmd('PASS new horse'), /^\+OK Logged in, 2 messages/, 'the lock was freed, nothing deleted');

    // One made with an app password goes on (it is its own credential) until that is revoked.
    c.destroy();
    const byApp = await Pop3Client.open(env.pop3);
    assert.equal(await byApp.cmd(`USER ${USER}`), '+OK Send your password');
    assert.match(await byApp.cmd(`PASS ${app.password}`), /^\+OK Logged in/);
    await dir.setPassword(USER, PASS);
    assert.match(await byApp.cmd('STAT'), /^\+OK 2 /);
    assert.equal(await byApp.cmd('DELE 2'), '+OK Message 2 deleted');
    await env.srv.app.auth.revokeAppPassword(USER, app.id);
    assert.match(await byApp.line(), /^-ERR \[AUTH\] /);
    await byApp.closed();

    // Disabled, then removed: every session ends.
    for (const change of [() => dir.setDisabled(USER, true), () => dir.removeAccount(USER)]) {
      const d = await login(env.pop3);
      assert.match(await d.cmd('STAT'), /^\+OK 2 /);
      await change();
      assert.match(await d.line(), /^-ERR \[AUTH\] /);
      await d.closed();
      if (pop3Sessions(env) > 0) assert.ok(await waitFor(() => pop3Sessions(env) === 0, 5000));
      await dir.setDisabled(USER, false).catch(() => {});
    }
  } finally {
    await env.stop();
  }
});

test('idle timeout: the connection closes with no response; a command in time keeps it open', async () => {
  const env = await startPop3Env({ configure: (c) => (c.pop3.idle_timeout_ms = 1000) });
  try {
    const c = await Pop3Client.open(env.pop3);
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
    await c.lines();
    const start = Date.now();
    await c.closed(5000);
    assert.ok(Date.now() - start >= 900, 'closed only after the idle time');
    assert.equal(c.pending, '', 'RFC 1939 section 3: no response on autologout');
  } finally {
    await env.stop();
  }
});

test('connection limit per IP: the connection over the limit gets -ERR [SYS/TEMP] and is closed', async () => {
  const env = await startPop3Env({ configure: (c) => (c.pop3.max_connections_per_ip = 2) });
  try {
    const a = await Pop3Client.open(env.pop3);
    const b = await Pop3Client.open(env.pop3);
    const c = await Pop3Client.open(env.pop3);
    assert.equal(c.greeting, '-ERR [SYS/TEMP] Too many connections, try again later');
    await c.closed();
    a.destroy();
    b.destroy();
  } finally {
    await env.stop();
  }
});

test('a client that stops reading is dropped at the idle timeout, between commands too: the lock is freed', async () => {
  const env = await startPop3Env({ configure: (c) => (c.pop3.idle_timeout_ms = 1000) });
  try {
    // About 48 KB: each RETR reply is under the 64 KB batch, so it goes out in the flush between commands,
    // where no read is pending for the idle timeout to fail.
    await env.deliver(message('stall', `${'y'.repeat(76)}\r\n`.repeat(620)));
    const c = await rawConnect(env.pop3);
    c.s.write(`USER ${USER}\r\nPASS ${PASS}\r\n`);
    assert.ok(await waitFor(() => c.data().includes('Logged in'), 10000), 'logged in');
    c.s.pause();
    // Bounded: at most 600 RETRs (about 29 MB of replies), until our side stops taking them.
    for (let i = 0; i < 600 && c.s.write('RETR 1\r\n'); i++) await new Promise((r) => setTimeout(r, 5));
    // Checked on the server side: a client that does not read may never see the close.
    const gone = await waitFor(() => pop3Sessions(env) === 0, 20000);
    c.s.destroy();
    assert.ok(gone, 'the stalled session is still live');
    const d = await login(env.pop3); // no [IN-USE]: the maildrop lock went with the session
    d.destroy();
  } finally {
    await env.stop();
  }
});

test('before login too: a client that pipelines CAPA and never reads is dropped at the idle timeout', async () => {
  const env = await startPop3Env({ configure: (c) => (c.pop3.idle_timeout_ms = 1000) });
  try {
    const c = await rawConnect(env.pop3);
    assert.ok(await waitFor(() => c.data().includes('\r\n'), 5000), 'greeting');
    c.s.pause();
    // Batches of 100 CAPA (about 15 KB of replies, under the 64 KB batch): written between commands.
    const batch = 'CAPA\r\n'.repeat(100);
    for (let i = 0; i < 1500 && c.s.write(batch); i++) await new Promise((r) => setTimeout(r, 3));
    const gone = await waitFor(() => pop3Sessions(env) === 0, 20000);
    c.s.destroy();
    assert.ok(gone, 'the unauthenticated stalled session is still live');
  } finally {
    await env.stop();
  }
});
