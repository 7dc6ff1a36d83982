// The Bayes classifier's tables as the spam filter sees them (src/spam/bayes): per-token spam/ham counts
// and learned-message totals per scope (0 = the global table, else an account id), and the digests of
// learned messages so that learning the same message twice counts once.

/** Scope of the global table; accounts use their id. */
export const GLOBAL_SCOPE = 0;

export interface BayesCounts {
  spam: number;
  ham: number;
}

/** A scope's message totals and its version, which every change to the scope's tables increments. */
export interface BayesTotals extends BayesCounts {
  version: number;
}

export type BayesClass = 'spam' | 'ham';

/** One message to learn: its digest (identity), class and distinct token ids. */
export interface BayesLearnItem {
  digest: string;
  class: BayesClass;
  tokens: number[];
}

/** learned: counted anew; relearned: the other class was taken back first; unchanged: already so. */
export type BayesLearnOutcome = 'learned' | 'relearned' | 'unchanged';

export interface BayesStore {
  /** Messages learned per class in a scope, and its version (caches of its counts compare it). */
  totals(scope: number): Promise<BayesTotals>;
  /** Counts of the given tokens in a scope (tokens never seen are absent). */
  counts(scope: number, tokens: number[]): Promise<Map<number, BayesCounts>>;
  /** The class a message (by digest) was learned as in a scope, or null. */
  learnedAs(scope: number, digest: string): Promise<BayesClass | null>;
  /**
   * Learns messages in one transaction: a digest already learned as that class is left alone, one learned
   * as the other class is taken back from the other class's counts first. Outcomes in item order.
   */
  learn(scope: number, items: BayesLearnItem[], now: number): Promise<BayesLearnOutcome[]>;
  /** Takes a learned message back (its digest forgotten); false when it was not learned. */
  unlearn(scope: number, digest: string, tokens: number[]): Promise<boolean>;
  /**
   * Keeps a scope's table to about `maxTokens` rows by dropping the tokens least recently learned (then,
   * on the cutoff day, those seen once); bumps the scope's version when it dropped any. Returns the rows
   * dropped.
   */
  expire(scope: number, maxTokens: number): Promise<number>;
}
