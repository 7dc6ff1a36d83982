// The main POP3 flow on PostgreSQL: login, STAT/LIST/UIDL, byte-exact RETR of bare-LF and dotted content,
// DELE + QUIT committed as an expunge others hear, [IN-USE], a dropped session deleting nothing.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { MailEvent } from '../../src/core/ports.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

const url = pgTestUrl();
const skip = url ? undefined : PG_SKIP_REASON;
let env: Pop3Env;
before(async () => {
  if (skip) return;
  env = await startPop3Env({ backend: 'postgres', pgUrl: url });
});
after(() => env?.stop());

async function login(): Promise<Pop3Client> {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in/);
  return c;
}

test('POP3 on PostgreSQL: list, retrieve exactly, delete on QUIT only', { skip }, async () => {
  const m1 = message('pg one');
  const bare = 'Subject: pg bare\n\n.dot\nline\n';
  const wire2 = bare.replace(/\n/g, '\r\n');
  await env.deliver(m1, bare, message('pg six'));
  const mb = (await env.srv.app.store.getMailbox(env.accountId, 'INBOX'))!;

  const c = await login();
  assert.equal(await c.cmd('LIST'), `+OK 3 messages (${2 * m1.length + wire2.length} octets)`);
  assert.deepEqual(await c.lines(), [`1 ${m1.length}`, `2 ${wire2.length}`, `3 ${m1.length}`]);
  assert.equal(await c.cmd('UIDL'), '+OK Unique-id listing follows');
  assert.deepEqual(
    await c.lines(),
    [1, 2, 3].map((n) => `${n} ${mb.uidValidity}.${n}`),
  );
  assert.equal(await c.cmd('RETR 2'), `+OK ${wire2.length} octets`);
  assert.equal((await c.untilTerminator()).toString(), `${wire2.replace('\r\n.dot', '\r\n..dot')}.\r\n`);

  const other = await Pop3Client.open(env.pop3);
  await other.cmd(`USER ${USER}`);
  assert.equal(await other.cmd(`PASS ${PASS}`), '-ERR [IN-USE] Maildrop is in use by another POP3 session');
  other.destroy();

  assert.equal(await c.cmd('DELE 2'), '+OK Message 2 deleted');
  c.destroy(); // dropped: nothing deleted
  for (let i = 0; i < 100; i++) {
    const d = await Pop3Client.open(env.pop3);
    await d.cmd(`USER ${USER}`);
    if ((await d.cmd(`PASS ${PASS}`)).startsWith('+OK')) {
      assert.equal(await d.cmd('STAT'), `+OK 3 ${2 * m1.length + wire2.length}`);
      const events: MailEvent[] = [];
      const off = env.srv.app.events.subscribe(env.accountId, (e) => events.push(e));
      assert.equal(await d.cmd('DELE 1'), '+OK Message 1 deleted');
      assert.equal(await d.cmd('QUIT'), '+OK Petrel POP3 server signing off (2 messages left)');
      off();
      assert.deepEqual(
        events.map((e) => e.kind),
        ['expunge'],
      );
      assert.deepEqual(await env.srv.app.store.listUids(mb.id), [2, 3]);
      return;
    }
    d.destroy();
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail('the dropped session never released its lock');
});
