// The spam sub-store on both backends: verdict rows, greylisting triplets and client passes, rate windows,
// allow and block lists (an account's own ones kept under their limit by concurrent adds), users' judgements.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import type { Store } from '../../core/ports.ts';
import { openPostgres } from '../postgres/driver.ts';
import { openSqlite } from '../sqlite/driver.ts';
import { openSqliteStore } from '../sqlite/store.ts';
import type { SqlDriver } from './driver.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { openSqlStore } from './store.ts';

async function exercise(store: Store): Promise<void> {
  const s = store.spam;
  await s.saveVerdicts([
    {
      accountId: 3,
      messageId: 7,
      action: 'junk',
      score: 7.5,
      symbols: '[{"name":"SPF_FAIL","score":3}]',
      clientIp: '192.0.2.1',
      mailFrom: 'a@b.test',
      createdAt: 1000,
    },
    {
      accountId: null,
      messageId: null,
      action: 'reject',
      score: 1.25,
      symbols: '[]',
      clientIp: '192.0.2.2',
      mailFrom: '',
      createdAt: 1001,
      // Refused for accounts 3 and 4, each for its own reasons (3 twice: kept once).
      refusedFor: [
        { accountId: 3, score: 16, symbols: '[{"name":"BLOCKLISTED","score":0,"force":"reject"}]' },
        { accountId: 4, score: 1.25, symbols: '[]' },
        { accountId: 3, score: 16, symbols: '[]' },
      ],
    },
  ]);
  // What each account may see refused for it: its own score and symbols, the message's sender and time.
  const [mine, ...others] = await s.refusalsFor(3, 10);
  assert.deepEqual(others, []);
  assert.deepEqual(
    [mine.accountId, mine.action, mine.score, mine.symbols, mine.mailFrom, mine.createdAt, mine.messageId],
    [3, 'reject', 16, '[{"name":"BLOCKLISTED","score":0,"force":"reject"}]', '', 1001, null],
  );
  assert.equal((await s.refusalsFor(4, 10))[0].score, 1.25);
  assert.deepEqual(await s.refusalsFor(5, 10), [], 'not addressed to 5');
  const [v] = await s.verdictsFor(3, 7);
  assert.equal(v.action, 'junk');
  assert.equal(v.score, 7.5);
  assert.equal(v.clientIp, '192.0.2.1');
  assert.deepEqual(
    (await s.recentVerdicts(3, 5)).map((x) => [x.messageId, x.action]),
    [[7, 'junk']],
  );
  assert.deepEqual(await s.recentVerdicts(4, 5), []);
  const [r] = await s.recentRefusals(5);
  assert.deepEqual([r.action, r.score, r.accountId, r.mailFrom], ['reject', 1.25, null, '']);

  assert.equal(await s.getTriplet('n|a|b'), undefined);
  await s.startTriplet('n|a|b', 100);
  await s.touchTriplet('n|a|b', 150);
  assert.deepEqual(await s.getTriplet('n|a|b'), { key: 'n|a|b', firstSeen: 100, lastSeen: 150, passedAt: null });
  await s.passTriplet('n|a|b', 'n', 400);
  await s.passTriplet('n|a|b', 'n', 500); // a second pass of the same triplet does not count again
  assert.equal((await s.getTriplet('n|a|b'))?.passedAt, 400);
  assert.deepEqual(await s.getClient('n'), { net: 'n', passes: 1, lastSeen: 500 });
  await s.touchClient('n', 700);
  assert.deepEqual(await s.getClient('n'), { net: 'n', passes: 1, lastSeen: 700 }, 'seen, not passed again');
  await s.startTriplet('n|a|b', 900); // restarted (expired): waiting again
  assert.equal((await s.getTriplet('n|a|b'))?.passedAt, null);
  // A triplet that never passed is dead past the retry window (a retry then starts over): forgotten then,
  // not kept for the lifetime as a passed one is.
  await s.startTriplet('w|a|b', 1000);
  await s.startTriplet('p|a|b', 1000);
  await s.passTriplet('p|a|b', 'p', 1100);
  await s.prune(0, 0, undefined, 1200);
  assert.equal(await s.getTriplet('w|a|b'), undefined, 'waiting past the retry window');
  assert.equal((await s.getTriplet('p|a|b'))?.passedAt, 1100, 'passed: kept');

  assert.equal(await s.countRate('ip:x', 0), 1);
  assert.equal(await s.countRate('ip:x', 0), 2);
  assert.equal(await s.countRate('ip:y', 0), 1);
  assert.equal(await s.countRate('ip:x', 60), 1, 'a new window starts over');
  // Allow and block lists: global (null) and per account; one entry per kind, scope and value.
  const added = await s.addListEntry({ kind: 'block', accountId: null, entry: 'spam.test', note: 'n', createdAt: 5 });
  assert.deepEqual(added && { ...added, id: 0 }, {
    id: 0,
    kind: 'block',
    accountId: null,
    domainId: null,
    entry: 'spam.test',
    note: 'n',
    createdAt: 5,
  });
  assert.equal(
    await s.addListEntry({ kind: 'block', accountId: null, entry: 'spam.test', note: '', createdAt: 6 }),
    null,
  );
  assert.ok(await s.addListEntry({ kind: 'allow', accountId: null, entry: 'spam.test', note: '', createdAt: 6 }));
  assert.ok(await s.addListEntry({ kind: 'block', accountId: 3, entry: 'news.test', note: '', createdAt: 7 }));
  assert.ok(await s.addListEntry({ kind: 'block', accountId: 4, entry: 'other.test', note: '', createdAt: 8 }));
  const entries = (xs: { entry: string; accountId: number | null; kind: string }[]) =>
    xs.map((e) => `${e.kind}:${e.accountId ?? '*'}:${e.entry}`).sort();
  assert.equal((await s.listEntries()).length, 4);
  assert.deepEqual(entries(await s.listEntries(null)), ['allow:*:spam.test', 'block:*:spam.test']);
  assert.deepEqual(entries(await s.listEntries(3)), ['block:3:news.test']);
  // The version changes with every addition and removal (caches of the lists rebuild on it).
  const v1 = await s.listVersion();
  assert.equal(await s.removeListEntry('block', 3, 'news.test'), true);
  const v2 = await s.listVersion();
  assert.notEqual(v2, v1);
  assert.equal(await s.removeListEntry('block', 3, 'news.test'), false);
  assert.equal(await s.removeListEntry('block', null, 'news.test'), false);
  assert.equal(await s.listVersion(), v2);
  assert.ok(await s.addListEntry({ kind: 'block', accountId: 3, entry: 'news.test', note: '', createdAt: 9 }));
  assert.notEqual(await s.listVersion(), v1, 'same count as before, a higher id');
  assert.deepEqual(entries(await s.listEntries(4)), ['block:4:other.test']);
  // An account's own lists with a limit (/account/spam): concurrent adds (one connection each on PostgreSQL)
  // count and add one after the other, so exactly `max` get in, whatever the interleaving.
  const own = (entry: string, kind: 'allow' | 'block' = 'block') =>
    s.addOwnListEntry({ kind, accountId: 77, entry, note: 'added by the user', createdAt: 10 }, 3);
  const results = await Promise.all(Array.from({ length: 20 }, (_, i) => own(`sender${i}.test`)));
  assert.equal(results.filter((r) => typeof r === 'object').length, 3, JSON.stringify(results));
  assert.equal(results.filter((r) => r === 'full').length, 17);
  const kept = await s.listEntries(77);
  assert.equal(kept.length, 3);
  assert.equal(await own(kept[0].entry), 'exists', 'already there: not "full"');
  assert.equal(await own(kept[0].entry, 'allow'), 'full', 'both lists count together');
  const vOwn = await s.listVersion();
  assert.equal(await s.removeListEntry('block', 77, kept[0].entry), true);
  const back = await own(kept[0].entry, 'allow');
  assert.ok(typeof back === 'object' && back.accountId === 77 && back.kind === 'allow', JSON.stringify(back));
  assert.notEqual(await s.listVersion(), vOwn);
  // A domain's entries: their own scope, apart from the global ones and from account 9's.
  const d = await s.addListEntry({
    kind: 'allow',
    accountId: null,
    domainId: 9,
    entry: 'x.test',
    note: '',
    createdAt: 1,
  });
  assert.deepEqual([d?.accountId, d?.domainId], [null, 9]);
  assert.deepEqual(
    (await s.listEntries(null, 9)).map((e) => e.entry),
    ['x.test'],
  );
  assert.deepEqual(await s.listEntries(9), []);
  assert.equal(await s.removeListEntry('allow', null, 'x.test'), false);
  assert.equal(await s.removeListEntry('allow', null, 'x.test', 9), true);

  // Users' judgements: the same one twice is noted once, a change of mind as a change; per account.
  assert.equal(await s.noteJudgement(3, 'd1', 'spam', 100, 0), 'new');
  assert.equal(await s.noteJudgement(3, 'd1', 'spam', 200, 0), 'same');
  assert.equal(await s.noteJudgement(4, 'd1', 'spam', 200, 0), 'new');
  assert.equal(await s.noteJudgement(3, 'd1', 'ham', 300, 0), 'changed');
  assert.equal(await s.noteJudgement(3, 'd1', 'spam', 400, 0), 'changed');
  const twice = await Promise.all([s.noteJudgement(5, 'd2', 'ham', 500, 0), s.noteJudgement(5, 'd2', 'ham', 500, 0)]);
  assert.deepEqual(twice.sort(), ['new', 'same'], 'two at once: one of them counts');
  const flips = await Promise.all([s.noteJudgement(5, 'd2', 'spam', 600, 0), s.noteJudgement(5, 'd2', 'spam', 600, 0)]);
  assert.deepEqual(flips.sort(), ['changed', 'same'], 'a change seen by two nodes at once: one of them retracts');

  assert.ok((await s.prune(10_000, 10_000)) >= 3);
  // Verdicts: pruned only when asked, by their time.
  assert.equal((await s.verdictsSince(0, 100)).length, 2);
  assert.deepEqual(
    (await s.verdictsSince(1001, 100)).map((v) => v.createdAt),
    [1001],
    'since: newest first, from the time given',
  );
  assert.equal(await s.prune(0, 0, 1001), 1, 'the verdict made at 1000');
  assert.deepEqual(
    (await s.verdictsSince(0, 100)).map((v) => v.createdAt),
    [1001],
  );
  // Finding verdicts by sender (address or domain), client IP, account.
  await s.saveVerdicts([
    {
      accountId: 9,
      messageId: 1,
      action: 'accept',
      score: 0,
      symbols: '[]',
      clientIp: '192.0.2.9',
      mailFrom: 'Ann@Shop.test',
      createdAt: 2000,
    },
    {
      accountId: null,
      messageId: null,
      action: 'reject',
      score: 20,
      symbols: '[]',
      clientIp: '192.0.2.9',
      mailFrom: 'bob@sub.shop.test',
      createdAt: 2001,
    },
    {
      accountId: 9,
      messageId: 2,
      action: 'junk',
      score: 7,
      symbols: '[]',
      clientIp: '198.51.100.1',
      mailFrom: 'x@shop_test.example',
      createdAt: 2002,
    },
  ]);
  const at = async (f: Parameters<typeof s.findVerdicts>[0]) => (await s.findVerdicts(f, 10)).map((v) => v.createdAt);
  assert.deepEqual(await at({ sender: 'ann@shop.test' }), [2000]);
  assert.deepEqual(await at({ sender: 'shop.test' }), [2000], 'a domain: addresses at it, not its subdomains');
  assert.deepEqual(await at({ sender: 'sub.shop.test' }), [2001]);
  assert.deepEqual(await at({ sender: 'shop_test.example' }), [2002], '_ is not a wildcard');
  assert.deepEqual(await at({ sender: 'shopxtest.example' }), []);
  assert.deepEqual(await at({ clientIp: '192.0.2.9' }), [2001, 2000]);
  assert.deepEqual(await at({ clientIp: '192.0.2.9', accountId: 9 }), [2000]);
  assert.equal(await s.getClient('n'), undefined);
  assert.equal(await s.countRate('ip:x', 60), 1);
  assert.equal(await s.rateCount('ip:x', 60), 1, 'read without counting');
  assert.equal(await s.rateCount('ip:x', 120), 0, 'another window');
  assert.equal(await s.countRate('ip:x', 60), 2);
  await s.clearRate('ip:x');
  assert.equal(await s.rateCount('ip:x', 60), 0);
  assert.equal(await s.countRate('ip:x', 60), 1, 'counting starts over');

  // Users' own junk thresholds: set, changed, forgotten; only those who chose one are returned.
  assert.deepEqual(await s.userJunkScores([]), new Map());
  await s.setUserJunkScore(3, 4.5, 1);
  await s.setUserJunkScore(4, 9, 1);
  await s.setUserJunkScore(3, 3.25, 2);
  assert.deepEqual(
    await s.userJunkScores([3, 4, 5]),
    new Map([
      [3, 3.25],
      [4, 9],
    ]),
  );
  await s.setUserJunkScore(4, null, 3);
  assert.deepEqual(await s.userJunkScores([3, 4]), new Map([[3, 3.25]]));
  // Whether they want the daily Junk report: unsaid, no, yes; independent of the threshold.
  assert.equal(await s.userJunkReport(3), null);
  assert.equal(await s.userJunkReport(99), null);
  await s.setUserJunkReport(3, false, 4);
  assert.equal(await s.userJunkReport(3), false);
  assert.deepEqual(await s.userJunkScores([3]), new Map([[3, 3.25]]), 'the threshold stays');
  await s.setUserJunkScore(3, null, 5);
  assert.equal(await s.userJunkReport(3), false, 'forgetting the threshold keeps the report choice');
  await s.setUserJunkReport(3, true, 6);
  assert.equal(await s.userJunkReport(3), true);

  // Pruning verdicts takes who a refusal was for with them.
  assert.equal((await s.refusalsFor(3, 10)).length, 1);
  assert.ok((await s.prune(0, 0, 1002)) >= 3, 'the refusal at 1001 and its two accounts');
  assert.deepEqual(await s.refusalsFor(3, 10), []);
  assert.deepEqual(await s.refusalsFor(4, 10), []);
  // Many copies at once (the account pages and the Junk report): the first verdict of each, this
  // account's only, across more ids than one statement's list holds.
  await s.saveVerdicts([
    { ...v, accountId: 30, messageId: 7, createdAt: 1001 },
    { ...v, accountId: 30, messageId: 8, action: 'junk', score: 6.5, createdAt: 1002 },
    { ...v, accountId: 30, messageId: 8, action: 'accept', score: 1, createdAt: 1003 },
    { ...v, accountId: 31, messageId: 9, createdAt: 1004 },
  ]);
  const many = await s.firstVerdicts(30, [...Array.from({ length: 1200 }, (_, i) => 1000 + i), 9, 8, 7, 7]);
  assert.deepEqual(
    [...many].map(([id, x]) => [id, x.action, x.score]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [7, 'junk', 7.5],
      [8, 'junk', 6.5],
    ],
  );
  assert.equal((await s.firstVerdicts(30, [])).size, 0);
}

/** Verdict rows written before migration 25 are found by their sender's domain once it has run. */
async function backfill(db: SqlDriver): Promise<void> {
  await migrate(
    db,
    MIGRATIONS.filter((m) => m.version <= 24),
  );
  const senders = ['Ann@Shop.Test', '"odd@name"@Shop.Test', 'bob@sub.shop.test', '', null];
  for (const [i, from] of senders.entries())
    await db.run(
      `INSERT INTO spam_verdicts (account_id, message_id, action, score, symbols, client_ip, mail_from, created_at)
       VALUES (NULL, NULL, 'reject', 9, '[]', '192.0.2.7', ?, ?)`,
      [from, 100 + i],
    );
  const store = await openSqlStore(db);
  const at = async (sender: string) => (await store.spam.findVerdicts({ sender }, 10)).map((v) => v.createdAt);
  assert.deepEqual(await at('shop.test'), [101, 100], "the part after the last '@', lower-cased");
  assert.deepEqual(await at('SUB.shop.test'), [102]);
  assert.deepEqual(await at('ann@shop.test'), [100]);
  assert.deepEqual(await at('"odd@name"@shop.test'), [101]);
  assert.deepEqual(await at('name"@shop.test'), [], 'an address is matched whole');
  assert.equal((await store.spam.findVerdicts({ clientIp: '192.0.2.7' }, 10)).length, 5);
  // A row written now carries its domain too.
  await store.spam.saveVerdicts([
    {
      accountId: null,
      messageId: null,
      action: 'reject',
      score: 9,
      symbols: '[]',
      clientIp: null,
      mailFrom: 'new@SHOP.test',
      createdAt: 200,
    },
  ]);
  assert.deepEqual(await at('shop.test'), [200, 101, 100]);
  await store.close();
}

test('verdicts stored before migration 25 are found by sender domain (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-spam-'));
  try {
    await backfill(openSqlite({ path: join(dir, 'm.db') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('verdicts stored before migration 25 are found by sender domain (PostgreSQL)', {
  skip: pgTestUrl() ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(pgTestUrl()!);
  try {
    await backfill(openPostgres({ url: schema.url }));
  } finally {
    await schema.drop();
  }
});

test('spam sub-store on SQLite (writes on the writer thread)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-spam-'));
  const store = await openSqliteStore({ path: join(dir, 'p.db') });
  try {
    await exercise(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

const url = pgTestUrl();
test('spam sub-store on PostgreSQL', { skip: url ? undefined : PG_SKIP_REASON }, async () => {
  const schema = await freshPgSchema(url!);
  const store = await openSqlStore(openPostgres({ url: schema.url }));
  try {
    await exercise(store);
  } finally {
    await store.close();
    await schema.drop();
  }
});
