// The Bayes check: BAYES_SPAM / BAYES_HAM with a score that grows with the classifier's certainty, in
// bands (as rspamd scales BAYES_SPAM by probability), BAYES_UNSURE in between. Local: no network.
import { type ContentScanner, contentScan } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';
import type { BayesClassifier } from './classifier.ts';

export interface BayesScores {
  /** Score at the top spam band (probability >= 0.999); lower bands score a fraction of it. */
  spam: number;
  /** Score (negative) at the top ham band (probability <= 0.001). */
  ham: number;
}

/**
 * [probability at least, fraction of the spam score]; the ham side mirrors it (1 - p). With the default
 * scores, 0.9 and above reaches the junk threshold (6) alone: the cut-off where cross-validation inside
 * the benchmark's TRAIN set balanced missed spam against false positives (bench/spam.ts --cv).
 */
export const BANDS: [number, number][] = [
  [0.999, 1],
  [0.99, 0.95],
  [0.9, 0.9],
  [0.8, 0.5],
  [0.7, 0.3],
];

const pct = (p: number) => `${(Math.round(p * 10000) / 100).toFixed(2)}%`;

/** The symbol for a probability. */
export function bayesSymbol(p: number, scores: BayesScores, detail: string): SpamSymbol {
  for (const [at, frac] of BANDS) {
    if (p >= at) return { name: 'BAYES_SPAM', score: round(scores.spam * frac), detail: `${pct(p)} ${detail}` };
    if (1 - p >= at) return { name: 'BAYES_HAM', score: round(scores.ham * frac), detail: `${pct(p)} ${detail}` };
  }
  return { name: 'BAYES_UNSURE', score: 0, detail: `${pct(p)} ${detail}` };
}

const round = (x: number) => Math.round(x * 100) / 100;

/** `scanner`: where the message's tokens come from (the content scan); without one, tokenized in place. */
export function bayesCheck(classifier: BayesClassifier, scores: BayesScores, scanner?: ContentScanner): SpamCheck {
  return {
    name: 'bayes',
    network: false,
    async run(ctx, signal) {
      // One verdict serves every recipient: an account's own table only when the message is for one account.
      const account = ctx.accountIds.length === 1 ? ctx.accountIds[0] : null;
      const r = scanner
        ? await classifier.scoreTokens(async () => (await contentScan(ctx, scanner, signal)).tokens, account)
        : await classifier.score(ctx.raw, ctx.parsed, account);
      if (r.probability === null) return [{ name: 'BAYES_UNTRAINED', score: 0, detail: 'not enough messages learned' }];
      ctx.facts.set('bayes.probability', r.probability);
      return [bayesSymbol(r.probability, scores, `(${r.tables}, ${r.used} tokens)`)];
    },
  };
}
