// Sequence sets (RFC 9051 section 9: sequence-set, seq-range): parsing, and resolving them against a
// mailbox's ascending UID list without ever expanding a range into numbers.

/** One range; `*` is represented by STAR and resolved against the mailbox at use. */
export interface SeqRange {
  from: number;
  to: number;
}

export const STAR = -1;

/** A parsed set, or `$` (RFC 5182 SEARCHRES: the saved search result). */
export type SequenceSet = { saved: false; ranges: SeqRange[] } | { saved: true };

/** Most ranges one set may name; a bound on work (RFC 9051 leaves it to the server). */
export const MAX_RANGES = 100000;

const NUM = /^[1-9][0-9]{0,9}$/;

function seqNumber(s: string): number | null {
  if (s === '*') return STAR;
  if (!NUM.test(s)) return null;
  const n = Number(s);
  return n <= 0xffffffff ? n : null;
}

/** Parses `1:4,7,9:*` or `$`; null when it is not a sequence set. */
export function parseSequenceSet(s: string): SequenceSet | null {
  if (s === '$') return { saved: true };
  if (s.length === 0) return null;
  const ranges: SeqRange[] = [];
  for (const part of s.split(',')) {
    if (ranges.length >= MAX_RANGES) return null;
    const colon = part.indexOf(':');
    if (colon < 0) {
      const n = seqNumber(part);
      if (n === null) return null;
      ranges.push({ from: n, to: n });
    } else {
      const a = seqNumber(part.slice(0, colon));
      const b = seqNumber(part.slice(colon + 1));
      if (a === null || b === null) return null;
      ranges.push({ from: a, to: b });
    }
  }
  return { saved: false, ranges };
}

/** The bounds of a range once `*` means `max`, low to high (RFC 9051: 4:2 is 2:4). */
function bounds(r: SeqRange, max: number): [number, number] {
  const a = r.from === STAR ? max : r.from;
  const b = r.to === STAR ? max : r.to;
  return a <= b ? [a, b] : [b, a];
}

/** First index in ascending `a` whose value is >= v. */
export function lowerBound(a: ArrayLike<number>, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The numbers a set names as disjoint ascending spans [from, to], `*` meaning `max`. Sorted and merged once,
 * so resolving costs O(ranges log ranges + messages): walking each range as written cost ranges x messages,
 * and one 64 KB line of `1:*,1:*,...` (16,000 ranges) kept a 100,000-message mailbox's UID FETCH busy for
 * seconds, every session of the process waiting.
 */
function spans(ranges: SeqRange[], max: number): [number, number][] {
  const sorted = ranges.map((r) => bounds(r, max)).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const [a, b] of sorted) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/**
 * Message sequence numbers named by a set, ascending and distinct, for a mailbox of `count` messages.
 * Returns null when the set names a number above `count` (RFC 9051 section 6.4.5: BAD for bad seq numbers)
 * unless the mailbox is empty and only `*` was used.
 */
export function resolveSeqSet(ranges: SeqRange[], count: number): number[] | null {
  // `1:*` on an empty mailbox names nothing rather than an error (clients poll that way).
  if (count === 0) return ranges.every((r) => r.from === STAR || r.to === STAR) ? [] : null;
  for (const r of ranges) {
    const [a, b] = bounds(r, count);
    if (a < 1 || b > count) return null;
  }
  const out: number[] = [];
  for (const [a, b] of spans(ranges, count)) for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/**
 * Indices (0-based) into ascending `uids` of the UIDs a set names. Numbers that name no message are
 * simply absent (RFC 9051 section 6.4.9); `*` is the highest UID in the mailbox.
 */
export function resolveUidSet(ranges: SeqRange[], uids: ArrayLike<number>): number[] {
  const max = uids.length ? uids[uids.length - 1] : 0;
  const out: number[] = [];
  for (const [a, b] of spans(ranges, max)) {
    for (let i = lowerBound(uids, a); i < uids.length && uids[i] <= b; i++) out.push(i);
  }
  return out;
}

/**
 * A membership test for the set, `*` meaning `max` (for UIDs that may not exist: QRESYNC known-uids,
 * VANISHED), made once per set: O(log ranges) per number asked.
 */
export function setMembership(ranges: SeqRange[], max: number): (n: number) => boolean {
  const s = spans(ranges, max);
  const starts = s.map((x) => x[0]);
  return (n) => {
    const k = lowerBound(starts, n + 1) - 1;
    return k >= 0 && n <= s[k][1];
  };
}

/** Formats ascending numbers as a compact set: 1:3,5,7:9 (RFC 4315 uid-set, RFC 4731 ALL). */
export function formatSet(nums: readonly number[]): string {
  if (nums.length === 0) return '';
  const parts: string[] = [];
  let start = nums[0];
  let prev = start;
  for (let i = 1; i <= nums.length; i++) {
    const n = nums[i];
    if (i < nums.length && n === prev + 1) {
      prev = n;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}:${prev}`);
    start = n;
    prev = n;
  }
  return parts.join(',');
}
