// Petrel's own digest store: the Pyzor-style body digest, the SHA-256 of each attachment and the fuzzy
// digests of the text (spam/digest/fuzzy.ts), counted per user report (spam or ham) in the reputation
// sub-store, shared by every node on the same database. DIGEST_SPAM when an exact digest has enough spam
// reports and few ham ones, DIGEST_HAM the other way round; FUZZY_SPAM / FUZZY_HAM when enough of the
// fuzzy bands do (a message like reported ones: the same campaign with another name or link in it).
// Reports fade as sender reputation's evidence does (spam.digests.half_life_days): a campaign reported
// months ago no longer condemns a message, nor does one reported as wanted vouch for it, until people
// report it again.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import type { DigestCounts } from '../../core/reputation-port.ts';
import { FUZZY_BANDS, isFuzzyDigest } from '../digest/fuzzy.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, contentScan, feedbackScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

const DAY = 86_400_000;

/** A decayed count as people read it: two decimals at most (2 for two reports made a minute ago). */
export function reportCount(n: number): string {
  return String(Math.round(n * 100) / 100);
}

/**
 * Whether decayed counts reach `min` reports: taken to the nearest whole report (two reports a minute ago
 * are two, not 1.9999), as reputation's seenEnough takes observations.
 */
export function enoughReports(n: number, min: number): boolean {
  return n >= min - 0.5;
}

export function digestStoreCheck(deps: {
  store: Store;
  config: Config;
  scanner?: ContentScanner;
  now?: () => number;
}): SpamCheck {
  const cfg = deps.config.spam.digests;
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'digests',
    async run(ctx, signal) {
      const { digests } = await contentScan(ctx, scanner, signal);
      const now = deps.now?.() ?? Date.now();
      const counts = await deps.store.reputation.digestCounts(digests, now, cfg.half_life_days * DAY);
      const spammy = (c: DigestCounts) => enoughReports(c.spam, cfg.min_reports) && c.spam > 2 * c.ham;
      const hammy = (c: DigestCounts) => enoughReports(c.ham, cfg.min_reports) && c.ham > 2 * c.spam;
      const detail = (c: DigestCounts) => `${c.digest} spam=${reportCount(c.spam)} ham=${reportCount(c.ham)}`;
      // Evidence about this very message (its body, an attachment) comes first, spam over ham from another
      // of its digests; then evidence about messages like it.
      const exact = counts.filter((c) => !isFuzzyDigest(c.digest));
      const spam = exact.find(spammy);
      if (spam) return [{ name: 'DIGEST_SPAM', score: cfg.spam_score, detail: detail(spam) }];
      const ham = exact.find(hammy);
      if (ham) return [{ name: 'DIGEST_HAM', score: cfg.ham_score, detail: detail(ham) }];
      if (!cfg.fuzzy) return [];
      const fuzzy = counts.filter((c) => isFuzzyDigest(c.digest));
      const fuzzySymbol = (name: string, score: number, bands: DigestCounts[]): SpamSymbol[] =>
        bands.length >= cfg.fuzzy_min_bands
          ? [{ name, score, detail: `${bands.length} of ${FUZZY_BANDS} bands, ${detail(bands[0])}` }]
          : [];
      const out = fuzzySymbol('FUZZY_SPAM', cfg.fuzzy_spam_score, fuzzy.filter(spammy));
      return out.length ? out : fuzzySymbol('FUZZY_HAM', cfg.fuzzy_ham_score, fuzzy.filter(hammy));
    },
  };
}

export function digestStoreSink(deps: { store: Store; config: Config; scanner?: ContentScanner }): FeedbackSink {
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'digests',
    async learn(f) {
      // People and traps report: counting our own verdicts would let the filter vote for itself.
      if (f.source === 'verdict') return;
      const { digests } = await feedbackScan(f, scanner);
      // A person counts once per digest (their account); each trap hit counts.
      await deps.store.reputation.reportDigests(
        digests,
        f.class,
        Date.now(),
        deps.config.spam.digests.half_life_days * DAY,
        f.source === 'user' ? (f.accountId ?? null) : null,
      );
    },
  };
}
