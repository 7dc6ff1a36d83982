// Bayes learns from people and spam traps only: a FeedbackSink that takes `source: 'user'` judgements (a
// move into or out of Junk, a report) into the account's table, or the global one for admin training, and
// trapped messages into the global one. The pipeline's own verdicts are ignored: learning them would be an
// auto-learn loop that confirms its own mistakes.
import { GLOBAL_SCOPE } from '../../core/bayes-port.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { FeedbackSink } from '../feedback.ts';
import { type ContentScanner, feedbackScan } from '../scan/scanner.ts';
import type { BayesClassifier } from './classifier.ts';

/** `scanner`: where the tokens come from (the server's scan workers); without one, tokenized in place. */
export function bayesSink(classifier: BayesClassifier, scanner?: ContentScanner): FeedbackSink {
  return {
    name: 'bayes',
    async learn(f) {
      if (f.source === 'verdict') return;
      const parsed = f.parsed ?? parseMessage(f.raw);
      const tokens = scanner ? (await feedbackScan(f, scanner)).tokens : undefined;
      await classifier.learn(f.accountId ?? GLOBAL_SCOPE, f.raw, parsed, f.class, tokens);
    },
  };
}
