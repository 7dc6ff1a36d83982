// Differential test against Dovecot for what synchronising clients use: CONDSTORE and QRESYNC (RFC 7162),
// ESEARCH and SEARCHRES (RFC 9051 section 6.4.4), PARTIAL (RFC 9394, as far as Dovecot 2.3 has it),
// UIDPLUS (RFC 4315), MOVE (RFC 6851), SORT and THREAD (RFC 5256) and ESORT (RFC 5267 section 3) over
// messages with tricky subjects and References, and \Recent under SELECT, EXAMINE and STATUS (RFC 3501
// section 2.3.2). The same script runs on two sessions of each server; answers must agree once mod-sequence
// values, UIDVALIDITY and human text are masked. Where we differ on purpose, the step names the difference,
// explained below with the RFC text that allows it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';
import { type Answer, comparable, normalise, runScript, type Step } from './sync-diff-helpers.ts';

const DIFFERENCES: Record<string, string> = {
  'save-alone':
    'SEARCH RETURN (SAVE) with a MODSEQ key: RFC 9051 section 6.4.4, SAVE alone "suppresses any ESEARCH response"; Dovecot still sends one carrying MODSEQ.',
  'nested-modseq':
    'A MODSEQ key under OR or NOT: RFC 7162 section 3.1.5 wants the mod-sequence whenever the SEARCH has "a MODSEQ criterion"; Dovecot appends it only for a top-level key (and finds nothing for NOT MODSEQ n, which every older message matches).',
  'bad-select':
    'SELECT answered BAD for a QRESYNC parameter: RFC 7162 section 3.2.5 checks parameters "before opening the specified mailbox"; Dovecot closes the selected mailbox first ([CLOSED]), we leave the session as it was, as for any BAD command.',
  'highestmodseq-always':
    'SELECT before any CONDSTORE enabling command: RFC 7162 section 3.1.2 requires HIGHESTMODSEQ only after one ("some existing CONDSTORE servers don\'t ... report them until after"); we always send it, Dovecot waits.',
  'expunge-highestmodseq':
    'EXPUNGE with CONDSTORE but not QRESYNC: RFC 7162 section 3.2.7 makes HIGHESTMODSEQ in the tagged OK a MUST under QRESYNC and "optional" otherwise; we send it, Dovecot does not.',
  'noop-highestmodseq':
    "NOOP after other sessions' changes under QRESYNC: RFC 7162 asks for HIGHESTMODSEQ in the tagged OK of EXPUNGE, UID EXPUNGE and MOVE only (sections 3.2.7, 3.2.9; RFC 6851 section 4.4); Dovecot adds it to NOOP's too.",
  'move-highestmodseq':
    'MOVE with CONDSTORE but not QRESYNC: RFC 6851 section 4.4 requires HIGHESTMODSEQ under QRESYNC; without it, as for EXPUNGE (RFC 7162 section 3.2.7: "optional in this case"), we send it and Dovecot does not.',
  'sort-save-failed':
    'After SORT RETURN (SAVE) with criteria that are not valid: RFC 5267 section 3 makes the extended SORT "identical in its behaviour to the extended SEARCH command", and RFC 5182 section 2.1 empties $ when a SEARCH with SAVE fails; we do the same for SORT, Dovecot keeps the earlier $ (it empties it for SEARCH).',
  'partial-last':
    "PARTIAL with a negative range, counted from the last result: RFC 9394 section 3.1 adds it to RFC 5267's PARTIAL; Dovecot 2.3 has only the latter and answers BAD.",
  'bad-select-after':
    'The command after that BAD SELECT: Dovecot has no mailbox selected any more, we still have ours.',
};

const dovecotPeer = peer('dovecot', 'dovecot-imapd');

/** Two sessions of a server, logged in. */
interface Side {
  name: string;
  sessions: [RawImap, RawImap];
}

async function dovecotSide(d: Dovecot): Promise<Side> {
  const open = async () => {
    const c = (await RawImap.open(d.imapPort)).c;
    await c.cmd('LOGIN user1 pass');
    return c;
  };
  return { name: 'dovecot', sessions: [await open(), await open()] };
}

async function petrelSide(f: ImapFixture): Promise<Side> {
  return { name: 'petrel', sessions: [await f.login(), await f.login()] };
}

/** `APPEND box` of several messages in one command (MULTIAPPEND), each a LITERAL+. */
function multiAppend(box: string, messages: string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`APPEND ${box}`)];
  for (const m of messages) parts.push(Buffer.from(` {${Buffer.byteLength(m)}+}\r\n${m}`));
  return Buffer.concat(parts);
}

/** "APPENDMSG box subject" and "MULTI box a b" are shorthands for APPEND with a small message. */
function prepare(cmd: string): string | Buffer {
  const one = /^APPENDMSG (\S+) (\S+)$/.exec(cmd);
  if (one) return appendCmd(one[1], msg(one[2]));
  const many = /^MULTI (\S+) (.*)$/.exec(cmd);
  if (many)
    return multiAppend(
      many[1],
      many[2].split(' ').map((s) => msg(s)),
    );
  return cmd;
}

/** Runs the script on both servers and compares step by step; returns the named differences seen. */
async function compare(d: Side, p: Side, steps: Step[]): Promise<Map<string, number>> {
  const dv = await runScript(d.sessions, steps, prepare);
  const pv = await runScript(p.sessions, steps, prepare);
  const seen = new Map<string, number>();
  const report: string[] = [];
  steps.forEach((step, i) => {
    const [a, b] = [dv.answers[i], pv.answers[i]];
    const shape = (x: Answer) => {
      const lines = comparable(x, step.cmd);
      return [...(step.ordered ? lines : [...lines].sort()), normalise(x.tagged)].join('\n');
    };
    if (shape(a) === shape(b)) return;
    if (step.differs) {
      assert.ok(DIFFERENCES[step.differs], step.differs);
      seen.set(step.differs, (seen.get(step.differs) ?? 0) + 1);
      return;
    }
    report.push(`#${i + 1} ${step.cmd}\n--- dovecot\n${shape(a)}\n--- petrel\n${shape(b)}`);
  });
  assert.deepEqual(report, [], report.join('\n\n'));
  return seen;
}

/** MOVE: the COPYUID response comes before the messages are expunged (RFC 6851 section 4.3). */
const copyuidFirst = (a: Answer) => {
  assert.match(a.lines[0], /^\* OK \[COPYUID /);
  const gone = a.lines.filter((l) => / EXPUNGE$/.test(l) || l.startsWith('* VANISHED '));
  assert.ok(gone.length > 0 && a.lines.indexOf(gone[0]) > 0);
};

/** A check that the mod-sequence captured as `later` is above the one captured as `earlier`. */
const grew = (earlier: string, later: string) => (_: Answer, v: Record<string, string>) =>
  assert.ok(BigInt(v[later]) > BigInt(v[earlier]), `${later} ${v[later]} not above ${earlier} ${v[earlier]}`);

/**
 * A check on the RECENT response, which `comparable` leaves out of commands other than SELECT: it carries n,
 * and is there when the count changed. Unchanged, Dovecot sends none and we repeat it; both are allowed.
 */
const recentIs = (n: number, changed: boolean) => (a: Answer) => {
  const recent = a.lines.filter((l) => / RECENT$/.test(l));
  for (const l of recent) assert.equal(l, `* ${n} RECENT`);
  if (changed) assert.equal(recent.length, 1);
};

describe('CONDSTORE, QRESYNC, ESEARCH, UIDPLUS, MOVE, SORT, ESORT, THREAD and \\Recent against Dovecot', {
  skip: dovecotPeer.skip,
}, () => {
  let dovecot: Dovecot;
  let f: ImapFixture;
  before(async () => {
    dovecot = await startDovecot({ users: 1 });
    f = await imapFixture({ users: ['alice'] });
  });
  after(async () => {
    await f?.stop();
    await dovecot?.stop();
  });

  test('CONDSTORE: HIGHESTMODSEQ, MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE, SEARCH MODSEQ, mod-sequence bumps', async () => {
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      { cmd: 'CREATE Cond' },
      ...['a', 'b', 'c', 'd', 'e'].map((s) => ({ cmd: `APPENDMSG Cond ${s}` })),
      { cmd: 'STATUS Cond (MESSAGES UIDNEXT HIGHESTMODSEQ)', take: { s0: /HIGHESTMODSEQ (\d+)/ } },
      { cmd: 'SELECT Cond', take: { m0: /HIGHESTMODSEQ (\d+)/ } },
      // Appending raises the mailbox's mod-sequence (RFC 7162 section 3.1).
      // STATUS of the selected mailbox is the client's mistake (RFC 9051 section 6.3.11): session 2 asks.
      { cmd: 'APPENDMSG Cond f', on: 2 },
      { cmd: 'STATUS Cond (HIGHESTMODSEQ)', on: 2, take: { s1: /HIGHESTMODSEQ (\d+)/ }, check: grew('m0', 's1') },
      { cmd: 'NOOP' },
      { cmd: 'FETCH 1:* (UID MODSEQ)' },
      { cmd: 'STORE 2 +FLAGS.SILENT (\\Seen)', take: { m2: /MODSEQ \((\d+)\)/ }, check: grew('s1', 'm2') },
      // Setting a flag already set changes nothing (section 3.1.11): no FETCH, same MODSEQ.
      { cmd: 'STORE 2 +FLAGS.SILENT (\\Seen)' },
      { cmd: 'UID STORE 2 (UNCHANGEDSINCE {m2}) +FLAGS.SILENT (\\Answered)', take: { m2b: /MODSEQ \((\d+)\)/ } },
      // The same UNCHANGEDSINCE again fails: MODIFIED names the UID (UID STORE) or number (STORE).
      { cmd: 'UID STORE 2 (UNCHANGEDSINCE {m2}) +FLAGS.SILENT (\\Flagged)' },
      { cmd: 'STORE 1:3 (UNCHANGEDSINCE {m2}) -FLAGS.SILENT (\\Answered)' },
      { cmd: 'STORE 1 (UNCHANGEDSINCE 0) +FLAGS.SILENT (\\Draft)' },
      { cmd: 'FETCH 2 (FLAGS MODSEQ)' },
      { cmd: 'UID FETCH 1:* (FLAGS) (CHANGEDSINCE {m0})' },
      { cmd: 'FETCH 1:* (UID) (CHANGEDSINCE {m2})' },
      { cmd: 'SEARCH MODSEQ {s1}' },
      { cmd: 'UID SEARCH MODSEQ "/flags/\\\\answered" all {s1}' },
      { cmd: 'SEARCH RETURN (ALL COUNT MIN MAX) MODSEQ {s1}' },
      { cmd: 'SEARCH RETURN (ALL) MODSEQ 99999999' },
      { cmd: 'SEARCH RETURN (SAVE) MODSEQ {s1}', differs: 'save-alone' },
      { cmd: 'SEARCH OR MODSEQ {s1} DELETED', differs: 'nested-modseq' },
      { cmd: 'SORT (SUBJECT) UTF-8 MODSEQ {s1}' },
      { cmd: 'THREAD ORDEREDSUBJECT UTF-8 MODSEQ {s1}' },
      // An expunge in another session raises HIGHESTMODSEQ; this session hears EXPUNGE (no QRESYNC).
      { cmd: 'STATUS Cond (HIGHESTMODSEQ)', on: 2, take: { s2: /HIGHESTMODSEQ (\d+)/ } },
      { cmd: 'SELECT Cond', on: 2 },
      { cmd: 'STORE 3 +FLAGS.SILENT (\\Deleted)', on: 2 },
      { cmd: 'EXPUNGE', on: 2, differs: 'expunge-highestmodseq' },
      { cmd: 'NOOP' },
      { cmd: 'UNSELECT', on: 2 },
      { cmd: 'STATUS Cond (HIGHESTMODSEQ)', on: 2, take: { s3: /HIGHESTMODSEQ (\d+)/ }, check: grew('s2', 's3') },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    console.log('named differences:', Object.fromEntries(seen));
  });

  test('CONDSTORE: the first enabling command with a mailbox selected reports HIGHESTMODSEQ', async () => {
    // RFC 7162 section 3.1; each session here starts without CONDSTORE.
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      { cmd: 'CREATE First' },
      { cmd: 'APPENDMSG First a' },
      { cmd: 'STATUS First (MESSAGES)' },
      { cmd: 'SELECT First', differs: 'highestmodseq-always' },
      { cmd: 'FETCH 1 (FLAGS MODSEQ)' },
      { cmd: 'FETCH 1 (MODSEQ)' },
      { cmd: 'SELECT First', on: 2, differs: 'highestmodseq-always' },
      { cmd: 'ENABLE CONDSTORE', on: 2 },
      { cmd: 'STORE 1 +FLAGS.SILENT (\\Seen)', on: 2 },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    console.log('named differences:', Object.fromEntries(seen));
  });

  test('QRESYNC: VANISHED, SELECT (QRESYNC ...), UID FETCH VANISHED, MOVE and UID EXPUNGE, BAD without ENABLE', async () => {
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      { cmd: 'ENABLE CONDSTORE' },
      { cmd: 'CREATE Q' },
      { cmd: 'CREATE Qdst' },
      { cmd: 'MULTI Q a b c d e f g' },
      // Without ENABLE QRESYNC both forms are BAD (RFC 7162 sections 3.2.5 and 3.2.6).
      { cmd: 'SELECT Q (QRESYNC (1 1))' },
      { cmd: 'SELECT Q', take: { uv: /UIDVALIDITY (\d+)/, m0: /HIGHESTMODSEQ (\d+)/ } },
      { cmd: 'UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1 VANISHED)' },
      { cmd: 'ENABLE QRESYNC' },
      { cmd: 'SELECT Q' },
      { cmd: 'SELECT Q', on: 2, differs: 'highestmodseq-always' },
      { cmd: 'STORE 1 +FLAGS.SILENT (\\Flagged)', on: 2 },
      { cmd: 'STORE 3,5 +FLAGS.SILENT (\\Deleted)', on: 2 },
      { cmd: 'EXPUNGE', on: 2 },
      // Another session's expunges: VANISHED, never EXPUNGE, once QRESYNC is on (section 3.2.10.2).
      { cmd: 'NOOP', differs: 'noop-highestmodseq' },
      // Our own: VANISHED, and HIGHESTMODSEQ in the tagged OK (sections 3.2.7 and 3.2.9).
      { cmd: 'STORE 1:2 +FLAGS.SILENT (\\Deleted)' },
      { cmd: 'UID EXPUNGE 2', ordered: true },
      { cmd: 'STORE 1 -FLAGS.SILENT (\\Deleted)' },
      // MOVE: COPYUID untagged before VANISHED, HIGHESTMODSEQ in the tagged OK (RFC 6851 sections 4.3, 4.4).
      { cmd: 'UID MOVE 4,6 Qdst', ordered: true },
      // Without QRESYNC, MOVE is COPYUID then EXPUNGE, highest number first.
      { cmd: 'UID MOVE 7 Qdst', on: 2, check: copyuidFirst },
      { cmd: 'NOOP', differs: 'noop-highestmodseq' },
      { cmd: 'UNSELECT' },
      // Resynchronisation from m0: what vanished and what changed, all, or within the known UIDs.
      { cmd: 'SELECT Q (QRESYNC ({uv} {m0}))', ordered: true },
      { cmd: 'UNSELECT' },
      { cmd: 'SELECT Q (QRESYNC ({uv} {m0} 1:4))', ordered: true },
      { cmd: 'UNSELECT' },
      { cmd: 'EXAMINE Q (QRESYNC ({uv} {m0} 2:7 (1 1)))', ordered: true },
      { cmd: 'UID FETCH 1:7 (FLAGS) (CHANGEDSINCE {m0} VANISHED)', ordered: true },
      { cmd: 'UID FETCH 5:6 (FLAGS) (CHANGEDSINCE {m0} VANISHED)', ordered: true },
      // VANISHED is only for UID FETCH, and only with CHANGEDSINCE (section 3.2.6).
      { cmd: 'FETCH 1 (FLAGS) (CHANGEDSINCE {m0} VANISHED)' },
      { cmd: 'UID FETCH 1 (FLAGS) (VANISHED)' },
      { cmd: 'UNSELECT' },
      // A UIDVALIDITY that does not match: the parameters are ignored (section 3.2.5).
      { cmd: 'SELECT Q (QRESYNC (1 {m0} 1:7))' },
      // Parameters that are not valid syntax (section 7): BAD.
      { cmd: 'SELECT Q (QRESYNC ({uv} {m0} 1:*))', differs: 'bad-select' },
      { cmd: 'FETCH 1 (UID)', differs: 'bad-select-after' },
      { cmd: 'UNSELECT', differs: 'bad-select-after' },
      { cmd: 'SELECT Q (QRESYNC ({uv} {m0} 1:7 (1:2)))' },
      { cmd: 'SELECT Q (QRESYNC ({uv} {m0} 1:7 (1:2 1:2) x))' },
      { cmd: 'SELECT Q (QRESYNC ({uv}))' },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    console.log('named differences:', Object.fromEntries(seen));
  });

  test('ESEARCH, SEARCHRES $, UIDPLUS APPENDUID/COPYUID with ranges, MOVE of $', async () => {
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      { cmd: 'ENABLE CONDSTORE' },
      { cmd: 'CREATE Es' },
      { cmd: 'CREATE Esdst' },
      { cmd: 'MULTI Es a b c d e f' },
      { cmd: 'MULTI Esdst x' },
      { cmd: 'SELECT Es' },
      { cmd: 'STORE 2,4 +FLAGS.SILENT (\\Seen)' },
      // PARTIAL (RFC 9394 section 3.1): Dovecot 2.3 has RFC 5267's, positive ranges only (it does not list
      // PARTIAL, RFC 9394 came later). Pages, NIL past the end, MIN/MAX/COUNT of the whole result beside it.
      { cmd: 'SEARCH RETURN (PARTIAL 1:2) UNSEEN' },
      { cmd: 'UID SEARCH RETURN (PARTIAL 3:10) UNSEEN' },
      { cmd: 'SEARCH RETURN (PARTIAL 5:9) UNSEEN' },
      { cmd: 'SEARCH RETURN (PARTIAL 4:2 MIN MAX COUNT) ALL' },
      { cmd: 'UID SEARCH RETURN (PARTIAL 2:3) MODSEQ 1' },
      // SAVE keeps what PARTIAL, MIN and MAX return; with COUNT all (RFC 9394 section 3.2).
      { cmd: 'SEARCH RETURN (SAVE PARTIAL 2:3) ALL' },
      { cmd: 'FETCH $ (UID)' },
      { cmd: 'SEARCH RETURN (SAVE PARTIAL 3:3 MIN MAX) ALL' },
      { cmd: 'FETCH $ (UID)' },
      { cmd: 'SEARCH RETURN (SAVE PARTIAL 1:1 COUNT) ALL' },
      { cmd: 'FETCH $ (UID)' },
      // BAD: with ALL, twice, 0, past 32 bits, mixed signs (sections 3.1 and 4).
      { cmd: 'SEARCH RETURN (PARTIAL 1:2 ALL) ALL' },
      { cmd: 'SEARCH RETURN (PARTIAL 1:2 PARTIAL 3:4) ALL' },
      { cmd: 'SEARCH RETURN (PARTIAL 0:2) ALL' },
      { cmd: 'SEARCH RETURN (PARTIAL 1:4294967296) ALL' },
      { cmd: 'SEARCH RETURN (PARTIAL -1:5) ALL' },
      { cmd: 'SEARCH RETURN (PARTIAL -1:-2) ALL', differs: 'partial-last' },
      { cmd: 'SEARCH RETURN (MIN MAX COUNT ALL) SEEN' },
      { cmd: 'SEARCH RETURN () UNSEEN' },
      { cmd: 'UID SEARCH RETURN (COUNT) NOT ALL' },
      { cmd: 'SEARCH RETURN (MIN MAX) NOT ALL' },
      { cmd: 'SEARCH RETURN (SAVE) UNSEEN' },
      { cmd: 'FETCH $ (UID)' },
      { cmd: 'SEARCH RETURN (SAVE MAX) SEEN' },
      { cmd: 'UID FETCH $ (FLAGS)' },
      { cmd: 'SEARCH RETURN (SAVE MIN MAX) ALL' },
      { cmd: 'SEARCH RETURN (ALL) $' },
      { cmd: 'UID SEARCH RETURN (ALL) NOT $' },
      { cmd: 'SEARCH RETURN (SAVE COUNT) UID 2:5' },
      { cmd: 'UID COPY $ Esdst' },
      { cmd: 'UID COPY 6,1:2 Esdst' },
      { cmd: 'COPY 5,3 Esdst' },
      { cmd: 'MOVE $ Esdst', ordered: true, differs: 'move-highestmodseq' },
      // $ no longer names the moved messages.
      { cmd: 'FETCH $ (UID)' },
      { cmd: 'MULTI Esdst y z w' },
      { cmd: 'SEARCH RETURN (SAVE) FOO' },
      { cmd: 'FETCH $ (UID)' },
      { cmd: 'UID SEARCH RETURN (SAVE) ALL' },
      { cmd: 'UID MOVE $ Esdst', ordered: true, differs: 'move-highestmodseq' },
      { cmd: 'STATUS Esdst (MESSAGES UIDNEXT)' },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    console.log('named differences:', Object.fromEntries(seen));
  });

  test('\\Recent: EXAMINE and STATUS report it without taking it, SELECT takes it (RFC 3501 section 2.3.2)', async () => {
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      // CONDSTORE on both sessions: Dovecot sends HIGHESTMODSEQ at SELECT only then (highestmodseq-always).
      { cmd: 'ENABLE CONDSTORE' },
      { cmd: 'ENABLE CONDSTORE', on: 2 },
      { cmd: 'CREATE Rec' },
      { cmd: 'MULTI Rec a b c' },
      { cmd: 'STATUS Rec (RECENT)' },
      // Read-only: the RECENT count and \Recent flags of messages no session has claimed (section 6.3.2).
      { cmd: 'EXAMINE Rec' },
      { cmd: 'FETCH 1:* (FLAGS)' },
      { cmd: 'SEARCH RECENT' },
      { cmd: 'STATUS Rec (RECENT)', on: 2 },
      // A delivery while examined is \Recent here too: nobody has claimed it.
      { cmd: 'APPENDMSG Rec d', on: 2 },
      { cmd: 'NOOP', check: recentIs(4, true) },
      { cmd: 'FETCH 4 (FLAGS)' },
      // The first read-write session still sees all four as \Recent, and takes them.
      { cmd: 'SELECT Rec', on: 2 },
      { cmd: 'FETCH 1:* (FLAGS)', on: 2 },
      // What the read-write session takes as it arrives is not \Recent for the read-only one.
      { cmd: 'APPENDMSG Rec e', on: 2 },
      { cmd: 'NOOP', check: recentIs(4, false) },
      { cmd: 'FETCH 5 (FLAGS)' },
      // STATUS of the selected mailbox answers from the session's own view (Dovecot): unselect first.
      { cmd: 'UNSELECT' },
      { cmd: 'STATUS Rec (RECENT)' },
      { cmd: 'EXAMINE Rec' },
      { cmd: 'UNSELECT', on: 2 },
      { cmd: 'SELECT Rec', on: 2 },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    assert.equal(seen.size, 0);
  });

  test('SORT, ESORT and THREAD over tricky subjects and References: the same orders and trees', async () => {
    const [d, p] = [await dovecotSide(dovecot), await petrelSide(f)];
    const steps: Step[] = [
      { cmd: 'ENABLE CONDSTORE' },
      { cmd: 'CREATE Tricky' },
      ...TRICKY.map((m, i) => ({
        // Distinct INTERNALDATEs: ARRIVAL ties (same second) are broken by sequence number on both.
        cmd: `APPEND Tricky "07-Dec-2026 10:${String(i).padStart(2, '0')}:00 +0000" {${Buffer.byteLength(m)}+}\r\n${m}`,
      })),
      { cmd: 'SELECT Tricky' },
      ...SORT_KEYS.map((k) => ({ cmd: `UID SORT (${k}) UTF-8 ALL`, ordered: true })),
      { cmd: 'SORT (SUBJECT) UTF-8 UID 5:25', ordered: true },
      { cmd: 'SORT (REVERSE SUBJECT REVERSE ARRIVAL) UTF-8 NOT UID 9', ordered: true },
      { cmd: 'UID THREAD REFERENCES UTF-8 ALL' },
      { cmd: 'UID THREAD ORDEREDSUBJECT UTF-8 ALL' },
      { cmd: 'THREAD REFERENCES UTF-8 UID 3:20' },
      { cmd: 'THREAD ORDEREDSUBJECT UTF-8 UID 3:20' },
      { cmd: 'THREAD REFERENCES UTF-8 NOT UID 1,9,19' },
      // ESORT (RFC 5267 section 3): ESEARCH in sort order, MIN and MAX its first and last, ranges only where
      // the order ascends (section 3.2); MODSEQ is that of the messages returned (RFC 4731 section 3.2).
      ...SORT_KEYS.map((k) => ({ cmd: `SORT RETURN (MIN MAX COUNT ALL) (${k}) UTF-8 ALL` })),
      { cmd: 'UID SORT RETURN () (REVERSE DATE) UTF-8 UID 5:25' },
      { cmd: 'UID SORT RETURN (MIN MAX) (FROM REVERSE SIZE) UTF-8 NOT UID 9' },
      { cmd: 'SORT RETURN (COUNT ALL) (ARRIVAL) UTF-8 SUBJECT "same date"' },
      { cmd: 'SORT RETURN (MIN MAX ALL) (SUBJECT) UTF-8 DELETED' },
      { cmd: 'SORT RETURN (COUNT) (SUBJECT) UTF-8 DELETED' },
      { cmd: 'UID SORT RETURN (ALL) (SUBJECT) UTF-8 MODSEQ 1' },
      { cmd: 'UID SORT RETURN (MIN) (REVERSE ARRIVAL) UTF-8 MODSEQ 1' },
      { cmd: 'SORT RETURN (MAX) (SUBJECT DATE) UTF-8 MODSEQ 1' },
      { cmd: 'UID SORT RETURN (SAVE) (SUBJECT) UTF-8 UID 3:9' },
      { cmd: 'UID SEARCH RETURN (ALL) $' },
      { cmd: 'UID SORT RETURN (SAVE MAX) (DATE) UTF-8 ALL' },
      { cmd: 'UID SEARCH RETURN (ALL) $' },
      { cmd: 'UID SORT RETURN (SAVE ALL COUNT) (REVERSE SUBJECT) UTF-8 UID 1:10' },
      { cmd: 'SORT RETURN (ALL) (SUBJECT) UTF-8 $' },
      // PARTIAL of a SORT: positions in sort order (RFC 9394 section 3.1).
      { cmd: 'UID SORT RETURN (PARTIAL 1:5) (SUBJECT) UTF-8 ALL' },
      { cmd: 'SORT RETURN (PARTIAL 3:7 MIN MAX COUNT) (REVERSE DATE) UTF-8 ALL' },
      { cmd: 'UID SORT RETURN (PARTIAL 28:40) (ARRIVAL) UTF-8 ALL' },
      { cmd: 'UID SORT RETURN (PARTIAL 31:40) (FROM) UTF-8 ALL' },
      { cmd: 'SORT RETURN (BOGUS) (SUBJECT) UTF-8 ALL' },
      { cmd: 'SORT RETURN ALL (SUBJECT) UTF-8 ALL' },
      { cmd: 'SORT RETURN (SAVE) (SUBJECT) UTF-8 FOO' },
      { cmd: 'UID SEARCH RETURN (ALL) $', differs: 'sort-save-failed' },
    ];
    const seen = await compare(d, p, steps);
    for (const c of [...d.sessions, ...p.sessions]) c.close();
    assert.deepEqual([...seen.keys()], ['sort-save-failed']);
  });
});

const SORT_KEYS = [
  'ARRIVAL',
  'REVERSE ARRIVAL',
  'CC',
  'DATE',
  'REVERSE DATE',
  'FROM',
  'SIZE',
  'SUBJECT',
  'REVERSE SUBJECT',
  'SUBJECT DATE',
  'TO',
  'DISPLAYFROM',
  'DISPLAYTO',
  'FROM REVERSE SIZE',
];

/**
 * Base subjects (RFC 5256 section 2.1: Re:, Fwd:, [blobs], (fwd), [fwd: ...]) and References (section 3:
 * missing parents, loops, a message naming itself, duplicate Message-IDs, In-Reply-To with two ids,
 * References that contradict an earlier message's, no Message-ID at all, equal dates).
 */
const TRICKY: string[] = (() => {
  const m = (n: number, subject: string, headers: string[], date: string, from = `u${n}@x.test`) =>
    [
      `From: ${from}`,
      `To: t${(n * 7) % 5}@y.test`,
      `Cc: c${(n * 3) % 4}@z.test`,
      `Subject: ${subject}`,
      `Date: ${date}`,
      ...headers,
      '',
      `body ${n}`,
      '',
    ].join('\r\n');
  const day = (d: number, h: number) =>
    `${['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][(d - 1) % 7]}, ${d} Jan 2024 ${String(h).padStart(2, '0')}:00:00 +0000`;
  return [
    m(1, 'Hello world', ['Message-ID: <a@x>'], day(1, 10)),
    m(2, 'Re: Hello world', ['Message-ID: <b@x>', 'In-Reply-To: <a@x>'], day(1, 11)),
    m(3, 'RE: [list] Re: hello WORLD', ['Message-ID: <c@x>', 'References: <missing@x> <b@x>'], day(1, 12)),
    m(4, 'Fwd: hello world (fwd)', ['Message-ID: <d@x>'], day(1, 9)),
    m(5, '[fwd: Hello world]', ['Message-ID: <e@x>'], day(1, 13)),
    m(6, 'loop one', ['Message-ID: <f@x>', 'References: <g@x>'], day(2, 10)),
    m(7, 'loop two', ['Message-ID: <g@x>', 'References: <f@x>'], day(2, 11)),
    m(8, 'dup id first', ['Message-ID: <dup@x>'], day(3, 10)),
    m(9, 'dup id second', ['Message-ID: <dup@x>'], day(3, 9)),
    m(10, 'child of dup', ['Message-ID: <h@x>', 'In-Reply-To: <dup@x>'], day(3, 12)),
    m(11, 'orphan A', ['Message-ID: <i@x>', 'References: <gone1@x> <gone2@x>'], day(4, 10)),
    m(12, 'orphan B', ['Message-ID: <j@x>', 'References: <gone1@x> <gone3@x>'], day(4, 9)),
    m(13, 'Re: orphan B', ['Message-ID: <k@x>', 'References: <gone1@x> <gone3@x> <j@x>'], day(4, 11)),
    m(14, 'self ref', ['Message-ID: <l@x>', 'References: <l@x>'], day(5, 10)),
    m(15, '', ['Message-ID: <m@x>'], day(5, 11)),
    m(16, 'Re:', ['Message-ID: <n@x>'], day(5, 12)),
    m(17, '[tag]', ['Message-ID: <o@x>'], day(5, 13)),
    m(18, '[tag] [other] Fw: subj', ['Message-ID: <p@x>'], day(6, 10)),
    m(19, 'subj', ['Message-ID: <q@x>'], day(6, 9)),
    m(20, 'Re: subj', ['Message-ID: <r@x>', 'In-Reply-To: <zz@x> <q@x>'], day(6, 11)),
    m(21, 'ref chain conflict', ['Message-ID: <s@x>', 'References: <a@x> <q@x>'], day(7, 10)),
    m(22, 'no id', [], day(7, 11)),
    m(23, 'Re: no id', ['In-Reply-To: <nonexist@x>'], day(7, 12)),
    m(24, '=?utf-8?q?Re=3A_=C3=A9t=C3=A9?=', ['Message-ID: <t@x>'], day(8, 10), '"Zed" <zed@x.test>'),
    m(25, 'été', ['Message-ID: <u@x>'], day(8, 9), 'Alpha <alpha@x.test>'),
    m(26, 'Re: Re: Re:   fwd:  [x]  spaced   out  ', ['Message-ID: <v@x>'], day(8, 11)),
    m(27, 'spaced out', ['Message-ID: <w@x>', 'References: <v@x>', 'In-Reply-To: <t@x>'], day(8, 8)),
    m(28, 'same date', ['Message-ID: <x1@x>'], day(8, 8)),
    m(29, 'same date', ['Message-ID: <x2@x>'], day(8, 8)),
    m(30, 'Re: same date', ['Message-ID: <x3@x>', 'References: <x1@x>'], day(8, 8)),
  ];
})();
