// POP3 across server lifetimes and limits: UIDL stable across a restart, the shutdown goodbye (which commits
// no DELE), the idle timeout (closes without a reply, RFC 1939 section 3), connection limits.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { openApp } from '../../src/server/app.ts';
import { serve } from '../../src/server/serve.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, startPop3Env, USER } from './setup.ts';

async function login(port: number): Promise<Pop3Client> {
  const c = await Pop3Client.open(port);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
  return c;
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
