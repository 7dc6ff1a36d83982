// Sizes in the config and on the command line: octets, or a number with a unit ("512K", "10M", "1GiB").
//
// Every unit is a power of 1024, whether written K, KB or KiB: as Dovecot reads its sizes ("10M" is
// 10 MiB) and as `df -h` prints them. Postfix takes octets only, which stay valid as they are.

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** What a size looks like, for error messages. */
export const SIZE_EXAMPLES = 'octets, or with K, M, G, T in powers of 1024: e.g. 512K, 10M, 1G';

/**
 * Octets of a size: a whole number of octets (a TOML integer, or digits in a string), or a number with
 * a unit: K, M, G or T, with an optional B or iB ("10M", "10 MB", "10MiB"), or B alone. Null for
 * anything else (negative, fractional octets, another unit), so each caller words its own error.
 */
export function octets(v: unknown): number | null {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? v : null;
  if (typeof v !== 'string') return null;
  const m = /^(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|(b))?$/i.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]) * UNITS[(m[2] ?? m[3] ?? '').toLowerCase()];
  // "1.5M" is whole octets; "1.5" (octets) or "0.5B" is not.
  return Number.isSafeInteger(Math.round(n)) && (m[2] || Number.isInteger(n)) ? Math.round(n) : null;
}

/** A size as the config reference shows a default: "50M" when it is a whole number of a unit. */
export function formatSize(n: number): string | number {
  for (const unit of ['T', 'G', 'M', 'K'])
    if (n > 0 && n % UNITS[unit.toLowerCase()] === 0) return `${n / UNITS[unit.toLowerCase()]}${unit}`;
  return n;
}
