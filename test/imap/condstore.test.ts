// CONDSTORE and QRESYNC (RFC 7162) as resynchronising clients use them, over the wire: the mod-sequence
// a MODSEQ search reports, HIGHESTMODSEQ on the first enabling command, MODSEQ and UID on implicit \Seen,
// HIGHESTMODSEQ after MOVE, and the QRESYNC select parameter's syntax.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RawImap } from '../helpers/imap-client.ts';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

const USERS = ['search', 'enable', 'seen', 'move', 'params', 'delayed'];
let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: USERS });
});
after(() => f.stop());

/** A session of `user` with `n` messages in INBOX, INBOX selected. */
async function withMessages(user: string, n: number, select = 'SELECT INBOX'): Promise<RawImap> {
  const c = await f.login(`${user}@example.com`);
  for (let i = 1; i <= n; i++) assert.match((await c.cmd(appendCmd('INBOX', msg(`${user}${i}`)))).tagged, /OK/);
  assert.match((await c.cmd(select)).tagged, /OK/);
  return c;
}

/** The mailbox's HIGHESTMODSEQ, as another session's STATUS reports it. */
async function highestModseq(user: string): Promise<number> {
  const d = await f.login(`${user}@example.com`);
  const r = await d.cmd('STATUS INBOX (HIGHESTMODSEQ)');
  d.close();
  return Number(/HIGHESTMODSEQ (\d+)/.exec(r.lines[0])![1]);
}

/** MODSEQ of each message, by sequence number. */
async function modseqs(c: RawImap): Promise<number[]> {
  const out: number[] = [];
  for (const l of (await c.cmd('FETCH 1:* (MODSEQ)')).lines) {
    const m = /^\* (\d+) FETCH \(MODSEQ \((\d+)\)\)$/.exec(l);
    if (m) out[Number(m[1]) - 1] = Number(m[2]);
  }
  return out;
}

test('SEARCH, ESEARCH and SORT with a MODSEQ key end with the highest mod-sequence of what they return', async () => {
  const c = await withMessages('search', 3);
  await c.cmd('STORE 3 +FLAGS.SILENT (\\Seen)');
  await c.cmd('STORE 1 +FLAGS.SILENT (\\Flagged)');
  const [m1, m2, m3] = await modseqs(c);
  assert.ok(m1 > m3 && m3 > m2, `${m1} ${m2} ${m3}`);
  // RFC 7162 section 3.1.5: * SEARCH ... (MODSEQ n), n the highest of the messages returned.
  assert.deepEqual((await c.cmd(`SEARCH MODSEQ ${m2}`)).lines, [`* SEARCH 1 2 3 (MODSEQ ${m1})`]);
  assert.deepEqual((await c.cmd(`UID SEARCH MODSEQ ${m3}`)).lines, [`* SEARCH 1 3 (MODSEQ ${m1})`]);
  assert.deepEqual((await c.cmd('SEARCH MODSEQ "/flags/\\\\seen" all 1 NOT FLAGGED')).lines, [
    `* SEARCH 2 3 (MODSEQ ${m3})`,
  ]);
  // Nothing found: no mod-sequence.
  assert.deepEqual((await c.cmd(`SEARCH MODSEQ ${m1 + 1}`)).lines, ['* SEARCH']);
  // Section 3.1.10 and RFC 4731 section 3.2: ESEARCH says MODSEQ; for MIN or MAX alone, of that message.
  const es = async (ret: string) => (await c.cmd(`SEARCH RETURN (${ret}) MODSEQ 1`)).lines[0].replace(/^.*\) /, '');
  assert.equal(await es('ALL'), `ALL 1:3 MODSEQ ${m1}`);
  assert.equal(await es('COUNT'), `COUNT 3 MODSEQ ${m1}`);
  assert.equal(await es('MIN'), `MIN 1 MODSEQ ${m1}`);
  assert.equal(await es('MAX'), `MAX 3 MODSEQ ${m3}`);
  assert.match((await c.cmd(`SEARCH RETURN (ALL) MODSEQ ${m1 + 1}`)).lines.join('\n'), /^\* ESEARCH \(TAG "t\d+"\)$/);
  // SAVE alone still answers nothing (RFC 9051 section 6.4.4).
  assert.deepEqual((await c.cmd('SEARCH RETURN (SAVE) MODSEQ 1')).lines, []);
  // Section 3.1.9: SORT too; THREAD is unchanged.
  assert.deepEqual((await c.cmd('SORT (REVERSE ARRIVAL) UTF-8 MODSEQ 1')).lines, [`* SORT 3 2 1 (MODSEQ ${m1})`]);
  assert.deepEqual((await c.cmd(`UID SORT (ARRIVAL) UTF-8 MODSEQ ${m3}`)).lines, [`* SORT 1 3 (MODSEQ ${m1})`]);
  assert.deepEqual((await c.cmd(`SORT (ARRIVAL) UTF-8 MODSEQ ${m1 + 1}`)).lines, ['* SORT']);
  assert.deepEqual((await c.cmd('THREAD ORDEREDSUBJECT UTF-8 MODSEQ 1')).lines, ['* THREAD (1)(2)(3)']);
  c.close();
});

test('the first CONDSTORE enabling command with a mailbox selected reports HIGHESTMODSEQ, once', async () => {
  // RFC 7162 section 3.1: "A first CONDSTORE enabling command executed in the session with a mailbox
  // selected MUST cause the server to return HIGHESTMODSEQ".
  const enabling = [
    'FETCH 1 (MODSEQ)',
    'UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)',
    'SEARCH MODSEQ 1',
    'STORE 1 (UNCHANGEDSINCE 999999) +FLAGS.SILENT ($Done)',
    'STATUS INBOX (HIGHESTMODSEQ)',
    'ENABLE CONDSTORE',
    'ENABLE QRESYNC',
  ];
  for (const command of enabling) {
    const c = await withMessages('enable', 1);
    await c.cmd('STORE 1 +FLAGS.SILENT (\\Seen)'); // the session's own change: the highest one
    const highest = await highestModseq('enable');
    const first = await c.cmd(command);
    assert.match(first.tagged, /OK/, command);
    const said = first.lines.filter((l) => l.startsWith('* OK [HIGHESTMODSEQ '));
    assert.deepEqual(said, [`* OK [HIGHESTMODSEQ ${highest}] Highest`], command);
    const again = await c.cmd('FETCH 1 (MODSEQ)');
    assert.ok(!again.lines.some((l) => l.includes('HIGHESTMODSEQ')), `${command}: only the first`);
    c.close();
  }
  // With nothing selected there is nothing to report; the SELECT after it says HIGHESTMODSEQ as always.
  const c = await f.login('enable@example.com');
  assert.deepEqual((await c.cmd('ENABLE CONDSTORE')).lines, ['* ENABLED CONDSTORE']);
  assert.equal((await c.cmd('SELECT INBOX')).lines.filter((l) => l.includes('HIGHESTMODSEQ')).length, 1);
  c.close();
});

test('a FETCH that sets \\Seen implicitly carries the new MODSEQ, and the UID under QRESYNC', async () => {
  // RFC 7162 section 3.1: once CONDSTORE is on, "all subsequent untagged FETCH responses" carry MODSEQ;
  // section 3.2.4 names "a FETCH/UID FETCH that implicitly set the \Seen flag" and adds the UID.
  const c = await withMessages('seen', 3, 'SELECT INBOX (CONDSTORE)');
  const r = await c.cmd('FETCH 1 (BODY[TEXT])');
  const [after1] = await modseqs(c);
  assert.equal(
    r.lines.join('\r\n'),
    `* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n FLAGS (\\Seen \\Recent) MODSEQ (${after1}))`,
  );
  // Already \Seen: nothing changed, nothing added.
  assert.equal((await c.cmd('FETCH 1 (BODY[TEXT])')).lines.join('\r\n'), '* 1 FETCH (BODY[TEXT] {7}\r\nhello\r\n)');
  assert.deepEqual((await c.cmd('ENABLE QRESYNC')).lines, ['* ENABLED QRESYNC']);
  const q = await c.cmd('FETCH 2 (FLAGS BODY[TEXT])');
  const [, after2] = await modseqs(c);
  assert.equal(
    q.lines.join('\r\n'),
    `* 2 FETCH (FLAGS (\\Seen \\Recent) BODY[TEXT] {7}\r\nhello\r\n MODSEQ (${after2}) UID 2)`,
  );
  const u = await c.cmd('UID FETCH 3 (BODY[TEXT] MODSEQ)');
  assert.match(
    u.lines.join('\r\n'),
    /^\* 3 FETCH \(UID 3 BODY\[TEXT\] \{7\}\r\nhello\r\n MODSEQ \(\d+\) FLAGS \(\\Seen \\Recent\)\)$/,
  );
  c.close();
});

test('MOVE under QRESYNC ends with the HIGHESTMODSEQ of the removal, from which no VANISHED is due', async () => {
  // RFC 6851 section 4.4: "If at least one message was moved, the server MUST send the updated
  // per-mailbox modification sequence using the HIGHESTMODSEQ response code".
  const c = await withMessages('move', 4);
  await c.cmd('CREATE Archive');
  await c.cmd('ENABLE QRESYNC');
  const sel = await c.cmd('SELECT INBOX');
  const uidValidity = /UIDVALIDITY (\d+)/.exec(sel.lines.join('\n'))![1];
  const before = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.lines.join('\n'))![1]);
  const r = await c.cmd('UID MOVE 2:3 Archive');
  assert.match(r.lines[0], /^\* OK \[COPYUID \d+ 2:3 1:2\]/);
  assert.equal(r.lines[1], '* VANISHED 2:3');
  const m = /^t\d+ OK \[HIGHESTMODSEQ (\d+)\] /.exec(r.tagged);
  assert.ok(m, r.tagged);
  const highest = Number(m[1]);
  assert.ok(highest > before);
  // Nothing moved: no mod-sequence changed, none reported.
  assert.doesNotMatch((await c.cmd('UID MOVE 99 Archive')).tagged, /HIGHESTMODSEQ/);
  // A client that cached `highest` is in sync; one that cached `before` learns of the two.
  await c.cmd('UNSELECT');
  const late = await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} ${before}))`);
  assert.ok(late.lines.includes('* VANISHED (EARLIER) 2:3'), late.lines.join('\n'));
  const fresh = await c.cmd(`SELECT INBOX (QRESYNC (${uidValidity} ${highest}))`);
  assert.ok(!fresh.lines.some((l) => l.includes('VANISHED') || l.includes('FETCH')), fresh.lines.join('\n'));
  c.close();
});

test('SELECT (QRESYNC ...): a parameter that is not valid syntax is BAD and opens nothing', async () => {
  // RFC 7162 section 3.2.5: "If any parameter is not syntactically valid, the server returns the tagged
  // BAD response, and the mailbox remains unselected"; section 7: known-uids and both sets of the
  // sequence match data are sequence sets without "*".
  const c = await withMessages('params', 2, 'ENABLE QRESYNC');
  const uv = /UIDVALIDITY (\d+)/.exec((await c.cmd('STATUS INBOX (UIDVALIDITY)')).lines[0])?.[1] ?? '1';
  for (const bad of [
    `${uv} 1 1:*`,
    `${uv} 1 0:3`,
    `${uv} 1 $`,
    `${uv} 1 x`,
    `${uv} 1 1:2 (1:2)`,
    `${uv} 1 1:2 (1:2 1:2 3)`,
    `${uv} 1 1:2 (x y)`,
    `${uv} 1 1:2 (1:* 1:2)`,
    `${uv} 1 1:2 (1:2 1:2) x`,
    `${uv} 1 1:2 3:4`,
    `${uv}`,
  ]) {
    const r = await c.cmd(`SELECT INBOX (QRESYNC (${bad}))`);
    assert.match(r.tagged, /^t\d+ BAD /, bad);
    assert.deepEqual(r.lines, [], bad);
    assert.match((await c.cmd('FETCH 1 (UID)')).tagged, /BAD/, `${bad}: nothing selected`);
  }
  for (const good of [`${uv} 1`, `${uv} 1 1:2`, `${uv} 1 1:2 (1:2 1:2)`, `${uv} 1 (1 2)`]) {
    const r = await c.cmd(`SELECT INBOX (QRESYNC (${good}))`);
    assert.match(r.tagged, /OK \[READ-WRITE\]/, good);
    assert.ok(
      r.lines.some((l) => /^\* 1 FETCH \(UID 1 FLAGS \([^)]*\) MODSEQ \(\d+\)\)$/.test(l)),
      `${good}: ${r.lines.join('\n')}`,
    );
  }
  c.close();
});

test('a STORE while another session expunged: the VANISHED is held back, so a HIGHESTMODSEQ below it follows the MODSEQs', async () => {
  const a = await withMessages('delayed', 3);
  const b = await f.login('delayed@example.com');
  await a.cmd('ENABLE QRESYNC');
  assert.match((await a.cmd('SELECT INBOX')).tagged, /OK/);
  await b.cmd('SELECT INBOX');
  await b.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.match((await b.cmd('EXPUNGE')).tagged, /OK/);
  const expunged = await highestModseq('delayed');
  // STORE may not announce the expunge (RFC 9051 section 7.5), but its MODSEQ is past it: a client that
  // cached that as its HIGHESTMODSEQ and lost the connection would never hear of the expunge (QRESYNC
  // VANISHED (EARLIER) starts after it). RFC 7162 section 3.2: a HIGHESTMODSEQ below the expunge's.
  const r = await a.cmd('STORE 2 +FLAGS (\\Seen)');
  const fetched = Number(/MODSEQ \((\d+)\)/.exec(r.lines.find((l) => l.includes('FETCH'))!)![1]);
  assert.ok(fetched > expunged);
  assert.ok(!r.lines.some((l) => l.includes('VANISHED')), r.raw);
  const code = r.lines.map((l) => /^\* OK \[HIGHESTMODSEQ (\d+)\]/.exec(l)).find((m) => m);
  assert.ok(code, r.raw);
  assert.ok(Number(code[1]) < expunged, r.raw);
  assert.ok(r.lines.indexOf(code.input) > r.lines.findIndex((l) => l.includes('FETCH')), r.raw);
  // NOOP announces it; the HIGHESTMODSEQ may then go past it again.
  assert.ok((await a.cmd('NOOP')).lines.includes('* VANISHED 1'));
  a.close();
  b.close();
});
