// The main IMAP flow on PostgreSQL (PETREL_TEST_PG_URL): APPEND, SELECT, FETCH, STORE, SEARCH, COPY,
// MOVE, EXPUNGE, QRESYNC resync and IDLE notification, as on SQLite.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { appendCmd, type ImapFixture, imapFixture, msg, PASSWORD, parallelAppendsAtTheEdge } from './fixture.ts';

const url = pgTestUrl();
let f: ImapFixture;
before(async () => {
  if (url) f = await imapFixture({ backend: 'postgres', pgUrl: url });
});
after(() => f?.stop());

test('main flow on PostgreSQL', { skip: url ? undefined : PG_SKIP_REASON }, async () => {
  const a = await f.login();
  const b = await f.login();
  await a.cmd('ENABLE QRESYNC');
  for (const s of ['one', 'two', 'three'])
    assert.match((await a.cmd(appendCmd('INBOX', msg(s)))).tagged, /OK \[APPENDUID/);
  const sel = await a.cmd('SELECT INBOX');
  assert.ok(sel.lines.includes('* 3 EXISTS'));
  const modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.raw)![1]);
  const uidValidity = /UIDVALIDITY (\d+)/.exec(sel.raw)![1];
  const env = await a.cmd('FETCH 2 (ENVELOPE BODY.PEEK[TEXT])');
  assert.match(env.lines[0], /^\* 2 FETCH \(ENVELOPE \("Mon, 7 Feb 1994 21:52:25 -0800" "two" /);
  assert.match(env.lines[0], /BODY\[TEXT\] \{7\}\r\nhello\r\n\)$/);
  const st = await a.cmd('STORE 1 +FLAGS (\\Seen)');
  assert.match(st.lines[0], /^\* 1 FETCH \(UID 1 FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$/);
  assert.deepEqual((await a.cmd('UID SEARCH UNSEEN')).lines, ['* SEARCH 2 3']);
  assert.match((await a.cmd('COPY 1:2 Archive')).tagged, /OK \[COPYUID \d+ 1:2 1:2\]/);
  await b.cmd('SELECT INBOX');
  // IDLE on b while a moves a message away.
  b.send('i IDLE\r\n');
  assert.equal(await b.line(), '+ idling');
  const mv = await a.cmd('UID MOVE 3 Trash');
  assert.ok(mv.lines.includes('* VANISHED 3'), mv.raw);
  assert.equal(await b.line(), '* 3 EXPUNGE');
  b.send('DONE\r\n');
  await b.until('i');
  await a.cmd('STORE 2 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual((await a.cmd('EXPUNGE')).lines, ['* VANISHED 2']);
  const c = await f.login();
  await c.cmd('ENABLE QRESYNC');
  const r = await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} ${modseq}))`);
  assert.ok(r.lines.includes('* VANISHED (EARLIER) 2:3'), r.raw);
  assert.ok(
    r.lines.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \(\\Seen\) MODSEQ \(\d+\)\)$/.test(l)),
    r.raw,
  );
  assert.deepEqual((await c.cmd('STATUS Archive (MESSAGES)')).lines, ['* STATUS Archive (MESSAGES 2)']);
  a.close();
  b.close();
  c.close();
});

test('DELETE of a mailbox while other sessions APPEND to it leaves the account usage equal to what it holds', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const acc = await f.srv.app.directory.addAccount('deleter@example.com', PASSWORD);
  const a = await f.login('deleter@example.com');
  const writers = await Promise.all([1, 2, 3, 4].map(() => f.login('deleter@example.com')));
  let n = 0;
  let used = 0;
  let held = 0;
  // Bounded: up to 10 rounds of CREATE, appends from four sessions, DELETE while they go on.
  for (let round = 0; round < 10 && used === held; round++) {
    assert.match((await a.cmd('CREATE Box')).tagged, /OK/);
    let stop = false;
    let appended = 0;
    const loops = writers.map(async (w) => {
      while (!stop) {
        await w.cmd(appendCmd('Box', msg(`del${n++}`)));
        appended++;
      }
    });
    while (appended < 8) await new Promise((r) => setImmediate(r));
    assert.match((await a.cmd('DELETE Box')).tagged, /OK/);
    stop = true;
    await Promise.all(loops);
    used = (await f.srv.app.store.getAccount(acc.id))!.usedMessages;
    held = 0;
    for (const mb of await f.srv.app.store.listMailboxes(acc.id))
      held += (await f.srv.app.store.listUids(mb.id)).length;
  }
  assert.equal(used, held, `the account counts ${used} messages but holds ${held}`);
});

test('keywords set by concurrent STOREs all appear in the mailbox FLAGS response', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  await f.srv.app.directory.addAccount('keywords@example.com', PASSWORD);
  const cs = await Promise.all([0, 1, 2, 3, 4, 5].map(() => f.login('keywords@example.com')));
  for (let i = 0; i < 6; i++) await cs[0].cmd(appendCmd('INBOX', msg(`kw${i}`)));
  for (const c of cs) await c.cmd('SELECT INBOX');
  let missing: string[] = [];
  let flags = '';
  // Bounded: up to 5 rounds in which six sessions each set a new keyword on a message at the same time.
  for (let round = 0; round < 5 && missing.length === 0; round++) {
    const set = cs.map((_, i) => `r${round}k${i}`);
    await Promise.all(cs.map((c, i) => c.cmd(`STORE ${i + 1} +FLAGS.SILENT (${set[i]})`)));
    const sel = await cs[0].cmd('SELECT INBOX');
    flags = sel.lines.find((l) => l.startsWith('* FLAGS')) ?? '';
    missing = set.filter((k) => !flags.split(/[ ()]/).includes(k));
  }
  assert.deepEqual(missing, [], `SELECT says ${flags}`);
});

test('APPENDs of one message while another session expunges its copies all succeed (no deadlock)', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  await f.srv.app.directory.addAccount('drafts@example.com', PASSWORD);
  // The same bytes each time (a draft saved again and again): one shared body row.
  const m = 'Subject: same\r\nMessage-ID: <same@example.com>\r\n\r\nsame body\r\n';
  const appenders = await Promise.all([1, 2, 3].map(() => f.login('drafts@example.com')));
  const ex = await f.login('drafts@example.com');
  await ex.cmd('SELECT INBOX');
  const failures: string[] = [];
  // Bounded: 3 x 150 APPENDs and 150 expunges, stopping at the first failure.
  const appending = appenders.map(async (c) => {
    for (let i = 0; i < 150 && failures.length === 0; i++) {
      const r = await c.cmd(appendCmd('INBOX', m), 15000);
      if (!/^\S+ OK/.test(r.tagged)) failures.push(`APPEND: ${r.tagged}`);
    }
  });
  const expunging = (async () => {
    for (let i = 0; i < 150 && failures.length === 0; i++) {
      await ex.cmd('STORE 1:* +FLAGS.SILENT (\\Deleted)', 15000);
      const r = await ex.cmd('EXPUNGE', 15000);
      if (!/^\S+ OK/.test(r.tagged)) failures.push(`EXPUNGE: ${r.tagged}`);
    }
  })();
  await Promise.all([...appending, expunging]);
  assert.deepEqual(failures, []);
});

test('parallel APPENDs at the edge of a message quota on PostgreSQL: one fits, the others NO [OVERQUOTA]', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  await parallelAppendsAtTheEdge(f);
});
