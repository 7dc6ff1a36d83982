// Sequence sets in search keys (RFC 9051 section 9: sequence-set, seq-range, "*"; RFC 5182 "$"),
// parsed once and resolved against a snapshot into a fast membership test.

/** "*" inside a range: the largest number in use (last sequence number, or highest UID). */
export const STAR = -1;

export interface SequenceSet {
  /** [from, to] as written, STAR for "*"; order within a range does not matter ("4:2" is "2:4"). */
  ranges: [number, number][];
  /** The set includes "$": the saved search result (RFC 5182 section 2.1). */
  saved: boolean;
}

const MAX_NZ = 4294967295; // nz-number is a 32-bit unsigned integer (RFC 9051 section 9)

function parseNumber(s: string): number | null {
  if (s === '*') return STAR;
  if (!/^[1-9][0-9]{0,9}$/.test(s)) return null;
  const n = Number(s);
  return n <= MAX_NZ ? n : null;
}

/** Parses "1:3,5,7:*" or "$" (RFC 5182 allows "$" wherever a set is allowed); null if invalid. */
export function parseSequenceSet(text: string): SequenceSet | null {
  if (text === '') return null;
  const set: SequenceSet = { ranges: [], saved: false };
  for (const item of text.split(',')) {
    if (item === '$') {
      set.saved = true;
      continue;
    }
    const colon = item.indexOf(':');
    const a = parseNumber(colon < 0 ? item : item.slice(0, colon));
    const b = colon < 0 ? a : parseNumber(item.slice(colon + 1));
    if (a === null || b === null) return null;
    set.ranges.push([a, b]);
  }
  return set;
}

/** True if the atom looks like a sequence set (digits, "*", ":", ",", "$"): the parser's cue. */
export function looksLikeSequenceSet(text: string): boolean {
  return /^[0-9*:,$]+$/.test(text);
}

/**
 * Resolves the set for a mailbox whose largest number is `max` (0 when empty) and returns a membership
 * test. `saved` lists what "$" stands for in the same number space (an empty list when nothing is saved).
 */
export function resolveSet(set: SequenceSet, max: number, saved: readonly number[]): (n: number) => boolean {
  const spans: [number, number][] = [];
  for (const [a0, b0] of set.ranges) {
    const a = a0 === STAR ? max : a0;
    const b = b0 === STAR ? max : b0;
    spans.push(a <= b ? [a, b] : [b, a]);
  }
  if (set.saved) for (const n of saved) spans.push([n, n]);
  spans.sort((x, y) => x[0] - y[0]);
  // Merge into disjoint ascending spans, then binary-search them.
  const lo: number[] = [];
  const hi: number[] = [];
  for (const [a, b] of spans) {
    const last = lo.length - 1;
    if (last >= 0 && a <= hi[last] + 1) hi[last] = Math.max(hi[last], b);
    else {
      lo.push(a);
      hi.push(b);
    }
  }
  return (n: number): boolean => {
    let l = 0;
    let r = lo.length - 1;
    while (l <= r) {
      const m = (l + r) >> 1;
      if (n < lo[m]) r = m - 1;
      else if (n > hi[m]) l = m + 1;
      else return true;
    }
    return false;
  };
}
