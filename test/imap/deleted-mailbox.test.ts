// A mailbox deleted by another session while this one has it selected: the session is told with an untagged
// BYE (RFC 2180 section 3.3; RFC 9051 section 7.1.5), on its next command and at once in IDLE (a SELECT of
// another mailbox just goes on), and Dovecot
// (when installed) is checked to do the same with the same two-imaplib-session script. A session that
// deletes its own selected mailbox gets the tagged OK, then BYE, as from Dovecot (same transcript on both).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RawImap } from '../helpers/imap-client.ts';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Asynchronous: the server under test runs in this process's event loop. */
const run = promisify(execFile);
const py = peer('python3', 'python3');
const dovecotPeer = peer('dovecot', 'dovecot-imapd');

interface Seen {
  status: string;
  bye: string | null;
  alive: boolean;
}
interface Outcome {
  noop: Seen;
  fetch: Seen;
  idle_start: string;
  idle: string[];
  late_idle: string[];
  away: string[];
  other: string;
}

async function script(port: number, user: string, password: string): Promise<Outcome> {
  const r = await run('python3', [join(here, 'deleted_mailbox.py'), String(port), user, password, 'Doomed'], {
    encoding: 'utf8',
    timeout: 60000,
  });
  return JSON.parse(r.stdout) as Outcome;
}

/** What both servers must agree on: the session learns of the deletion by a BYE and is closed. */
function assertTold(o: Outcome, who: string): void {
  for (const k of ['noop', 'fetch'] as const) {
    assert.ok(o[k].bye, `${who} ${k}: no BYE (${JSON.stringify(o[k])})`);
    assert.equal(o[k].alive, false, `${who} ${k}: session still open`);
  }
  assert.match(o.idle_start, /^\+ /, who);
  assert.ok(
    o.idle.some((l) => l.startsWith('* BYE')),
    `${who} IDLE: no BYE: ${o.idle.join(' | ')}`,
  );
  assert.equal(o.idle.at(-1), '<EOF>', `${who} IDLE: connection left open`);
  assert.match(o.late_idle[0], /^\+ /, `${who} late IDLE: ${o.late_idle.join(' | ')}`);
  assert.match(o.late_idle[1], /^\* BYE /, `${who} late IDLE: ${o.late_idle.join(' | ')}`);
  assert.equal(o.late_idle.at(-1), '<EOF>', who);
  assert.deepEqual(o.away, ['OK', 'OK'], `${who}: SELECT of another mailbox goes on`);
  assert.equal(o.other, 'OK', who);
}

let f: ImapFixture;
let dovecot: Dovecot | null = null;
before(async () => {
  f = await imapFixture({ users: ['alice'] });
  if (!dovecotPeer.skip && !py.skip) dovecot = await startDovecot({ users: 1 });
});
after(async () => {
  await f.stop();
  await dovecot?.stop();
});

test('a session whose selected mailbox another session deletes gets BYE: next command and IDLE', {
  skip: py.skip,
}, async () => {
  const o = await script(f.port, 'alice@example.com', 'secret');
  assertTold(o, 'petrel');
  // Not run: the FETCH after the deletion is answered by the BYE alone (the mailbox is not there to read).
  assert.equal(o.fetch.status, 'abort');
  assert.match(o.fetch.bye!, /^\[NONEXISTENT\] /);
});

test('Dovecot does the same (differential)', { skip: py.skip ?? dovecotPeer.skip }, async () => {
  assertTold(await script(dovecot!.imapPort, 'user1', 'pass'), 'dovecot');
});

/**
 * Selects (or examines) a new mailbox, DELETEs it in the same session, then sends NOOP once the DELETE is
 * answered: what follows the DELETE's tagged reply, up to NOOP's reply or the end of the connection.
 */
async function deleteOwnSelected(
  port: number,
  user: string,
  password: string,
  verb: 'SELECT' | 'EXAMINE',
): Promise<{ deleted: string; after: string[] }> {
  const { c } = await RawImap.open(port);
  try {
    assert.match((await c.cmd(`LOGIN ${user} ${password}`)).tagged, / OK /);
    assert.match((await c.cmd('CREATE Mine')).tagged, / OK /);
    assert.match((await c.cmd(`${verb} Mine`)).tagged, / OK /);
    const deleted = (await c.cmd('DELETE Mine')).tagged;
    c.send('n1 NOOP\r\n');
    const after: string[] = [];
    for (;;) {
      const l = await c.line().catch(() => '<EOF>');
      after.push(l);
      if (l === '<EOF>' || l.startsWith('n1 ')) break;
    }
    return { deleted, after };
  } finally {
    c.close();
  }
}

/** Tagged OK (the mailbox is gone), then an untagged BYE and the end of the connection: NOOP is not run. */
function assertOwnDeleteEnds(r: { deleted: string; after: string[] }, who: string): void {
  assert.match(r.deleted, /^t\d+ OK /, `${who}: ${r.deleted}`);
  assert.match(r.after[0], /^\* BYE /, `${who}: ${r.after.join(' | ')}`);
  assert.deepEqual(r.after.slice(1), ['<EOF>'], `${who}: ${r.after.join(' | ')}`);
}

test('DELETE of its own selected mailbox: tagged OK, then BYE (as Dovecot)', async () => {
  for (const verb of ['SELECT', 'EXAMINE'] as const) {
    const r = await deleteOwnSelected(f.port, 'alice@example.com', 'secret', verb);
    assertOwnDeleteEnds(r, `petrel ${verb}`);
    assert.match(r.after[0], /^\* BYE \[NONEXISTENT\] /);
    // The mailbox is really gone: a new session does not list it.
    const c = await f.login();
    assert.doesNotMatch((await c.cmd('LIST "" *')).raw, /Mine/);
    c.close();
  }
});

test('Dovecot: DELETE of its own selected mailbox (differential)', { skip: dovecotPeer.skip }, async () => {
  const dc = dovecot ?? (dovecot = await startDovecot({ users: 1 }));
  for (const verb of ['SELECT', 'EXAMINE'] as const)
    assertOwnDeleteEnds(await deleteOwnSelected(dc.imapPort, 'user1', 'pass', verb), `dovecot ${verb}`);
});
