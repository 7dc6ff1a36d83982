// Sender reputation and the own digest store through their feedback sinks and checks, on SQLite and
// PostgreSQL: a new sender scores nothing; verdicts and (heavier) user judgements build a reputation
// per IP, network, domain, DKIM domain and address; it decays with time; user reports of a body make
// its twin score DIGEST_SPAM on another node sharing the store, and reports of a campaign's copies make
// another copy score FUZZY_SPAM.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseMessage } from '../../src/mime/parse.ts';
import { digestStoreCheck, digestStoreSink } from '../../src/spam/checks/digests.ts';
import { rememberSent, repliesCheck } from '../../src/spam/checks/replies.ts';
import { decidedByReputation, reputationCheck, reputationSink } from '../../src/spam/checks/reputation.ts';
import { runPipeline } from '../../src/spam/pipeline.ts';
import { dkimPassDomains, factsFromTrace, networkOf, reputationKeys } from '../../src/spam/reputation/keys.ts';
import type { SpamCheck, SpamContext } from '../../src/spam/types.ts';
import { openTestMail } from '../helpers/mail.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { context, msg, spamConfig } from './context.ts';

const DAY = 24 * 3600_000;

/** The own digest store's settings for these tests: two reports decide. */
const digestConfig = (fuzzy = true) =>
  spamConfig((s) => {
    s.digests.min_reports = 2;
    s.digests.fuzzy = fuzzy;
  });

async function openDigestStore(backend: 'sqlite' | 'postgres', url: string | undefined) {
  const t = await openTestMail(backend, url);
  const config = digestConfig();
  return { t, check: digestStoreCheck({ store: t.store, config }), sink: digestStoreSink({ store: t.store, config }) };
}

/** The symbols one check gives a message. */
async function symbolsOf(check: SpamCheck, raw: Buffer) {
  return (
    await runPipeline(context(raw), {
      checks: [check],
      thresholds: { junk: 6, reject: 15 },
      timeoutMs: 5000,
      network: false,
    })
  ).symbols;
}

test('networks and DKIM facts', () => {
  assert.equal(networkOf('192.0.2.77'), '192.0.2.0/24');
  assert.equal(networkOf('::ffff:192.0.2.77'), '192.0.2.0/24');
  assert.equal(networkOf('2001:db8:1:2:3::4'), '2001:db8:1:2::/64');
  assert.equal(networkOf('2001:db8::1'), '2001:db8:0:0::/64');
  assert.deepEqual(
    dkimPassDomains(
      new Map([
        [
          'dkim',
          [
            { domain: 'A.example', result: 'pass' },
            { domain: 'b.example', result: 'fail' },
          ],
        ],
      ]),
    ),
    ['a.example'],
  );
  assert.deepEqual(
    dkimPassDomains(new Map([['dkim', { results: [{ signingDomain: 'c.example', status: { result: 'pass' } }] }]])),
    ['c.example'],
  );
  assert.deepEqual(
    dkimPassDomains(new Map([['auth', { spf: {}, dkim: [{ result: 'pass', domain: 'e.example', aligned: true }] }]])),
    ['e.example'],
  );
  assert.deepEqual(
    dkimPassDomains(
      new Map<string, unknown>([
        ['dkim.pass', ['d.example']],
        ['dkim', 'garbage'],
      ]),
    ),
    ['d.example'],
  );
  const stored = msg(
    'Return-Path: <bounce@lists.example>',
    'Authentication-Results: mx.petrel.test; spf=pass smtp.mailfrom=lists.example; dkim=pass header.d=lists.example header.s=s1',
    'Received: from mail.lists.example (mail.lists.example [198.51.100.9]) by mx.petrel.test with ESMTPS; Mon, 1 Jun 2026 10:00:00 +0000',
    'Received: from inner by mail.lists.example; Mon, 1 Jun 2026 09:59:00 +0000',
    'From: news@lists.example',
    '',
    'x',
  );
  assert.deepEqual(factsFromTrace(context(stored).parsed, 'mx.petrel.test'), {
    dkimDomains: ['lists.example'],
    clientIp: '198.51.100.9',
    mailFrom: 'bounce@lists.example',
    spfPass: 'lists.example',
  });
  // Two resinfos with DKIM passes; then a hostile field (an APPENDed message can carry anything): a long
  // run of "dkim=pass" with no ";" is read once (the old /g regex rescanned it from each: 3.7 s here).
  const two = msg(
    'Authentication-Results: mx.petrel.test; dkim=pass header.d=a.example; dkim=fail header.d=b.example; dkim=pass (ok) header.d=c.example',
    '',
    'x',
  );
  assert.deepEqual(factsFromTrace(context(two).parsed, 'mx.petrel.test').dkimDomains, ['a.example', 'c.example']);
  // DMARC and SPF passes, for the domains and address they authenticate; DMARC only when every author
  // domain passed (one resinfo each).
  const dmarc = (...results: string[]) =>
    factsFromTrace(
      context(
        msg(
          `Authentication-Results: mx.petrel.test; spf=pass (ok) smtp.mailfrom=b@Bounce.example; ${results.map((r, i) => `dmarc=${r} header.from=d${i}.example`).join('; ')}`,
          '',
          'x',
        ),
      ).parsed,
      'mx.petrel.test',
    );
  assert.equal(dmarc('pass').dmarcPass, true);
  assert.equal(dmarc('pass').spfPass, 'bounce.example');
  assert.equal(dmarc('pass', 'fail').dmarcPass, false);
  assert.equal(dmarc('fail', 'pass').dmarcPass, false);
  const hostile = Buffer.from(
    `Authentication-Results: mx.petrel.test; ${'dkim=pass '.repeat(50_000)}; dkim=pass header.d=z.example\r\n\r\nx\r\n`,
  );
  const parsed = parseMessage(hostile, { maxHeaderLineLength: 1 << 20 });
  assert.deepEqual(factsFromTrace(parsed, 'mx.petrel.test').dkimDomains, ['z.example']);
});

test('an internationalised From domain is keyed in one form, whichever way the message writes it', () => {
  const keysOf = (from: string) =>
    reputationKeys(context(msg(`From: ${from}`, '', 'x')).parsed, { dkimDomains: [], dmarcPass: true })
      .map((k) => `${k.kind}:${k.key}`)
      .sort();
  const want = ['domain:xn--bcher-kva.example', 'from:info@xn--bcher-kva.example'];
  assert.deepEqual(keysOf('info@bücher.example'), want);
  assert.deepEqual(keysOf('Info@XN--BCHER-KVA.example'), want);
});

test('verdicts decided by reputation alone are not learned (no loop)', () => {
  const config = spamConfig(); // junk at 6
  const v = (symbols: { name: string; score: number }[]) => ({
    action: 'junk' as const,
    score: symbols.reduce((a, s) => a + s.score, 0),
    symbols,
    headers: '',
  });
  assert.equal(
    decidedByReputation(
      'spam',
      v([
        { name: 'REPUTATION_IP_BAD', score: 3 },
        { name: 'X', score: 4 },
      ]),
      config,
    ),
    true,
  );
  assert.equal(
    decidedByReputation(
      'spam',
      v([
        { name: 'REPUTATION_IP_BAD', score: 3 },
        { name: 'X', score: 6 },
      ]),
      config,
    ),
    false,
  );
  assert.equal(
    decidedByReputation(
      'ham',
      v([
        { name: 'REPUTATION_IP_GOOD', score: -3 },
        { name: 'X', score: 7 },
      ]),
      config,
    ),
    true,
  );
  assert.equal(decidedByReputation('spam', v([{ name: 'X', score: 9 }]), config), false);
});

const url = pgTestUrl();
for (const [backend, skip] of [
  ['sqlite', undefined],
  ['postgres', url ? undefined : PG_SKIP_REASON],
] as const) {
  describe(`reputation and digests (${backend})`, { skip }, () => {
    test('new senders neutral; evidence builds per key, user feedback weighs more, and decays', async () => {
      const t = await openTestMail(backend, url);
      let now = Date.parse('2026-06-01T00:00:00Z');
      const config = spamConfig((s) => {
        s.reputation.min_observations = 3;
        s.reputation.half_life_days = 7;
      });
      const deps = { store: t.store, config, now: () => now };
      const check = reputationCheck(deps);
      const sink = reputationSink(deps);
      const ctxFor = (ip: string, from: string): SpamContext =>
        context(msg(`From: ${from}`, 'Subject: s', '', 'body'), {
          clientIp: ip,
          mailFrom: from,
          facts: new Map([['dkim', [{ domain: from.split('@')[1], result: 'pass' }]]]),
        });
      const verdictOf = (ctx: SpamContext) =>
        runPipeline(ctx, { checks: [check], thresholds: { junk: 6, reject: 15 }, timeoutMs: 5000, network: false });
      try {
        const bad = ctxFor('203.0.113.5', 'x@spam.example');
        assert.deepEqual((await verdictOf(bad)).symbols, [], 'a new sender is neither trusted nor condemned');
        // Two verdicts: still below the minimum of observations.
        for (let i = 0; i < 2; i++)
          await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: bad.raw, ctx: bad });
        assert.deepEqual((await verdictOf(bad)).symbols, []);
        await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: bad.raw, ctx: bad });
        let v = await verdictOf(bad);
        assert.deepEqual(v.symbols.map((s) => s.name).sort(), [
          'REPUTATION_DKIM_BAD',
          'REPUTATION_DOMAIN_BAD',
          'REPUTATION_FROM_BAD',
          'REPUTATION_IP_BAD',
          'REPUTATION_NET_BAD',
        ]);
        const ipScore = v.symbols.find((s) => s.name === 'REPUTATION_IP_BAD')!.score;
        assert.equal(ipScore, 2.25, '3 spam of 3 observations: 3/(3+1) of the weight 3');
        // Another address in the same /24 inherits the network's reputation only.
        v = await verdictOf(ctxFor('203.0.113.77', 'y@other.example'));
        assert.deepEqual(
          v.symbols.map((s) => s.name),
          ['REPUTATION_NET_BAD'],
        );

        // Two users saying "not spam" (weight 5 each) outweigh three spam verdicts.
        for (let i = 0; i < 2; i++)
          await sink.learn({ class: 'ham', source: 'user', accountId: 1 + i, raw: bad.raw, ctx: bad });
        v = await verdictOf(bad);
        const ip = v.symbols.find((s) => s.name.startsWith('REPUTATION_IP_'))!;
        assert.equal(ip.name, 'REPUTATION_IP_GOOD');
        assert.equal(ip.score, -1.5, '(3 - 10) / (3 + 10 + 1) of the weight 3');

        // Decay: a sender with only spam evidence, one half-life later, holds half of it, and half its
        // observations.
        const old = ctxFor('198.51.100.1', 'z@old.example');
        for (let i = 0; i < 6; i++)
          await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: old.raw, ctx: old });
        const before = (await verdictOf(old)).symbols.find((s) => s.name === 'REPUTATION_IP_BAD')!.score;
        assert.equal(before, 2.57); // 6/7 of 3
        now += 7 * DAY;
        const later = (await verdictOf(old)).symbols.find((s) => s.name === 'REPUTATION_IP_BAD')!.score;
        assert.equal(later, 2.25); // 3/4 of 3
        // Two more half-lives: 0.75 observations are fewer than the 3 required, though the balance (0.75 of
        // 1.75) would still condemn: the sender is new again.
        now += 14 * DAY;
        assert.deepEqual((await verdictOf(old)).symbols, []);
        // One fresh verdict does not make it known again (the count once stayed at 6 for ever, and this
        // one verdict condemned it).
        await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: old.raw, ctx: old });
        assert.deepEqual((await verdictOf(old)).symbols, []);
      } finally {
        await t.close();
      }
    });

    test("the reputation sink's housekeeping keeps what replies remember for their own half-life", async () => {
      const t = await openTestMail(backend, url);
      let now = Date.parse('2026-01-01T00:00:00Z');
      const config = spamConfig((s) => {
        s.reputation.half_life_days = 3; // fast-moving sender reputation: dead rows after 60 days
        s.reputation.learn_verdicts = false;
        s.replies.half_life_days = 180;
      });
      const deps = { store: t.store, config, now: () => now };
      const sink = reputationSink(deps);
      const replies = repliesCheck(deps);
      try {
        await rememberSent(deps, '<budget-2026@example.com>', ['carol@partner.example']);
        // Three months on (half of a reply's half-life), a thousand verdicts later (one housekeeping round).
        now += 90 * DAY;
        const ctx = context(msg('From: x@y.example', '', 'x'), { clientIp: '192.0.2.1' });
        for (let i = 0; i < 1000; i++)
          await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: ctx.raw, ctx });
        const reply = context(msg('From: carol@partner.example', 'In-Reply-To: <budget-2026@example.com>', '', 'ok'));
        const symbols = await runPipeline(reply, {
          checks: [replies],
          thresholds: { junk: 6, reject: 15 },
          timeoutMs: 5000,
          network: false,
        });
        assert.deepEqual(
          symbols.symbols.map((x) => x.name),
          ['REPLY'],
          'a message sent three months ago, remembered for a 180-day half-life, was pruned with the sender rows',
        );
      } finally {
        await t.close();
      }
    });

    test('user reports of a body make its twin score DIGEST_SPAM; ham reports DIGEST_HAM', async () => {
      const { t, check, sink } = await openDigestStore(backend, url);
      const body = ['Cheap watches and more, all at prices you will not believe.', 'Order now from our shop.'];
      const one = msg('From: a@one.example', 'Subject: a', '', ...body);
      const twin = msg('From: b@two.example', 'Subject: totally different', 'Message-ID: <z@two.example>', '', ...body);
      const other = msg('From: c@three.example', '', 'Minutes of the meeting on Tuesday, attached as promised.');
      const score = (raw: Buffer) => symbolsOf(check, raw);
      try {
        await sink.learn({ class: 'spam', source: 'user', accountId: 1, raw: one });
        await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: one });
        assert.deepEqual(await score(twin), [], 'one user report (verdicts do not count) is not enough');
        await sink.learn({ class: 'spam', source: 'user', accountId: 2, raw: one });
        const s = await score(twin);
        assert.deepEqual(
          s.map((x) => [x.name, x.score]),
          [['DIGEST_SPAM', 5]],
        );
        assert.deepEqual(await score(other), []);
        for (const accountId of [1, 2]) await sink.learn({ class: 'ham', source: 'user', accountId, raw: other });
        assert.deepEqual(
          (await score(other)).map((x) => [x.name, x.score]),
          [['DIGEST_HAM', -2]],
        );
      } finally {
        await t.close();
      }
    });

    test('reports of campaign copies make another copy score FUZZY_SPAM; exact digests come first', async () => {
      const { t, check, sink } = await openDigestStore(backend, url);
      const copy = (name: string, price: string, code: string) =>
        msg(
          `From: offers-${code}@deals.example`,
          `Subject: ${name}, your offer`,
          '',
          `Dear ${name}, your account was selected for our exclusive spring offer. For a limited time only`,
          `you can order the complete premium package at the special price of ${price} instead of the usual`,
          'price, with free delivery to your door and a full refund if you are not satisfied. Thousands of',
          'customers have already saved hundreds. To claim your discount follow the link below this week:',
          `https://track.example/c/${code}  If you no longer wish to receive our offers, reply with remove.`,
        );
      const newsletter = (issue: string, topic: string) =>
        msg(
          'From: editor@weekly.example',
          `Subject: Weekly ${issue}`,
          '',
          `This is issue ${issue} of the weekly letter of the gardening club. This week: ${topic}.`,
          'As always, the club meets on the first Saturday of the month in the community hall, and new',
          'members are welcome to join us for tea and a walk around the allotments. You receive this letter',
          'because you are a member of the club; to stop it, write to the editor and say so.',
        );
      const score = async (raw: Buffer) => (await symbolsOf(check, raw)).map((x) => [x.name, x.score]);
      try {
        await sink.learn({ class: 'spam', source: 'user', accountId: 1, raw: copy('Alice', '$49', 'a81f3bd29e') });
        assert.deepEqual(await score(copy('Carol', '$39', 'c0ffee1234')), [], 'one report is not enough');
        // Nor is one user reporting more copies: a person counts once per digest.
        await sink.learn({ class: 'spam', source: 'user', accountId: 1, raw: copy('Erin', '$19', 'e1e1e1e1e1') });
        await sink.learn({ class: 'spam', source: 'user', accountId: 1, raw: copy('Fred', '$29', 'f2f2f2f2f2') });
        assert.deepEqual(await score(copy('Carol', '$39', 'c0ffee1234')), []);
        // Verdicts are not reports: the filter does not vote for itself.
        await sink.learn({ class: 'spam', source: 'verdict', accountId: null, raw: copy('Dan', '$9', 'dd') });
        assert.deepEqual(await score(copy('Carol', '$39', 'c0ffee1234')), []);
        await sink.learn({ class: 'spam', source: 'user', accountId: 2, raw: copy('Robert', '$59', '77d01a9cc3') });
        const fuzzy = await score(copy('Carol', '$39', 'c0ffee1234'));
        assert.deepEqual(fuzzy, [['FUZZY_SPAM', 4]]);
        // A copy reported as it is scores the exact digest instead, once.
        await sink.learn({ class: 'spam', source: 'user', accountId: 3, raw: copy('Alice', '$49', 'a81f3bd29e') });
        assert.deepEqual(await score(copy('Alice', '$49', 'a81f3bd29e')), [['DIGEST_SPAM', 5]]);
        // An unrelated text shares no band.
        assert.deepEqual(await score(newsletter('12', 'pruning roses')), []);
        // Issues of a newsletter users took out of Junk: the next issue scores FUZZY_HAM.
        await sink.learn({ class: 'ham', source: 'user', accountId: 1, raw: newsletter('10', 'planting bulbs') });
        await sink.learn({ class: 'ham', source: 'user', accountId: 2, raw: newsletter('11', 'the apple harvest') });
        assert.deepEqual(await score(newsletter('12', 'pruning roses')), [['FUZZY_HAM', -1]]);
        // fuzzy = false: only the exact digests.
        const exactOnly = digestStoreCheck({ store: t.store, config: digestConfig(false) });
        assert.deepEqual(await symbolsOf(exactOnly, copy('Carol', '$39', 'c0ffee1234')), []);
      } finally {
        await t.close();
      }
    });
  });
}
