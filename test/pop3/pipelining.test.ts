// What a pipelining client costs the server (RFC 2449 section 6.6): every connection shares one event loop, so
// a command a few octets long must cost what its answer costs, not a walk of the whole maildrop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Maildrop } from '../../src/pop3/maildrop.ts';
import type { Pop3Session } from '../../src/pop3/session.ts';
import { firstSlice } from '../helpers/pipeline.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const MESSAGES = 1000;
let env: Pop3Env;
before(async () => {
  env = await startPop3Env();
  const deliveries: Promise<void>[] = [];
  for (let i = 0; i < MESSAGES; i++) deliveries.push(env.deliver(message(`m${String(i).padStart(4, '0')}`)));
  await Promise.all(deliveries);
});
after(() => env.stop());

async function login(): Promise<Pop3Client> {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
  return c;
}

// STAT and RSET walked every message of the maildrop for a six-octet command: 2,000 pipelined STATs on a
// 20,000-message maildrop held the event loop (every connection of every protocol) for 2 s, a 1 MB pipeline
// for minutes.
test('STAT and RSET do not walk the maildrop: their answers come from counts kept as DELE and RSET change them', async () => {
  const size = message('m0000').length;
  const live = Maildrop.prototype.live;
  let visited = 0;
  Maildrop.prototype.live = function* (this: Maildrop) {
    for (const x of live.call(this)) {
      visited++;
      yield x;
    }
  };
  try {
    const c = await login();
    const rounds = 200;
    c.write('STAT\r\nDELE 2\r\nDELE 5\r\nSTAT\r\nRSET\r\n'.repeat(rounds));
    for (let i = 0; i < rounds; i++) {
      assert.equal(await c.line(), `+OK ${MESSAGES} ${MESSAGES * size}`);
      assert.equal(await c.line(), '+OK Message 2 deleted');
      assert.equal(await c.line(), '+OK Message 5 deleted');
      assert.equal(await c.line(), `+OK ${MESSAGES - 2} ${(MESSAGES - 2) * size}`);
      assert.equal(await c.line(), `+OK Maildrop has ${MESSAGES} messages (${MESSAGES * size} octets)`);
    }
    assert.ok(visited <= MESSAGES, `${visited} messages visited for ${3 * rounds} STAT and RSET`);
    // The counts agree with the listing.
    assert.equal(await c.cmd('DELE 1000'), '+OK Message 1000 deleted');
    assert.equal(await c.cmd('DELE 1000'), '-ERR Message 1000 is marked as deleted');
    assert.equal(await c.cmd('LIST'), `+OK ${MESSAGES - 1} messages (${(MESSAGES - 1) * size} octets)`);
    assert.equal((await c.lines()).length, MESSAGES - 1);
    assert.equal(await c.cmd('STAT'), `+OK ${MESSAGES - 1} ${(MESSAGES - 1) * size}`);
    c.destroy();
  } finally {
    Maildrop.prototype.live = live;
  }
});

// The session answered a whole pipeline without giving the event loop back: every other connection of
// every protocol waited for it (a client streaming NOOPs added half a second to everyone's replies).
test('a buffered pipeline is answered in slices: other work waiting on the event loop runs in between', async () => {
  const a = await login();
  const listener = env.srv.server.listeners.find((l) => l.name === 'pop3')!;
  const session = [...listener.sessions].find((s) => (s as Pop3Session).state === 'transaction') as Pop3Session;
  const count = 10_000;
  // Other work, queued the moment the pipeline reaches the server: what it sees answered of the pipeline.
  const { commands, answered } = await firstSlice(
    session.conn.socket,
    (d) => a.write(d),
    'NOOP\r\n',
    '+OK\r\n'.length,
    count,
  );
  assert.ok(commands > 1000, `the pipeline arrived in pieces of ${commands} commands`);
  assert.ok(answered < commands, `all ${answered} commands at hand were answered before anything else ran`);
  for (let i = 0; i < count; i++) assert.equal(await a.line(), '+OK');
  assert.equal(await a.cmd('QUIT'), `+OK Petrel POP3 server signing off (${MESSAGES} messages left)`);
});
