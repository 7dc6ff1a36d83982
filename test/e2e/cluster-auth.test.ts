// Sign-in on two `petrel serve` processes sharing one PostgreSQL (PETREL_TEST_PG_URL), each with a data
// directory of its own: nothing a node answers may tell which accounts exist by differing from another's,
// and the brute-force limiter counts the failures of every node (a cluster allows no more guesses than
// one node would).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { appendCmd, msg } from '../imap/fixture.ts';
import { type Cluster, startCluster } from './cluster.ts';

const url = pgTestUrl();
let cl: Cluster;

before(async () => {
  if (!url) return;
  cl = await startCluster(url, 2, {
    env: {
      PETREL_SECURITY_MAX_FAILURES_PER_ACCOUNT: '3',
      PETREL_SECURITY_MAX_FAILURES_PER_IP: '1000',
      PETREL_SECURITY_FAILURE_DELAY_MS: '5',
    },
    seed: async (app) => {
      await app.directory.addDomain('example.com');
      for (const u of ['real', 'victim', 'watcher']) await app.directory.addAccount(`${u}@example.com`, 'secret');
    },
  });
});
after(() => cl?.stop());

/** The salt a node's SCRAM-SHA-256 server-first message gives for a user name (the exchange is then cancelled). */
async function scramSalt(node: number, user: string): Promise<string> {
  const { c } = await RawImap.open(cl.nodes[node].ports.imap);
  try {
    c.send(`a AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(`n,,n=${user},r=abcdefghijklmnop`).toString('base64')}\r\n`);
    const challenge = await c.line();
    assert.match(challenge, /^\+ /);
    const serverFirst = Buffer.from(challenge.slice(2), 'base64').toString();
    c.send('*\r\n');
    await c.until('a');
    return /,s=([^,]+),/.exec(serverFirst)![1];
  } finally {
    c.close();
  }
}

describe('two nodes on one PostgreSQL', { skip: url ? undefined : PG_SKIP_REASON }, () => {
  test('an unknown user gets the same SCRAM salt from every node, as a real one does', async () => {
    assert.equal(await scramSalt(0, 'real@example.com'), await scramSalt(1, 'real@example.com'));
    // Salts that differed here and agreed for real accounts would tell an attacker which names exist.
    assert.equal(await scramSalt(0, 'nobody@example.com'), await scramSalt(1, 'nobody@example.com'));
  });

  test('failures counted on node B lock the account on node A too; its known-good IPs still sign in there', async () => {
    const login = async (node: number, from: string, password: string) => {
      const { c } = await RawImap.open(cl.nodes[node].ports.imap, { localAddress: from });
      try {
        return (await c.cmd(`LOGIN victim@example.com ${password}`)).tagged;
      } finally {
        c.close();
      }
    };
    // The owner's usual address, known good from a sign-in on node B.
    assert.match(await login(1, '127.0.0.4', 'secret'), /OK/);
    // A watcher in IDLE on node A: a change made through node B after the failures reaches it after them
    // (one connection hears both, in the order they were sent), so the test need not guess a delay.
    const { c: w } = await RawImap.open(cl.nodes[0].ports.imap);
    const { c: b } = await RawImap.open(cl.nodes[1].ports.imap);
    try {
      assert.match((await w.cmd('LOGIN watcher@example.com secret')).tagged, /OK/);
      assert.match((await b.cmd('LOGIN watcher@example.com secret')).tagged, /OK/);
      await w.cmd('SELECT INBOX');
      w.send('i IDLE\r\n');
      assert.equal(await w.line(), '+ idling');
      for (let i = 0; i < 3; i++) assert.match(await login(1, '127.0.0.2', 'wrong'), /NO \[AUTHENTICATIONFAILED\]/);
      assert.match((await b.cmd(appendCmd('INBOX', msg('after the failures')))).tagged, /OK/);
      for (;;) if (/EXISTS$/.test(await w.line(20000))) break;
      // Node A counted none of them itself: a password from a new address is refused unchecked.
      assert.match(await login(0, '127.0.0.3', 'secret'), /NO \[UNAVAILABLE\]/);
      assert.match(await login(0, '127.0.0.4', 'secret'), /OK/);
    } finally {
      w.close();
      b.close();
    }
  });
});
