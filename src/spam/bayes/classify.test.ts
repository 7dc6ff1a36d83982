// The classifier's arithmetic against values worked out by hand and known chi-square tables.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chi2Q, classify, combine, DEFAULT_PARAMS, type Evidence, tokenProbability } from './classify.ts';

const near = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('chi2Q matches the chi-square survival function', () => {
  // v = 2: Q = e^(-x/2).
  near(chi2Q(2, 2), Math.exp(-1));
  // v = 4: Q = e^(-m)(1 + m), m = x/2; the table value Q(9.488 | 4) = 0.05.
  near(chi2Q(9.488, 4), 0.05, 1e-4);
  // Q(18.307 | 10) = 0.05, Q(23.209 | 10) = 0.01.
  near(chi2Q(18.307, 10), 0.05, 1e-4);
  near(chi2Q(23.209, 10), 0.01, 1e-4);
  assert.equal(chi2Q(0, 6), 1);
  // Far tails neither underflow to NaN nor exceed 1.
  const tiny = chi2Q(5000, 300);
  assert.ok(tiny >= 0 && tiny < 1e-100);
  near(chi2Q(1e-9, 600), 1);
  assert.throws(() => chi2Q(1, 3));
});

test('Robinson f(w): rare tokens stay near x, frequent ones approach their ratio', () => {
  const e = (spam: number, ham: number): Evidence[] => [
    { counts: new Map([[1, { spam, ham }]]), totals: { spam: 100, ham: 100 }, weight: 1 },
  ];
  const p = { ...DEFAULT_PARAMS, strength: 1, unknown: 0.5 };
  // Seen once in spam: (1*0.5 + 1*1)/(1+1) = 0.75.
  near(tokenProbability(1, e(1, 0), p)!, 0.75);
  // Seen 99 times in spam: (0.5 + 99)/100 = 0.995.
  near(tokenProbability(1, e(99, 0), p)!, 0.995);
  // Equal frequencies: 0.5 whatever n.
  near(tokenProbability(1, e(10, 10), p)!, 0.5);
  // Frequencies are per class total: 10 of 100 spam vs 10 of 1000 ham -> p(w) = 0.1 / 0.11.
  const skew: Evidence[] = [
    { counts: new Map([[1, { spam: 10, ham: 10 }]]), totals: { spam: 100, ham: 1000 }, weight: 1 },
  ];
  near(tokenProbability(1, skew, p)!, (0.5 + 20 * (0.1 / 0.11)) / 21);
  assert.equal(tokenProbability(2, e(1, 0), p), null);
});

test('blending two tables weighs their frequencies', () => {
  const g: Evidence = { counts: new Map([[1, { spam: 0, ham: 10 }]]), totals: { spam: 10, ham: 10 }, weight: 0.5 };
  const a: Evidence = { counts: new Map([[1, { spam: 10, ham: 0 }]]), totals: { spam: 10, ham: 10 }, weight: 0.5 };
  near(tokenProbability(1, [g, a], { ...DEFAULT_PARAMS, strength: 1 })!, 0.5);
});

test('Fisher combination: symmetric, certain for strong agreement, unsure for conflict', () => {
  near(combine([]), 0.5);
  near(combine([0.5, 0.5]), 0.5);
  near(combine([0.9, 0.1]), 0.5);
  // Mirror images give mirror indicators.
  near(combine([0.99, 0.95, 0.8]), 1 - combine([0.01, 0.05, 0.2]));
  assert.ok(combine(new Array(20).fill(0.99)) > 0.999);
  assert.ok(combine(new Array(20).fill(0.01)) < 0.001);
  // One strong spam clue among many hammy ones does not make spam.
  assert.ok(combine([0.99, ...new Array(10).fill(0.1)]) < 0.2);
  // A single clue: n = 1, v = 2: H = 1 - f, S = f, so the indicator is f itself.
  near(combine([0.8]), 0.8);
});

test('classify keeps the strongest tokens only', () => {
  const counts = new Map<number, { spam: number; ham: number }>();
  const tokens: number[] = [];
  for (let i = 0; i < 300; i++) {
    counts.set(i, i < 200 ? { spam: 50, ham: 0 } : { spam: 5, ham: 5 });
    tokens.push(i);
  }
  const ev = [{ counts, totals: { spam: 50, ham: 50 }, weight: 1 }];
  // Neutral tokens (5 spam, 5 ham) are below the minimum deviation: only the 200 spammy ones count.
  assert.equal(classify(tokens, ev).used, 200);
  const r = classify(tokens, ev, { ...DEFAULT_PARAMS, maxTokens: 150 });
  assert.equal(r.used, 150);
  assert.ok(r.probability > 0.99);
});
