// The classifier's arithmetic: Gary Robinson's per-token probability f(w) (a word's spam ratio pulled
// towards x by a prior of strength s, so rare tokens count little), combined with Fisher's method
// (inverse chi-square, as SpamBayes and bogofilter do): H and S are the probabilities that the token
// probabilities are as hammy / spammy as seen by chance; the indicator (1 + S - H) / 2 is near 1 for spam,
// near 0 for ham and near 0.5 when the evidence is absent or conflicting.

/** Messages learned in one table (global or one account). */
export interface Totals {
  spam: number;
  ham: number;
}

/** How often one token was seen in learned spam and ham messages of one table. */
export interface Counts {
  spam: number;
  ham: number;
}

export interface ClassifyParams {
  /** Robinson's s: the strength of the prior x, in messages. */
  strength: number;
  /** Robinson's x: the probability assumed for a token never seen. */
  unknown: number;
  /** Tokens with |f(w) - 0.5| below this are ignored (they only dilute the evidence). */
  minDeviation: number;
  /** At most this many tokens, the strongest, enter the combination (SpamBayes' max_discriminators). */
  maxTokens: number;
}

/**
 * SpamBayes' s, x and minimum strength; no practical cap on tokens: 4-fold cross-validation inside the
 * benchmark's TRAIN set (bench/spam.ts --cv) found every strong token better than the strongest 150
 * (spam missed 3.3% instead of 9%, at about the same false positives).
 */
export const DEFAULT_PARAMS: ClassifyParams = { strength: 0.45, unknown: 0.5, minDeviation: 0.1, maxTokens: 5000 };

/** One table's evidence: its counts for the message's tokens, its totals, and its weight in the blend. */
export interface Evidence {
  counts: Map<number, Counts>;
  totals: Totals;
  weight: number;
}

/**
 * Robinson's f(w) over one or several tables: each table's spam and ham frequencies (count / messages of
 * that class) are blended by weight, n is every count seen.
 * f(w) = (s*x + n*p(w)) / (s + n), p(w) = spamfreq / (spamfreq + hamfreq).
 */
export function tokenProbability(token: number, evidence: Evidence[], p: ClassifyParams): number | null {
  let sf = 0;
  let hf = 0;
  let n = 0;
  let w = 0;
  for (const e of evidence) {
    const c = e.counts.get(token);
    w += e.weight;
    if (!c) continue;
    sf += (e.weight * c.spam) / Math.max(1, e.totals.spam);
    hf += (e.weight * c.ham) / Math.max(1, e.totals.ham);
    n += c.spam + c.ham;
  }
  if (n === 0 || sf + hf === 0 || w === 0) return null;
  const pw = sf / (sf + hf);
  return (p.strength * p.unknown + n * pw) / (p.strength + n);
}

/**
 * Q(x2 | v): the probability that a chi-square variable with v (even) degrees of freedom exceeds x2.
 * For even v it is e^-m * sum_{i<v/2} m^i/i! with m = x2/2; summed in log space so that large m and v
 * (hundreds of tokens) neither underflow nor overflow.
 */
export function chi2Q(x2: number, v: number): number {
  if (v <= 0 || v % 2 !== 0) throw new RangeError('chi2Q needs an even, positive number of degrees of freedom');
  if (x2 <= 0) return 1;
  const m = x2 / 2;
  const lnm = Math.log(m);
  let term = -m; // log of e^-m * m^0 / 0!
  let max = term;
  const terms = [term];
  for (let i = 1; i < v / 2; i++) {
    term += lnm - Math.log(i);
    terms.push(term);
    if (term > max) max = term;
  }
  let sum = 0;
  for (const t of terms) sum += Math.exp(t - max);
  return Math.min(1, Math.exp(max + Math.log(sum)));
}

/**
 * Fisher-Robinson combination of token probabilities into a spam indicator in [0, 1]:
 * H = 1 - Q(-2 sum ln f, 2n) (ham evidence), S = 1 - Q(-2 sum ln(1 - f), 2n) (spam evidence).
 */
export function combine(probs: number[]): number {
  const n = probs.length;
  if (n === 0) return 0.5;
  let lnF = 0;
  let ln1F = 0;
  for (const f of probs) {
    // f is never exactly 0 or 1 with s > 0, but keep logarithms finite whatever the parameters.
    const c = Math.min(1 - 1e-12, Math.max(1e-12, f));
    lnF += Math.log(c);
    ln1F += Math.log(1 - c);
  }
  const H = 1 - chi2Q(-2 * lnF, 2 * n);
  const S = 1 - chi2Q(-2 * ln1F, 2 * n);
  return (1 + S - H) / 2;
}

export interface Classification {
  /** The spam indicator, 0 (ham) .. 1 (spam). */
  probability: number;
  /** Tokens that entered the combination. */
  used: number;
}

/** Classifies a message from its token ids and the tables' evidence. */
export function classify(tokens: number[], evidence: Evidence[], p: ClassifyParams = DEFAULT_PARAMS): Classification {
  const strong: number[] = [];
  for (const t of tokens) {
    const f = tokenProbability(t, evidence, p);
    if (f !== null && Math.abs(f - 0.5) >= p.minDeviation) strong.push(f);
  }
  if (strong.length > p.maxTokens) {
    strong.sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5));
    strong.length = p.maxTokens;
  }
  return { probability: combine(strong), used: strong.length };
}
