// The maildrop lock across nodes (RFC 1939 section 4): two Petrel servers on one PostgreSQL database, as
// stateless replicas run. A POP3 session on one node makes the other answer [IN-USE]; QUIT or a dropped
// connection frees it for the other node at once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const url = pgTestUrl();
const skip = url ? undefined : PG_SKIP_REASON;
let a: Pop3Env;
let b: TestServer;

before(async () => {
  if (skip) return;
  a = await startPop3Env({ backend: 'postgres', pgUrl: url });
  // The second node: same database (schema), its own process state.
  b = await startTestServer({
    configure: (c) => {
      for (const [name, l] of Object.entries(c.listeners)) if (name !== 'pop3') l.enabled = false;
      c.store.backend = 'postgres';
      c.store.postgres_url = a.srv.app.config.store.postgres_url;
    },
  });
  await a.deliver(message('on node a'));
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

async function login(port: number): Promise<{ c: Pop3Client; reply: string }> {
  const c = await Pop3Client.open(port);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  return { c, reply: await c.cmd(`PASS ${PASS}`) };
}

/** Logs in on a node, retrying while the other node's release is on its way to the database. */
async function loginWhenFree(port: number): Promise<Pop3Client> {
  for (let i = 0; ; i++) {
    const { c, reply } = await login(port);
    if (reply.startsWith('+OK')) return c;
    c.destroy();
    assert.ok(i < 40, `still in use after ${i} tries: ${reply}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('a POP3 session on one node locks the maildrop on the other; QUIT and a drop free it', { skip }, async () => {
  const onA = await login(a.pop3);
  assert.match(onA.reply, /^\+OK Logged in, 1 message/);
  const onB = await login(b.ports.pop3);
  assert.equal(onB.reply, '-ERR [IN-USE] Maildrop is in use by another POP3 session');
  onB.c.destroy();

  assert.match(await onA.c.cmd('QUIT'), /^\+OK/);
  onA.c.destroy();
  const b2 = await loginWhenFree(b.ports.pop3);
  assert.equal(await b2.cmd('STAT'), `+OK 1 ${message('on node a').length}`);
  const again = await login(a.pop3);
  assert.equal(again.reply, '-ERR [IN-USE] Maildrop is in use by another POP3 session');
  again.c.destroy();

  b2.destroy(); // dropped, not QUIT: the lock goes with the session
  const a2 = await loginWhenFree(a.pop3);
  assert.match(await a2.cmd('QUIT'), /^\+OK/);
  a2.destroy();
});
