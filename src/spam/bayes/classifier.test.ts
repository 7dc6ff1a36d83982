// The classifier over a real store: untrained until both classes reach the minimum, per-account tables
// blended in, and its count cache never serving counts older than the scope's version (a learn through
// another classifier, as another node would, is seen by the next score).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import { openSqliteStore } from '../../store/sqlite/store.ts';
import { BayesClassifier, messageDigest } from './classifier.ts';

const mail = (subject: string, body: string) =>
  Buffer.from(`From: x@y.example\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@y>\r\n\r\n${body}\r\n`);
const SPAM = ['cheap pills online pharmacy', 'cheap watches replica online', 'pills pharmacy discount now'];
const HAM = ['meeting notes for the project', 'the project review on monday', 'notes from monday meeting'];

test('untrained, then trained; the cache follows the scope version', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bayes-cls-'));
  const store = await openSqliteStore({ path: join(dir, 'petrel.db') });
  try {
    const opts = { minLearns: 3, accountMinLearns: 2, accountWeight: 0.5 };
    const a = new BayesClassifier(store.bayes, opts);
    const b = new BayesClassifier(store.bayes, opts);
    const probe = mail('probe', 'cheap pharmacy pills');
    const parsed = parseMessage(probe);
    assert.equal((await a.score(probe, parsed, null)).probability, null);
    const learn = (c: BayesClassifier, texts: string[], cls: 'spam' | 'ham', scope = 0) =>
      c.learnMany(
        scope,
        texts.map((t, i) => {
          const raw = mail(`${cls}${scope}${i}`, t);
          return c.learnItem(raw, parseMessage(raw), cls);
        }),
      );
    await learn(a, SPAM, 'spam');
    assert.equal((await a.score(probe, parsed, null)).probability, null, 'no ham yet');
    await learn(a, HAM, 'ham');
    const first = await a.score(probe, parsed, null);
    assert.ok(first.probability! > 0.9, JSON.stringify(first));
    assert.equal(first.tables, 'global');

    // The probe learned as ham through the other classifier: the first one's cached counts are stale.
    await b.learn(0, probe, parsed, 'ham');
    const second = await a.score(probe, parsed, null);
    assert.ok(second.probability! < first.probability!, `${first.probability} -> ${second.probability}`);

    // An account's table is blended in once it has enough of both classes.
    await learn(a, ['cheap pharmacy pills'], 'spam', 42);
    assert.equal((await a.score(probe, parsed, 42)).tables, 'global');
    await learn(a, ['monday notes', 'project meeting'], 'ham', 42);
    await learn(a, ['pills cheap'], 'spam', 42);
    assert.equal((await a.score(probe, parsed, 42)).tables, 'global+account');
    assert.equal(
      messageDigest(probe, parsed),
      messageDigest(
        Buffer.concat([Buffer.from('Received: x\r\n'), probe]),
        parseMessage(Buffer.concat([Buffer.from('Received: x\r\n'), probe])),
      ),
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the count cache stays within its total over many account tables, and scores do not change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bayes-cache-'));
  const store = await openSqliteStore({ path: join(dir, 'petrel.db') });
  try {
    const opts = { minLearns: 3, accountMinLearns: 2, accountWeight: 0.5 };
    const small = new BayesClassifier(store.bayes, { ...opts, cacheTotal: 300 });
    const large = new BayesClassifier(store.bayes, opts);
    const learn = (scope: number, texts: string[], cls: 'spam' | 'ham') =>
      large.learnMany(
        scope,
        texts.map((t, i) => {
          const raw = mail(`${cls}${scope}-${i}`, `${t} account${scope}`);
          return large.learnItem(raw, parseMessage(raw), cls);
        }),
      );
    await learn(0, SPAM, 'spam');
    await learn(0, HAM, 'ham');
    const accounts = Array.from({ length: 12 }, (_, i) => 100 + i);
    for (const a of accounts) {
      await learn(a, SPAM.slice(0, 2), 'spam');
      await learn(a, HAM.slice(0, 2), 'ham');
    }
    for (let round = 0; round < 2; round++)
      for (const a of accounts) {
        const probe = mail(`probe${a}`, `cheap pills for the monday meeting account${a} round${round}`);
        const parsed = parseMessage(probe);
        const got = await small.score(probe, parsed, a);
        assert.equal(got.tables, 'global+account');
        assert.equal(got.probability, (await large.score(probe, parsed, a)).probability);
        const { tokens, scopes } = small.cacheStats();
        assert.ok(tokens <= 300, `${tokens} tokens cached`);
        assert.ok(scopes < accounts.length, `${scopes} scopes cached`);
      }
    // Without the total, every account's cache stays.
    assert.equal(large.cacheStats().scopes, accounts.length + 1);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a small per-table cache turns over in generations: bounded, and scores do not change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bayes-gen-'));
  const store = await openSqliteStore({ path: join(dir, 'petrel.db') });
  try {
    const opts = { minLearns: 1, accountMinLearns: 1, accountWeight: 0.5 };
    const words = (n: number) => Array.from({ length: 40 }, (_, i) => `w${(n * 7 + i * 13) % 500}`).join(' ');
    const trainer = new BayesClassifier(store.bayes, opts);
    const train = Array.from({ length: 20 }, (_, n) => {
      const raw = mail(`t${n}`, `${n % 2 ? 'cheap pills' : 'project notes'} ${words(n)}`);
      return trainer.learnItem(raw, parseMessage(raw), n % 2 ? 'spam' : 'ham');
    });
    await trainer.learnMany(0, train);
    const small = new BayesClassifier(store.bayes, { ...opts, cacheMax: 200 });
    const large = new BayesClassifier(store.bayes, opts);
    let peak = 0;
    for (let round = 0; round < 2; round++)
      for (let n = 0; n < 60; n++) {
        const raw = mail(`p${n}`, `${n % 3 ? 'cheap pills' : 'project notes'} ${words(n + 100)}`);
        const parsed = parseMessage(raw);
        const [a, b] = [await small.score(raw, parsed, null), await large.score(raw, parsed, null)];
        assert.equal(a.probability, b.probability);
        assert.equal(a.used, b.used);
        peak = Math.max(peak, small.cacheStats().tokens);
      }
    // Two generations of at most half the share each, plus what one message adds before a turnover.
    assert.ok(peak <= 200 + 150, `peak ${peak}`);
    assert.ok(large.cacheStats().tokens > 500, 'the unbounded cache holds more');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
