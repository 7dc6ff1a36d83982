// Two `petrel serve` processes on one PostgreSQL (PETREL_TEST_PG_URL), as the replicas of a deployment:
// what a client of one node hears of changes made through the other, and writes through both at once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { RawImap } from '../helpers/imap-client.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { Pop3Client } from '../helpers/pop3.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { appendCmd, msg } from '../imap/fixture.ts';
import { type Cluster, startCluster } from './cluster.ts';

const url = pgTestUrl();
const PASSWORD = 'secret';
let cl: Cluster;
const clients: RawImap[] = [];

before(async () => {
  if (!url) return;
  cl = await startCluster(url, 2, {
    env: { PETREL_LISTENERS_LMTP_ENABLED: 'true' },
    seed: async (app) => {
      await app.directory.addDomain('example.com');
      for (const u of ['idle', 'relisten', 'noop', 'race', 'pop'])
        await app.directory.addAccount(`${u}@example.com`, PASSWORD);
    },
  });
});
after(async () => {
  for (const c of clients) c.close();
  await cl?.stop();
});

async function login(node: number, user: string): Promise<RawImap> {
  const { c } = await RawImap.open(cl.nodes[node].ports.imap);
  clients.push(c);
  const r = await c.cmd(`LOGIN ${user}@example.com ${PASSWORD}`);
  assert.match(r.tagged, /OK/);
  return c;
}

/** One message through a node's LMTP listener; its reply to the end of data. */
async function lmtp(node: number, to: string, subject: string): Promise<number> {
  const c = await RawSmtp.open(cl.nodes[node].ports.lmtp);
  try {
    await c.expect(220);
    await c.expect(250, 'LHLO cluster.test');
    await c.expect(250, 'MAIL FROM:<sender@remote.test>');
    await c.expect(250, `RCPT TO:<${to}>`);
    await c.expect(354, 'DATA');
    return (await c.cmd(`${msg(subject)}.`, 15000)).code;
  } finally {
    await c.cmd('QUIT').catch(() => {});
    c.close();
  }
}

/** Untagged lines until one matches (IDLE); generous, since no event may be needed for it. */
async function untilLine(c: RawImap, re: RegExp, ms = 20000): Promise<string> {
  const deadline = Date.now() + ms;
  for (;;) {
    const l = await c.line(Math.max(1, deadline - Date.now()));
    if (re.test(l)) return l;
  }
}

const skip = url ? undefined : PG_SKIP_REASON;

describe('two nodes on one PostgreSQL', { skip }, () => {
  test('IDLE on node A hears EXISTS, FETCH FLAGS and EXPUNGE for changes made through node B', async () => {
    const a = await login(0, 'idle');
    const b = await login(1, 'idle');
    assert.match((await b.cmd(appendCmd('INBOX', msg('first')))).tagged, /OK/);
    const sel = await a.cmd('SELECT INBOX');
    assert.ok(sel.lines.includes('* 1 EXISTS'), sel.raw);
    await b.cmd('SELECT INBOX');
    a.send('i IDLE\r\n');
    assert.equal(await a.line(), '+ idling');

    assert.equal(await lmtp(1, 'idle@example.com', 'through b'), 250);
    assert.equal(await untilLine(a, /EXISTS$/), '* 2 EXISTS');

    assert.match((await b.cmd('STORE 1 +FLAGS (\\Flagged)')).tagged, /OK/);
    assert.match(await untilLine(a, /FETCH/), /^\* 1 FETCH \(FLAGS \(\\Flagged/);

    assert.match((await b.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)')).tagged, /OK/);
    assert.match((await b.cmd('EXPUNGE')).tagged, /OK/);
    assert.equal(await untilLine(a, /EXPUNGE$/), '* 2 EXPUNGE');
    a.send('DONE\r\n');
    await a.until('i');
  });

  test('a node whose LISTEN connection was cut listens again and tells its IDLE sessions what they missed', async () => {
    const a = await login(0, 'relisten');
    const b = await login(1, 'relisten');
    await a.cmd('SELECT INBOX');
    a.send('i IDLE\r\n');
    assert.equal(await a.line(), '+ idling');
    // The nodes' listening connections, cut from the server side as a failover or a restart would.
    const schema = new URL(cl.url).searchParams.get('options')!.match(/search_path=([^,]+)/)![1];
    const channel = `petrel_mail_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const cut = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1 AND pid <> pg_backend_pid()',
        [`LISTEN "${channel}"`],
      );
      assert.ok(cut.rowCount! >= 1, 'a listening connection to cut');
    } finally {
      await admin.end();
    }
    // A change made while node A may not be listening yet: heard once it is back.
    assert.match((await b.cmd(appendCmd('INBOX', msg('while cut')))).tagged, /OK/);
    assert.equal(await untilLine(a, /EXISTS$/), '* 1 EXISTS');
    a.send('DONE\r\n');
    await a.until('i');
  });

  test('NOOP on node A reports what node B changed; HIGHESTMODSEQ agrees on both nodes', async () => {
    const a = await login(0, 'noop');
    const b = await login(1, 'noop');
    await a.cmd('ENABLE CONDSTORE');
    await b.cmd('ENABLE CONDSTORE');
    assert.match((await a.cmd(appendCmd('INBOX', msg('one')))).tagged, /OK/);
    await a.cmd('SELECT INBOX');
    await b.cmd('SELECT INBOX');
    assert.match((await b.cmd(appendCmd('INBOX', msg('two')))).tagged, /OK/);
    assert.match((await b.cmd('STORE 1 +FLAGS (\\Seen)')).tagged, /OK/);
    const noop = await a.cmd('NOOP');
    assert.ok(noop.lines.includes('* 2 EXISTS'), noop.raw);
    assert.ok(
      noop.lines.some((l) => /^\* 1 FETCH \(FLAGS \(\\Seen( \\Recent)?\) MODSEQ \(\d+\)\)$/.test(l)),
      noop.raw,
    );
    const hms = async (c: RawImap) =>
      Number(/HIGHESTMODSEQ (\d+)/.exec((await c.cmd('STATUS INBOX (HIGHESTMODSEQ)')).raw)![1]);
    assert.equal(await hms(a), await hms(b));
  });

  test('APPEND, COPY, MOVE and STORE through both nodes at once: unique increasing UIDs and MODSEQs, no errors', async () => {
    const [a, b] = [await login(0, 'race'), await login(1, 'race')];
    const [a2, b2] = [await login(0, 'race'), await login(1, 'race')];
    assert.match((await a.cmd('CREATE Other')).tagged, /OK/);
    for (let i = 0; i < 6; i++) assert.match((await a.cmd(appendCmd('INBOX', msg(`seed${i}`)))).tagged, /OK/);
    for (const c of [a2, b2]) {
      await c.cmd('ENABLE CONDSTORE');
      await c.cmd('SELECT INBOX');
    }
    const failures: string[] = [];
    const uids: number[][] = [[], []];
    // Bounded: 40 APPENDs per appender; the other two sessions STORE, COPY and MOVE as they go.
    const appending = [a, b].map(async (c, n) => {
      for (let i = 0; i < 40; i++) {
        const r = await c.cmd(appendCmd('INBOX', msg(`r${n}-${i}`)), 15000);
        const m = /APPENDUID \d+ (\d+)/.exec(r.tagged);
        if (!m) failures.push(`APPEND: ${r.tagged}`);
        else uids[n].push(Number(m[1]));
      }
    });
    const modseqs: number[][] = [[], []];
    const changing = [a2, b2].map(async (c, n) => {
      for (let i = 0; i < 20; i++) {
        for (const cmd of [
          `UID STORE 6 ${i % 2 ? '-' : '+'}FLAGS (k${n})`,
          n === 0 ? 'UID COPY 6 Other' : 'NOOP',
          n === 1 && i % 4 === 0 ? `UID MOVE ${1 + i / 4} Other` : 'NOOP',
        ]) {
          const r = await c.cmd(cmd, 15000);
          if (!/^\S+ OK/.test(r.tagged)) failures.push(`${cmd}: ${r.tagged}`);
          // Each STORE changes the message (a keyword of the session's own): its MODSEQ is the account's
          // next, taken by no other change. Its FETCH comes before any other session's (synced after it).
          const own = r.lines.find((l) => /^\* \d+ FETCH \(.*\bUID 6\b.*MODSEQ/.test(l));
          if (cmd.startsWith('UID STORE') && own) modseqs[n].push(Number(/MODSEQ \((\d+)\)/.exec(own)![1]));
        }
      }
    });
    await Promise.all([...appending, ...changing]);
    assert.deepEqual(failures, []);
    for (const u of uids) for (let i = 1; i < u.length; i++) assert.ok(u[i] > u[i - 1], `${u}`);
    assert.equal(new Set([...uids[0], ...uids[1]]).size, 80);
    for (const m of modseqs) {
      assert.equal(m.length, 20, `${m}`);
      for (let i = 1; i < m.length; i++) assert.ok(m[i] > m[i - 1], `${m}`);
    }
    assert.equal(new Set(modseqs.flat()).size, 40, `${modseqs}`);
  });

  test('a POP3 session on node A while IMAP on node B expunges: RETR, DELE and QUIT still answer +OK', async () => {
    const b = await login(1, 'pop');
    for (const x of ['p1', 'p2', 'p3']) assert.match((await b.cmd(appendCmd('INBOX', msg(x)))).tagged, /OK/);
    const p = await Pop3Client.open(cl.nodes[0].ports.pop3);
    try {
      await p.cmd('USER pop@example.com');
      assert.match(await p.cmd(`PASS ${PASSWORD}`), /^\+OK Logged in, 3 messages/);
      await b.cmd('SELECT INBOX');
      await b.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
      assert.match((await b.cmd('EXPUNGE')).tagged, /OK/);
      // The maildrop was fixed at login (RFC 1939): message 1 is still listed; its content is still there
      // until the blob is collected, or it is refused, never a broken session.
      const retr = await p.cmd('RETR 1');
      if (retr.startsWith('+OK')) assert.match((await p.untilTerminator()).toString(), /Subject: p1/);
      else assert.match(retr, /^-ERR/);
      assert.match(await p.cmd('DELE 1'), /^\+OK/);
      assert.match(await p.cmd('DELE 2'), /^\+OK/);
      assert.match(await p.cmd('QUIT'), /^\+OK/);
    } finally {
      p.destroy();
    }
    const st = await b.cmd('STATUS INBOX (MESSAGES)');
    assert.ok(st.lines.includes('* STATUS INBOX (MESSAGES 1)'), st.raw);
  });
});
