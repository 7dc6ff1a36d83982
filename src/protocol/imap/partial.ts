// The PARTIAL range of RFC 9394 (paged SEARCH, SORT and UID FETCH): its grammar and the page it picks
// out of a result. Pure: no I/O.

/**
 * A range of 1-based positions in a result, ends in increasing order of distance from where counting
 * starts: `from` <= `to`. `fromEnd`: counted from the last result (-1 is the last), else from the first.
 */
export interface PartialRange {
  fromEnd: boolean;
  from: number;
  to: number;
}

// RFC 9051 section 9: nz-number = digit-nz *DIGIT, and a number is an unsigned 32-bit value.
const MAX_NUMBER = 4294967295;
const END = /^(-?)([0-9]+)$/;

/**
 * RFC 9394 section 4: partial-range-first = nz-number ":" nz-number, partial-range-last =
 * MINUS nz-number ":" MINUS nz-number. Returns the range or a sentence saying what is wrong.
 */
export function parsePartialRange(text: string): PartialRange | string {
  const shown = text.length > 30 ? `${text.slice(0, 30)}...` : text;
  const ends = text.split(':');
  const m = ends.length === 2 ? ends.map((e) => END.exec(e)) : [];
  if (!m[0] || !m[1]) return `PARTIAL range ${shown} is not n:m or -n:-m`;
  const nums: number[] = [];
  for (const e of m as RegExpExecArray[]) {
    const digits = e[2];
    if (/^0+$/.test(digits)) return `PARTIAL range ${shown}: positions start at 1`;
    if (digits.startsWith('0')) return `PARTIAL range ${shown}: a position has a leading zero`;
    if (digits.length > 10 || Number(digits) > MAX_NUMBER)
      return `PARTIAL range ${shown}: positions are at most ${MAX_NUMBER}`;
    nums.push(Number(digits));
  }
  // Both ends count from the same side: one from the first result and one from the last names no range.
  if (m[0][1] !== m[1][1]) return `PARTIAL range ${shown} mixes positive and negative positions`;
  // "A range 500:400 is the same as 400:500" (section 4); likewise for negative ranges.
  return { fromEnd: m[0][1] === '-', from: Math.min(nums[0], nums[1]), to: Math.max(nums[0], nums[1]) };
}

/** The range as the ESEARCH answer repeats it: `2:5`, `-1:-100` (nearest end first). */
export function formatPartialRange(r: PartialRange): string {
  return r.fromEnd ? `-${r.from}:-${r.to}` : `${r.from}:${r.to}`;
}

/**
 * The indexes [start, end) of a result of `length` entries that the range names (section 3.1): from the
 * first entry, or with -1 the last. Positions past either end name nothing.
 */
export function partialBounds(r: PartialRange, length: number): [number, number] {
  if (!r.fromEnd) return [Math.min(r.from - 1, length), Math.min(r.to, length)];
  return [Math.max(length - r.to, 0), Math.max(length - r.from + 1, 0)];
}

/** The page of a list the range names, in the list's own order. */
export function partialPage<T>(r: PartialRange, list: readonly T[]): T[] {
  const [start, end] = partialBounds(r, list.length);
  return list.slice(start, end);
}
