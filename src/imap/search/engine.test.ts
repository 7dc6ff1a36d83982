// The search engine over a real store (SQLite, and PostgreSQL when PETREL_TEST_PG_URL is set) holding
// SpamAssassin corpus messages plus crafted ones: every key family, nesting, "$", compared with the
// linear-scan reference; and the plan: index once per key, no bodies for keys that do not need them.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { corpusSample } from '../../../test/helpers/corpus.ts';
import { crafted } from '../../../test/helpers/crafted-messages.ts';
import { args } from '../../../test/helpers/imap-args.ts';
import { openTestMail, type TestMail } from '../../../test/helpers/mail.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { loadFacts, referenceSearch } from '../../../test/helpers/search-reference.ts';
import type { SearchSnapshot } from './api.ts';
import { searchEngine } from './index.ts';
import type { Program } from './program.ts';

const CORPUS = 240;
const BASE = Date.UTC(2024, 0, 1, 9, 30);
const HOUR = 3_600_000;

function flagsFor(i: number): string[] {
  const f: string[] = [];
  if (i % 3 === 0) f.push('\\Seen');
  if (i % 5 === 0) f.push('\\Answered');
  if (i % 7 === 0) f.push('\\Flagged');
  if (i % 11 === 0) f.push('\\Deleted');
  if (i % 13 === 0) f.push('\\Draft');
  if (i % 4 === 0) f.push('$Forwarded');
  if (i % 6 === 1) f.push('$Junk');
  return f;
}

/** Fills the inbox: corpus and crafted messages, some with prefixes, then expunges and flag changes. */
async function fill(t: TestMail): Promise<SearchSnapshot> {
  const raws = [...corpusSample(CORPUS), ...crafted()];
  const items = [];
  for (let i = 0; i < raws.length; i++) {
    items.push({
      accountId: t.accountId,
      mailboxId: t.inbox.id,
      content: await t.mail.ingest(raws[i]),
      flags: flagsFor(i),
      internalDate: BASE + i * 17 * HOUR,
      prefix: i % 10 === 3 ? 'Delivered-To: user+tag@example.com\r\n' : undefined,
    });
  }
  for (let i = 0; i < items.length; i += 50) await t.mail.appendIngested(items.slice(i, i + 50));
  const inbox = (await t.store.getMailbox(t.accountId, t.inbox.id))!;
  await t.mail.expunge(inbox, [26, 77, 128, 129, 200]);
  await t.mail.updateFlags(inbox, [2, 4, 8, 16, 32, 64], 'add', ['\\Flagged', 'Later']);
  const messages = await t.store.listMessages(inbox.id);
  return {
    mailbox: (await t.store.getMailbox(t.accountId, inbox.id))!,
    messages,
    recent: new Set(messages.filter((m) => m.uid > 230).map((m) => m.uid)),
    saved: messages.filter((m) => m.uid % 9 === 0).map((m) => m.uid),
  };
}

/** Queries covering every key family, alone and combined; `snap` supplies ids and modseqs. */
function queries(snap: SearchSnapshot): string[] {
  const m = snap.messages;
  const midModseq = m[Math.floor(m.length / 2)].modseq;
  const today = new Date();
  const todayText = `${today.getUTCDate()}-${'Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ')[today.getUTCMonth()]}-${today.getUTCFullYear()}`;
  return [
    'ALL',
    ...['SEEN', 'UNSEEN', 'ANSWERED', 'UNANSWERED', 'FLAGGED', 'UNFLAGGED', 'DELETED', 'UNDELETED', 'DRAFT', 'UNDRAFT'],
    'KEYWORD $Forwarded',
    'UNKEYWORD $forwarded',
    'KEYWORD $JUNK',
    'KEYWORD later',
    'KEYWORD \\Seen',
    'KEYWORD nothere',
    'RECENT',
    'NEW',
    'OLD',
    '1:10',
    '5,7,9:12',
    '*',
    '200:*',
    '1000:*',
    '$',
    'NOT $',
    'UID $',
    'OR $ SEEN',
    'UID 1:50',
    'UID *:100',
    'UID 30,60:70',
    'UID 99999',
    'UID 250:*',
    'LARGER 5000',
    'SMALLER 2000',
    'LARGER 0',
    'BEFORE 1-Feb-2024',
    'ON 3-Jan-2024',
    'SINCE 15-Mar-2024',
    'SENTBEFORE 1-Jan-2002',
    'SENTON 22-Aug-2002',
    'SENTSINCE 1-Sep-2002',
    'SENTON 1-Jan-2024',
    'SENTON 2-Jan-2024',
    'SAVEDBEFORE 1-Jan-2000',
    'SAVEDSINCE 1-Jan-2000',
    `SAVEDON ${todayText}`,
    'OLDER 86400',
    // Halfway between two messages' ages (they are 17 hours apart), so both keys split the mailbox
    // and a few milliseconds between the engine's clock and the reference's cannot matter.
    `OLDER ${Math.round((Date.now() - m[Math.floor(m.length / 2)].internalDate) / 1000 + 8 * 3600)}`,
    `YOUNGER ${Math.round((Date.now() - m[Math.floor(m.length / 3)].internalDate) / 1000 + 8 * 3600)}`,
    `MODSEQ ${midModseq}`,
    `MODSEQ "/flags/\\\\seen" all ${midModseq}`,
    `EMAILID E${m[4].emailId}`,
    `THREADID T${m[7].threadId}`,
    'EMAILID Exyz',
    'SAVEDATESUPPORTED',
    'SUBJECT "re:"',
    'SUBJECT free',
    'SUBJECT "grüße"',
    'SUBJECT "MÜNCHEN"',
    'SUBJECT ""',
    'FROM yahoo',
    'FROM "jörg"',
    'FROM "@"',
    'TO "example.com"',
    'CC ""',
    'CC "a"',
    'BCC "hidden"',
    'HEADER X-Mailer ""',
    'HEADER Message-ID "@"',
    'HEADER Content-Type multipart',
    'HEADER Delivered-To "user+tag"',
    'HEADER X-Dup second',
    'HEADER Received "localhost"',
    'HEADER X-Nonexistent ""',
    'HEADER subject "Grüße"',
    'BODY money',
    'BODY "click here"',
    'BODY "straße"',
    'BODY "CAFÉ"',
    'BODY "Hello World"',
    'BODY "<b>"',
    'BODY zz',
    'BODY e',
    'BODY ""',
    'TEXT spamassassin',
    'TEXT "user+tag"',
    'TEXT "Subject: Re"',
    'TEXT "jörg"',
    'FLAGGED SINCE 1-Feb-2024 NOT FROM "Smith"',
    'OR BODY money SUBJECT free',
    'NOT (SEEN BODY the)',
    'OR (UNSEEN LARGER 3000) (SEEN SMALLER 3000)',
    'OR OR FLAGGED DELETED NOT OR SEEN ANSWERED',
    '(OR BODY money BODY free) (OR FROM com TO com) UNDELETED',
    'NOT NOT NOT BODY the',
    'UID 1:100 BODY the',
    'TEXT the SUBJECT a HEADER Received from',
    'OR HEADER X-Mailer outlook NOT TEXT the',
    'OR SUBJECT "re:" SENTBEFORE 1-Jan-2002 UNSEEN',
    '$ BODY the',
    // Few candidates: bodies and header blocks are read without the index narrowing them first.
    'UID 1:20 SUBJECT re',
    '1:20 HEADER Received localhost',
    '1:20 FROM "@"',
  ];
}

function backendSuite(backend: 'sqlite' | 'postgres', pgUrl?: string) {
  let t: TestMail;
  let snap: SearchSnapshot;
  let facts: Awaited<ReturnType<typeof loadFacts>>;

  before(async () => {
    t = await openTestMail(backend, pgUrl);
    snap = await fill(t);
    facts = await loadFacts(t.mail, snap);
  });
  after(async () => {
    await t?.close();
  });

  test('every key family, alone and combined, equals the linear scan', async () => {
    let nonEmpty = 0;
    for (const text of queries(snap)) {
      const q = searchEngine.parseSearch(args(text), { utf8: false });
      assert.ok(q.ok, `${text}: ${!q.ok && q.error}`);
      const got = await searchEngine.search(t.mail, snap, q.value);
      const want = referenceSearch(facts, (q.value.program as Program).root, snap);
      assert.deepEqual(got, want, text);
      if (got.length > 0 && got.length < snap.messages.length) nonEmpty++;
    }
    // The queries discriminate: most select some messages but not all.
    assert.ok(nonEmpty > 80, `only ${nonEmpty} queries selected a proper subset`);
  });

  test('crafted messages: decoded headers and bodies, sender-local dates, prefixes', async () => {
    const uidsOf = async (text: string) => {
      const q = searchEngine.parseSearch(args(text), { utf8: false });
      assert.ok(q.ok, text);
      return searchEngine.search(t.mail, snap, q.value);
    };
    const first = CORPUS + 1; // the first crafted message's UID
    assert.deepEqual(await uidsOf('SUBJECT "GRÜSSE aus"'), []);
    assert.deepEqual(await uidsOf('SUBJECT "grüße AUS münchen"'), [first, first + 1]);
    assert.deepEqual(await uidsOf('FROM "JÖRG MÜLLER"'), [first]);
    assert.deepEqual(await uidsOf('BODY "über alles"'), [first]);
    // Sent at 23:30 -0800 on 1 Jan: that is its SENTON day, though UTC is already 2 Jan.
    assert.ok((await uidsOf('SENTON 1-Jan-2024')).includes(first));
    assert.ok(!(await uidsOf('SENTON 2-Jan-2024')).includes(first));
    // HTML is searched as text: tags are not content.
    assert.deepEqual(await uidsOf('BODY "hello world" FROM html'), [first + 3]);
    assert.deepEqual(await uidsOf('BODY "<b>" FROM html'), []);
    assert.deepEqual(await uidsOf('BODY "café crème"'), [first + 4]);
    assert.deepEqual(await uidsOf('HEADER X-Dup "second value"'), [first + 1]);
    assert.deepEqual(await uidsOf('BCC hidden'), [first + 1]);
  });

  test('plan: one index query per text key, no bodies for metadata keys', async () => {
    const calls = { fts: 0, bodies: 0 };
    const store = t.mail.store;
    const searchText = store.searchText;
    const bodiesFor = t.mail.bodiesFor;
    store.searchText = (...a) => {
      calls.fts++;
      return searchText.apply(store, a);
    };
    t.mail.bodiesFor = (ids) => {
      calls.bodies++;
      return bodiesFor.call(t.mail, ids);
    };
    try {
      const run = async (text: string) => {
        calls.fts = 0;
        calls.bodies = 0;
        const q = searchEngine.parseSearch(args(text), { utf8: false });
        assert.ok(q.ok);
        await searchEngine.search(t.mail, snap, q.value);
        return { ...calls };
      };
      assert.deepEqual(await run('FLAGGED UNSEEN LARGER 100 SINCE 1-Jan-2024 UID 1:* MODSEQ 1'), { fts: 0, bodies: 0 });
      assert.deepEqual(await run('BODY the'), { fts: 1, bodies: 0 });
      assert.deepEqual(await run('OR BODY the NOT BODY the'), { fts: 1, bodies: 0 });
      assert.deepEqual(await run('BODY money TEXT free BODY money'), { fts: 2, bodies: 0 });
      // Cheap keys first: nothing left for the index or the bodies to look at.
      assert.deepEqual(await run('BODY the SUBJECT x UID 99999'), { fts: 0, bodies: 0 });
      // A header key over many messages is narrowed by the header index before bodies are read.
      const r = await run('SUBJECT free');
      assert.equal(r.fts, 1);
    } finally {
      store.searchText = searchText;
      t.mail.bodiesFor = bodiesFor;
    }
  });

  test('messages with more text than the index holds: BODY and TEXT read them past it', async () => {
    const box = await t.store.createMailbox(t.accountId, 'Long');
    const filler = 'lorem ipsum '.repeat(100_000); // 1.2 MB, past the parser's maxTextLength
    const head = 'From: a@example.com\r\nSubject: long\r\nMIME-Version: 1.0\r\n';
    const raws = [
      `${head}Content-Type: text/plain\r\n\r\n${filler}tailword\r\n`,
      `${head}Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n${filler.replace(/.{70}/g, '$&=\r\n')}caf=E9 cr=E8me\r\n--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=archive.zip\r\n\r\nUEsDBA==\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: forwarded one\r\n\r\ninner body\r\n--b--\r\n`,
      `${head}\r\nshort tailword\r\n`,
    ];
    const items = [];
    for (const raw of raws)
      items.push({
        accountId: t.accountId,
        mailboxId: box.id,
        content: await t.mail.ingest(Buffer.from(raw, 'latin1')),
      });
    await t.mail.appendIngested(items);
    const messages = await t.store.listMessages(box.id);
    const long: SearchSnapshot = { mailbox: box, messages, recent: new Set(), saved: [] };
    const longFacts = await loadFacts(t.mail, long);
    for (const text of [
      'BODY tailword',
      'TEXT tailword',
      'BODY "café crème"',
      'BODY CRÈME',
      'TEXT archive.zip',
      'BODY archive.zip',
      'TEXT "forwarded one"',
      'BODY "inner body"',
      'BODY "ipsum lorem"',
      'NOT BODY tailword',
      'BODY absentword',
    ]) {
      const q = searchEngine.parseSearch(args(`CHARSET UTF-8 ${text}`), { utf8: false });
      assert.ok(q.ok, text);
      const got = await searchEngine.search(t.mail, long, q.value);
      assert.deepEqual(got, referenceSearch(longFacts, (q.value.program as Program).root, long), text);
    }
    const uids = async (text: string) => {
      const q = searchEngine.parseSearch(args(`CHARSET UTF-8 ${text}`), { utf8: false });
      assert.ok(q.ok);
      return searchEngine.search(t.mail, long, q.value);
    };
    assert.deepEqual(await uids('BODY tailword'), [1, 3]);
    assert.deepEqual(await uids('BODY "café crème"'), [2]);
    assert.deepEqual(await uids('TEXT archive.zip'), [2]);
    assert.deepEqual(await uids('BODY archive.zip'), []);
  });

  test('SORT and THREAD return the searched messages, ordered', async () => {
    const all = snap.messages.map((m) => m.uid);
    const parse = (text: string) => {
      const r = searchEngine.parseSort(args(text), { utf8: false });
      assert.ok(r.ok, text);
      return r.value;
    };
    for (const crit of ['ARRIVAL', 'REVERSE SIZE', 'DATE', 'SUBJECT', 'FROM', 'TO', 'CC', 'DISPLAYFROM', 'DISPLAYTO']) {
      const s = parse(`(${crit}) UTF-8 ALL`);
      const got = await searchEngine.sort(t.mail, snap, s.keys, s.query);
      assert.deepEqual(
        [...got].sort((a, b) => a - b),
        all,
        crit,
      );
    }
    const size = parse('(SIZE) UTF-8 UNSEEN');
    const bySize = await searchEngine.sort(t.mail, snap, size.keys, size.query);
    const sizes = bySize.map((u) => snap.messages.find((m) => m.uid === u)!.size);
    assert.deepEqual(
      sizes,
      [...sizes].sort((a, b) => a - b),
    );
    for (const alg of ['REFERENCES', 'ORDEREDSUBJECT']) {
      const th = searchEngine.parseThread(args(`${alg} UTF-8 UNDELETED`), { utf8: false });
      assert.ok(th.ok);
      const tree = await searchEngine.thread(t.mail, snap, th.value.algorithm, th.value.query);
      const uids: number[] = [];
      const walk = (n: { uid: number | null; children: unknown[] }) => {
        if (n.uid !== null) uids.push(n.uid);
        for (const c of n.children) walk(c as typeof n);
      };
      tree.forEach(walk);
      const want = snap.messages.filter((m) => !m.flags.includes('\\Deleted')).map((m) => m.uid);
      assert.deepEqual(
        uids.sort((a, b) => a - b),
        want,
        alg,
      );
    }
  });
}

describe('search engine on SQLite', () => backendSuite('sqlite'));

const pg = pgTestUrl();
describe('search engine on PostgreSQL', { skip: pg ? undefined : PG_SKIP_REASON }, () => backendSuite('postgres', pg));
