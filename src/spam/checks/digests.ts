// Petrel's own digest store: the Pyzor-style body digest and the SHA-256 of each attachment, counted per
// user report (spam or ham) in the reputation sub-store, shared by every node on the same database.
// DIGEST_SPAM when a digest has enough spam reports and few ham ones; DIGEST_HAM the other way round.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, contentScan, feedbackScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

export function digestStoreCheck(deps: { store: Store; config: Config; scanner?: ContentScanner }): SpamCheck {
  const cfg = deps.config.spam.digests;
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  return {
    name: 'digests',
    async run(ctx, signal) {
      const { digests } = await contentScan(ctx, scanner, signal);
      const counts = await deps.store.reputation.digestCounts(digests);
      const out: SpamSymbol[] = [];
      for (const c of counts) {
        if (c.spam >= cfg.min_reports && c.spam > 2 * c.ham) {
          out.push({ name: 'DIGEST_SPAM', score: cfg.spam_score, detail: `${c.digest} spam=${c.spam} ham=${c.ham}` });
          break;
        }
        if (c.ham >= cfg.min_reports && c.ham > 2 * c.spam)
          out.push({ name: 'DIGEST_HAM', score: cfg.ham_score, detail: `${c.digest} spam=${c.spam} ham=${c.ham}` });
      }
      // Spam evidence wins over ham evidence from another digest of the same message.
      return out.some((s) => s.name === 'DIGEST_SPAM') ? out.filter((s) => s.name === 'DIGEST_SPAM') : out.slice(0, 1);
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
      await deps.store.reputation.reportDigests(digests, f.class, Date.now());
    },
  };
}
