// Small string helpers shared across layers.

/**
 * `s` without the characters of `drop` at its end (and at its start too, with `both`). A loop rather than
 * /[...]+$/: such a regex is retried from every position of a long run that is not at the end, which is
 * quadratic on hostile input.
 */
export function trimChars(s: string, drop: string, both = false): string {
  let a = 0;
  let b = s.length;
  if (both) while (a < b && drop.includes(s[a])) a++;
  while (b > a && drop.includes(s[b - 1])) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}
