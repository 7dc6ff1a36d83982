// The Bayes classifier from config: one classifier shared by the check and the feedback sink.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import { BayesClassifier } from './classifier.ts';

const cache = new WeakMap<Store, BayesClassifier>();

export function bayesFromConfig(store: Store, config: Config): BayesClassifier {
  let c = cache.get(store);
  if (!c) {
    const b = config.spam.bayes;
    c = new BayesClassifier(store.bayes, {
      minLearns: b.min_learns,
      accountMinLearns: b.account_min_learns,
      accountWeight: b.account_weight / 100,
      maxTokens: b.max_tokens,
    });
    cache.set(store, c);
  }
  return c;
}
