// PARTIAL (RFC 9394): paged SEARCH and SORT results over a real socket, as a client pages through a
// mailbox: first pages, last pages (negative ranges), MIN/MAX/COUNT and SAVE beside PARTIAL, ESORT
// positions in sort order, the UID FETCH modifier, and BAD for ranges the grammar (section 4) refuses.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { RawImap } from '../helpers/imap-client.ts';
import { type ImapFixture, imapFixture, msg } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice'] });
  const c = await f.login();
  // 25 messages; UID 1..25. The first two are then expunged so sequence numbers and UIDs differ.
  for (let i = 1; i <= 25; i++) {
    const m = msg(`m${i}`);
    // Distinct INTERNALDATEs, in UID order, for SORT (ARRIVAL).
    const date = `"07-Dec-2026 10:${String(i).padStart(2, '0')}:00 +0000"`;
    const r = await c.cmd(`APPEND INBOX (${i % 3 === 0 ? '\\Seen' : ''}) ${date} {${Buffer.byteLength(m)}+}\r\n${m}`);
    assert.match(r.tagged, / OK /);
  }
  await c.cmd('SELECT INBOX');
  await c.cmd('STORE 1:2 +FLAGS.SILENT (\\Deleted)');
  await c.cmd('EXPUNGE'); // UIDs 3..25 remain as 1..23
  c.close();
});
after(() => f.stop());

/** The ESEARCH line's data after the tag, or '' when there is none; asserts the command's OK. */
async function esearch(c: RawImap, cmd: string): Promise<string> {
  const r = await c.cmd(cmd);
  assert.match(r.tagged, / OK /, `${cmd}: ${r.tagged}`);
  const tag = r.tagged.split(' ')[0];
  const line = r.lines.find((l) => l.startsWith('* ESEARCH '));
  if (!line) return '';
  const head = `* ESEARCH (TAG "${tag}")`;
  assert.ok(line.startsWith(head), line);
  return line.slice(head.length);
}

async function selected(): Promise<RawImap> {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  return c;
}

test('PARTIAL is advertised once logged in', async () => {
  const c = await f.login();
  assert.match((await c.cmd('CAPABILITY')).lines[0], / PARTIAL( |$)/);
  c.close();
});

test('paging a search from the start: pages, a short last page, NIL past the end (RFC 9394 section 3.1)', async () => {
  const c = await selected();
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 1:10) ALL'), ' UID PARTIAL (1:10 3:12)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 11:20) ALL'), ' UID PARTIAL (11:20 13:22)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 21:30) ALL'), ' UID PARTIAL (21:30 23:25)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 31:40) ALL'), ' UID PARTIAL (31:40 NIL)');
  // Positions count matches, not messages: UNSEEN skips every third UID.
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 1:4) UNSEEN'), ' UID PARTIAL (1:4 4:5,7:8)');
  // Message numbers without UID; 500:400 is the same as 400:500.
  assert.equal(await esearch(c, 'SEARCH RETURN (PARTIAL 5:2) ALL'), ' PARTIAL (2:5 2:5)');
  assert.equal(await esearch(c, 'SEARCH RETURN (PARTIAL 1:3) DELETED'), ' PARTIAL (1:3 NIL)');
  c.close();
});

test('paging from the end with negative ranges: -1 is the last match', async () => {
  const c = await selected();
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL -1:-5) ALL'), ' UID PARTIAL (-1:-5 21:25)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL -10:-6) ALL'), ' UID PARTIAL (-6:-10 16:20)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL -20:-30) ALL'), ' UID PARTIAL (-20:-30 3:6)');
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL -24:-30) ALL'), ' UID PARTIAL (-24:-30 NIL)');
  assert.equal(await esearch(c, 'SEARCH RETURN (PARTIAL -1:-2) UNSEEN'), ' PARTIAL (-1:-2 21,23)');
  c.close();
});

test('MIN, MAX and COUNT beside PARTIAL describe the whole result; MODSEQ the messages returned', async () => {
  const c = await selected();
  assert.equal(
    await esearch(c, 'UID SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) UNSEEN'),
    ' UID MIN 4 MAX 25 PARTIAL (2:3 5,7) COUNT 15',
  );
  // RFC 4731 section 3.2: MODSEQ is the highest of what is returned; only the page here.
  await c.cmd('UID STORE 25 +FLAGS.SILENT (\\Flagged)');
  await c.cmd('UID STORE 4 +FLAGS.SILENT (\\Answered)');
  // `* n FETCH (UID u MODSEQ (m))`: UID FETCH adds UID first.
  const modseq = async (uid: number) =>
    /MODSEQ \((\d+)\)/.exec(
      (await c.cmd(`UID FETCH ${uid} (MODSEQ)`)).lines.find((l) => l.includes(`UID ${uid} `))!,
    )![1];
  const m4 = await modseq(4);
  const m25 = await modseq(25);
  assert.ok(Number(m25) < Number(m4));
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL 1:2) MODSEQ 1'), ` UID PARTIAL (1:2 3:4) MODSEQ ${m4}`);
  assert.equal(await esearch(c, 'UID SEARCH RETURN (PARTIAL -1) MODSEQ 1').catch(() => 'bad'), 'bad');
  c.close();
});

test('SAVE with PARTIAL keeps the page, with MIN/MAX their union, with COUNT everything (RFC 9394 section 3.2)', async () => {
  const c = await selected();
  const saved = async () => (await c.cmd('UID SEARCH RETURN (ALL) $')).lines[0];
  assert.equal(await esearch(c, 'UID SEARCH RETURN (SAVE PARTIAL 3:4) UNSEEN'), ' UID PARTIAL (3:4 7:8)');
  assert.match(await saved(), / UID ALL 7:8$/);
  assert.equal(
    await esearch(c, 'UID SEARCH RETURN (SAVE MIN MAX PARTIAL 3:3) UNSEEN'),
    ' UID MIN 4 MAX 25 PARTIAL (3:3 7)',
  );
  assert.match(await saved(), / UID ALL 4,7,25$/);
  assert.equal(
    await esearch(c, 'UID SEARCH RETURN (SAVE COUNT PARTIAL 1:1) UID 20:25'),
    ' UID PARTIAL (1:1 20) COUNT 6',
  );
  assert.match(await saved(), / UID ALL 20:25$/);
  c.close();
});

test('SORT RETURN (PARTIAL): positions in sort order, the page in sort order (RFC 9394 section 3.1, RFC 5267)', async () => {
  const c = await selected();
  assert.equal(
    await esearch(c, 'UID SORT RETURN (PARTIAL 1:3) (REVERSE ARRIVAL) UTF-8 ALL'),
    ' UID PARTIAL (1:3 25,24,23)',
  );
  assert.equal(
    await esearch(c, 'UID SORT RETURN (PARTIAL -1:-3) (REVERSE ARRIVAL) UTF-8 ALL'),
    ' UID PARTIAL (-1:-3 5,4,3)',
  );
  assert.equal(
    await esearch(c, 'SORT RETURN (PARTIAL 2:3 MIN MAX COUNT) (REVERSE ARRIVAL) UTF-8 UNSEEN'),
    ' MIN 23 MAX 2 PARTIAL (2:3 21,20) COUNT 15',
  );
  assert.equal(await esearch(c, 'UID SORT RETURN (PARTIAL 1:5) (ARRIVAL) UTF-8 UID 10:12'), ' UID PARTIAL (1:5 10:12)');
  c.close();
});

test('UID FETCH (PARTIAL range): a page of the messages in the set (RFC 9394 section 3.3)', async () => {
  const c = await selected();
  const uids = async (cmd: string) => {
    const r = await c.cmd(cmd);
    assert.match(r.tagged, / OK /, `${cmd}: ${r.tagged}`);
    return r.lines.map((l) => /UID (\d+)/.exec(l)![1]).join(',');
  };
  assert.equal(await uids('UID FETCH 1:* (FLAGS) (PARTIAL -1:-3)'), '23,24,25');
  assert.equal(await uids('UID FETCH 1:* (FLAGS) (PARTIAL 1:2)'), '3,4');
  assert.equal(await uids('UID FETCH 10:15 (FLAGS) (PARTIAL 5:10)'), '14,15');
  assert.equal(await uids('UID FETCH 10:15 (FLAGS) (PARTIAL 7:10)'), '');
  // The page is of the set named; CHANGEDSINCE then keeps what changed in it.
  // The mailbox's highest mod-sequence: that of every message (RFC 4731 section 3.2 with COUNT).
  const m = / MODSEQ (\d+)$/.exec(await esearch(c, 'SEARCH RETURN (COUNT) MODSEQ 1'))![1];
  await c.cmd('UID STORE 24 +FLAGS.SILENT ($Paged)');
  assert.equal(await uids(`UID FETCH 1:* (FLAGS) (PARTIAL -1:-3 CHANGEDSINCE ${m})`), '24');
  assert.equal(await uids(`UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${m} PARTIAL 1:2)`), '');
  assert.match((await c.cmd('FETCH 1:* (FLAGS) (PARTIAL 1:2)')).tagged, /BAD .*UID FETCH/);
  assert.match((await c.cmd('UID FETCH 1:* (FLAGS) (PARTIAL 1:2 PARTIAL 3:4)')).tagged, /BAD /);
  assert.match((await c.cmd('UID FETCH 1:* (FLAGS) (PARTIAL)')).tagged, /BAD .*PARTIAL needs a range/);
  assert.match((await c.cmd('UID FETCH 1:* (FLAGS) (PARTIAL 0:2)')).tagged, /BAD .*PARTIAL/);
  c.close();
});

test('ranges the grammar refuses, PARTIAL twice or with ALL: BAD with a clear text (RFC 9394 section 4)', async () => {
  const c = await selected();
  const bad = async (cmd: string, text: RegExp) => {
    const r = await c.cmd(cmd);
    assert.match(r.tagged, /^\S+ BAD /, `${cmd}: ${r.tagged}`);
    assert.match(r.tagged, text, cmd);
    assert.deepEqual(r.lines, [], cmd);
  };
  await bad('SEARCH RETURN (PARTIAL 0:5) ALL', /PARTIAL.*0:5.*start at 1/);
  await bad('SEARCH RETURN (PARTIAL -0:-5) ALL', /start at 1/);
  await bad('SEARCH RETURN (PARTIAL 1:4294967296) ALL', /at most 4294967295/);
  await bad('SEARCH RETURN (PARTIAL 99999999999999999999999:1) ALL', /at most 4294967295/);
  await bad('SEARCH RETURN (PARTIAL 1:-5) ALL', /mixes/);
  await bad('SEARCH RETURN (PARTIAL -1:5) ALL', /mixes/);
  await bad('SEARCH RETURN (PARTIAL 1:*) ALL', /PARTIAL/);
  await bad('SEARCH RETURN (PARTIAL 5) ALL', /PARTIAL/);
  await bad('SEARCH RETURN (PARTIAL) ALL', /PARTIAL needs a range/);
  await bad('SEARCH RETURN (PARTIAL "1:5") ALL', /PARTIAL needs a range/);
  await bad('SEARCH RETURN (PARTIAL 01:5) ALL', /PARTIAL/);
  await bad('SEARCH RETURN (PARTIAL 1:5 ALL) ALL', /PARTIAL and ALL/);
  await bad('SEARCH RETURN (ALL PARTIAL 1:5) ALL', /PARTIAL and ALL/);
  await bad('SEARCH RETURN (PARTIAL 1:5 PARTIAL 6:9) ALL', /once/);
  await bad('UID SORT RETURN (PARTIAL 1:-5) (ARRIVAL) UTF-8 ALL', /mixes/);
  // A failed SEARCH with SAVE empties $ (RFC 5182 section 2.1), a bad PARTIAL included.
  await c.cmd('SEARCH RETURN (SAVE) ALL');
  await bad('SEARCH RETURN (SAVE PARTIAL 0:1) ALL', /start at 1/);
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH']);
  c.close();
});
