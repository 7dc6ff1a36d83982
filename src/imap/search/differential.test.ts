// Differential test against Dovecot: the same corpus messages, flags, dates and expunges in a private
// Dovecot (over IMAP) and in Petrel (through MailService), so UIDs match; then UID SEARCH, UID SORT and
// UID THREAD answers must agree. Where we differ on purpose, the difference is named with the RFC text
// that allows it, and only the messages that show that difference may differ.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpusRange, corpusSample } from '../../../test/helpers/corpus.ts';
import { crafted } from '../../../test/helpers/crafted-messages.ts';
import { args } from '../../../test/helpers/imap-args.ts';
import { ImapClient, numbersOf } from '../../../test/helpers/imap-line-client.ts';
import { openTestMail, type TestMail } from '../../../test/helpers/mail.ts';
import { type Dovecot, peer, startDovecot } from '../../../test/helpers/peers.ts';
import { appendToDovecot, appendToPetrel, type MirrorMessage } from '../../../test/helpers/search-mirror.ts';
import { parseDateParts } from '../../mime/date.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { MimePart, ParsedMessage } from '../../mime/types.ts';
import type { SearchSnapshot } from './api.ts';
import { searchEngine } from './index.ts';
import { formatThreads } from './thread-format.ts';

const BASE = Date.UTC(2024, 0, 1, 9, 30);
const EXPUNGED = [5, 50, 333];
const CHANGED = '1:40';
const SAVE = 'OR FLAGGED FROM adam';

function flagsFor(i: number): string[] {
  const f: string[] = [];
  if (i % 3 === 0) f.push('\\Seen');
  if (i % 7 === 0) f.push('\\Flagged');
  if (i % 11 === 0) f.push('\\Draft');
  if (i % 4 === 0) f.push('$Work');
  return f;
}

/** Mailing-list threads (easy-ham in order), a spread of ham and spam (HTML), and crafted messages. */
function messages(): MirrorMessage[] {
  const raws = [...corpusRange(0, 300), ...corpusSample(200, 7), ...crafted()];
  return raws.map((raw, i) => ({
    raw,
    flags: flagsFor(i),
    internalDate: BASE + i * 13 * 3_600_000,
    prefix: i % 10 === 3 ? 'Delivered-To: user+tag@example.com\r\n' : undefined,
  }));
}

// ---- named differences: each a predicate on one message (uid = index + 1) ----

function hasHtml(p: MimePart): boolean {
  return (
    (p.type === 'text' && p.subtype === 'html') || p.children.some(hasHtml) || (!!p.message && hasHtml(p.message.root))
  );
}
/** RFC 9051 section 6.4.4 allows "flexible matching" for BODY and TEXT: we search HTML as its text, Dovecot its markup. */
const htmlBody = (m: ParsedMessage) => hasHtml(m.root);
/**
 * No usable Date: (absent, unparseable, or a 4-digit year before 1970 such as "0102", valid per RFC 5322
 * section 3.3). RFC 9051 section 6.4.4 defines SENT* by the Date: field alone: without one we match
 * nothing, Dovecot takes 1-Jan-1970. SORT DATE: we sort by the date as written, Dovecot cannot hold it
 * and uses INTERNALDATE (the RFC 5256 section 2.2 fallback for dates it cannot parse).
 */
const noModernDate = (m: ParsedMessage) => {
  const d = m.envelope.date === null ? null : parseDateParts(m.envelope.date);
  return d === null || d.ms < 0;
};
/**
 * An address without a mailbox ("Name<>"): its addr-mailbox is empty, which RFC 5256 section 3 collates
 * first; Dovecot fills in "MISSING_MAILBOX" and sorts that.
 */
const emptyMailbox = (field: 'from' | 'to' | 'cc') => (m: ParsedMessage) =>
  m.envelope[field]?.some((a) => a.mailbox === '') ?? false;
/**
 * A display name mixing quoted strings and atoms ('"" Angles " Puglisi"'), outside RFC 5322 section 3.2.5
 * phrase syntax: RFC 5957 section 3 sorts by the display name, and the two parsers recover different ones.
 */
const brokenPhrase = (field: 'from' | 'to') => (m: ParsedMessage) => {
  const raw = m.headerFields.find((h) => h.name.toLowerCase() === field)?.value ?? '';
  const name = raw.split('<')[0];
  return (name.match(/"/g)?.length ?? 0) > 2 || /"\s*[^\s"]/.test(name.replace(/^\s*"[^"]*"\s*$/, ''));
};
/**
 * RFC 9051 section 6.4.4: FROM matches "the envelope structure's FROM field" without fixing a text form.
 * We match the decoded header text; Dovecot a re-rendered address list with <> around every address.
 */
const bareAddress = (m: ParsedMessage) => !m.headers.from.includes('<');

interface Case {
  query: string;
  /** Messages allowed to differ, and why; absent: the answers must be equal. */
  differs?: (m: ParsedMessage) => boolean;
}

function searchCases(h: { modseq: number }): Case[] {
  const plain = [
    'ALL',
    'SEEN',
    'UNSEEN',
    'FLAGGED',
    'UNFLAGGED',
    'DRAFT',
    'ANSWERED',
    'UNANSWERED',
    'DELETED',
    'UNDELETED',
    'KEYWORD $Work',
    'UNKEYWORD $work',
    'KEYWORD Other',
    'RECENT',
    'NEW',
    'OLD',
    '1:10',
    '20,40:45,*',
    '490:*',
    'UID 1:10',
    'UID 100:*',
    'UID 9999:*',
    'UID 4:6,48:52',
    '$',
    'UID $',
    'NOT $',
    'OR $ SEEN',
    'LARGER 4000',
    'SMALLER 1500',
    'BEFORE 1-Feb-2024',
    'ON 3-Jan-2024',
    'SINCE 15-Mar-2024',
    'NOT BEFORE 1-Jun-2024',
    'OLDER 86400',
    'YOUNGER 86400',
    `MODSEQ ${h.modseq + 1}`,
    `MODSEQ "/flags/\\\\answered" all ${h.modseq + 1}`,
    'SAVEDATESUPPORTED',
    'SAVEDSINCE 1-Jan-2020',
    'SUBJECT "re:"',
    'SUBJECT fork',
    'SUBJECT "grüße"',
    'SUBJECT ""',
    'FROM adam',
    'FROM "jörg"',
    'FROM ".com"',
    'TO fork',
    'TO ""',
    'CC "@"',
    'CC ""',
    'BCC hidden',
    'HEADER X-Mailer ""',
    'HEADER Message-ID "@"',
    'HEADER List-Id "fork"',
    'HEADER References "@"',
    'HEADER Delivered-To "user+tag"',
    'HEADER X-Dup "second"',
    'HEADER subject "Grüße"',
    'HEADER X-Absent ""',
    'TEXT "spamassassin.taint.org"',
    'TEXT "user+tag"',
    'TEXT "jörg"',
    'BODY linux',
    'BODY "straße"',
    'BODY "café crème"',
    'FLAGGED SINCE 1-Feb-2024 NOT FROM "Smith"',
    'OR SEEN NOT (FLAGGED BODY linux)',
    'OR (SUBJECT re LARGER 3000) (FROM com SENTSINCE 1-Sep-2002)',
    'UID 1:100 NOT SUBJECT a',
    'OR OR FLAGGED DRAFT NOT OR SEEN ANSWERED',
    '(OR BODY linux BODY perl) (OR FROM com TO com) UNDELETED',
  ].map((query) => ({ query }));
  return [
    ...plain,
    ...['BODY the', 'BODY "http://"', 'BODY money', 'BODY "click here"', 'BODY "<b>"', 'TEXT the', 'TEXT "> "'].map(
      (query) => ({ query, differs: htmlBody }),
    ),
    ...['SENTBEFORE 1-Sep-2002', 'SENTON 22-Aug-2002', 'SENTSINCE 23-Aug-2002', 'SENTON 1-Jan-2024'].map((query) => ({
      query,
      differs: noModernDate,
    })),
    { query: 'FROM "<"', differs: bareAddress },
  ];
}

const SORTS: [string, ((m: ParsedMessage) => boolean)?][] = [
  ['ARRIVAL'],
  ['SIZE'],
  ['REVERSE SIZE'],
  ['SUBJECT'],
  ['REVERSE SUBJECT'],
  ['SUBJECT REVERSE DATE', noModernDate],
  ['DATE', noModernDate],
  ['FROM', emptyMailbox('from')],
  ['TO', emptyMailbox('to')],
  ['CC', emptyMailbox('cc')],
  ['DISPLAYFROM', brokenPhrase('from')],
  ['DISPLAYTO', brokenPhrase('to')],
];

const dovecotPeer = peer('dovecot', 'dovecot-imapd');

describe('SEARCH, SORT and THREAD against Dovecot', { skip: dovecotPeer.skip }, () => {
  let dovecot: Dovecot;
  let c: ImapClient;
  let t: TestMail;
  let snap: SearchSnapshot;
  let parsed: ParsedMessage[];
  const h = { modseq: 0 };
  let petrelModseq = 0;

  before(async () => {
    const msgs = messages();
    parsed = msgs.map((m) => parseMessage(m.raw));
    dovecot = await startDovecot({ users: 1 });
    t = await openTestMail('sqlite');
    c = await ImapClient.open(dovecot.imapPort);
    await c.ok('LOGIN user1 pass');
    await appendToDovecot(c, msgs);
    await c.ok('ENABLE CONDSTORE');
    const sel = await c.ok('SELECT INBOX');
    h.modseq = Number(/HIGHESTMODSEQ (\d+)/.exec(sel.untagged.join('\n'))![1]);
    await appendToPetrel(t.mail, t.accountId, t.inbox.id, msgs);
    // The same flag change and expunges on both sides; MODSEQ then finds the changed messages.
    let inbox = (await t.store.getMailbox(t.accountId, t.inbox.id))!;
    petrelModseq = inbox.modseq;
    await c.ok(`UID STORE ${CHANGED} +FLAGS.SILENT (\\Answered)`);
    await t.mail.updateFlags(
      inbox,
      Array.from({ length: 40 }, (_, i) => i + 1),
      'add',
      ['\\Answered'],
    );
    await c.ok(`UID STORE ${EXPUNGED.join(',')} +FLAGS.SILENT (\\Deleted)`);
    await c.ok(`UID EXPUNGE ${EXPUNGED.join(',')}`);
    await t.mail.expunge(inbox, EXPUNGED);
    inbox = (await t.store.getMailbox(t.accountId, t.inbox.id))!;
    const records = await t.store.listMessages(inbox.id);
    snap = { mailbox: inbox, messages: records, recent: new Set(records.map((r) => r.uid)), saved: null };
    // SEARCHRES: Dovecot keeps the result; ours goes in the snapshot.
    await c.ok(`UID SEARCH RETURN (SAVE) ${SAVE}`);
    const q = searchEngine.parseSearch(args(SAVE), { utf8: false });
    assert.ok(q.ok);
    snap.saved = await searchEngine.search(t.mail, snap, q.value);
  });
  after(async () => {
    c?.close();
    await dovecot?.stop();
    await t?.close();
  });

  test('both mailboxes hold the same UIDs, all \\Recent to this session', async () => {
    assert.deepEqual(
      numbersOf(await c.ok('UID SEARCH ALL'), 'SEARCH'),
      snap.messages.map((m) => m.uid),
    );
    assert.equal(snap.messages.length, 505 - EXPUNGED.length);
    assert.equal(numbersOf(await c.ok('UID SEARCH RECENT'), 'SEARCH').length, snap.messages.length);
  });

  test('UID SEARCH: every key family gives the same UIDs (named differences aside)', async () => {
    // Petrel's MODSEQ numbers are its own: translate the one query that names a mod-sequence.
    const ours = (q: string) =>
      q
        .replace(`MODSEQ ${h.modseq + 1}`, `MODSEQ ${petrelModseq + 1}`)
        .replace(`all ${h.modseq + 1}`, `all ${petrelModseq + 1}`);
    let named = 0;
    for (const { query, differs } of searchCases(h)) {
      const dv = numbersOf(await c.ok(`UID SEARCH ${query}`), 'SEARCH');
      const q = searchEngine.parseSearch(args(ours(query)), { utf8: false });
      assert.ok(q.ok, query);
      const got = await searchEngine.search(t.mail, snap, q.value);
      if (!differs) {
        assert.deepEqual(got, dv, query);
        continue;
      }
      const diff = [...got.filter((u) => !dv.includes(u)), ...dv.filter((u) => !got.includes(u))];
      for (const uid of diff) assert.ok(differs(parsed[uid - 1]), `${query}: UID ${uid} differs for no named reason`);
      named += diff.length;
    }
    // The named differences do show up (the cases are not vacuous).
    assert.ok(named > 0);
  });

  test('sequence ranges past the last message: RFC 9051 section 9 seq-range vs Dovecot', async () => {
    // "*" is the last sequence number and a range is "regardless of order": 1000:* is 503:1000, so the
    // last message matches. Dovecot clips the range to the mailbox and finds nothing. (The RFC also
    // suggests BAD for such numbers; a SEARCH that names them gets the range's plain meaning here.)
    const q = searchEngine.parseSearch(args('1000:*'), { utf8: false });
    assert.ok(q.ok);
    assert.deepEqual(await searchEngine.search(t.mail, snap, q.value), [snap.messages[snap.messages.length - 1].uid]);
    assert.deepEqual(numbersOf(await c.ok('UID SEARCH 1000:*'), 'SEARCH'), []);
  });

  test('UID SORT: every criterion gives the same order (named differences aside)', async () => {
    for (const criteria of ['ALL', 'UNSEEN']) {
      for (const [keys, differs] of SORTS) {
        const text = `(${keys}) UTF-8 ${criteria}`;
        const dv = numbersOf(await c.ok(`UID SORT ${text}`), 'SORT');
        const s = searchEngine.parseSort(args(text), { utf8: false });
        assert.ok(s.ok, text);
        const got = await searchEngine.sort(t.mail, snap, s.value.keys, s.value.query);
        const keep = (u: number) => !differs?.(parsed[u - 1]);
        assert.deepEqual(got.filter(keep), dv.filter(keep), text);
        assert.deepEqual(
          [...got].sort((a, b) => a - b),
          [...dv].sort((a, b) => a - b),
          text,
        );
        const skipped = got.filter((u) => !keep(u)).length;
        assert.ok(skipped <= 5, `${text}: ${skipped} messages set aside`);
      }
    }
  });

  test('UID THREAD: REFERENCES and ORDEREDSUBJECT build the same trees', async () => {
    // Threads are ordered by sent date: messages without a usable Date: are left out (named above).
    const odd = snap.messages.filter((m) => noModernDate(parsed[m.uid - 1])).map((m) => m.uid);
    const without = odd.length ? ` NOT UID ${odd.join(',')}` : '';
    let nested = 0;
    for (const alg of ['REFERENCES', 'ORDEREDSUBJECT']) {
      for (const criteria of [`ALL${without}`, `UNSEEN${without}`, `SINCE 1-Mar-2024${without}`]) {
        const text = `${alg} UTF-8 ${criteria}`;
        const r = await c.ok(`UID THREAD ${text}`);
        const dv = (r.untagged.find((u) => u.startsWith('THREAD')) ?? 'THREAD').slice(6).trim();
        const p = searchEngine.parseThread(args(text), { utf8: false });
        assert.ok(p.ok, text);
        const tree = await searchEngine.thread(t.mail, snap, p.value.algorithm, p.value.query);
        assert.equal(formatThreads(tree), dv, text);
        nested += tree.filter((n) => n.children.length > 0).length;
      }
    }
    assert.ok(nested > 20, 'the corpus has real threads');
  });
});
