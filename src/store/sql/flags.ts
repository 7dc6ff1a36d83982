// Flag storage: the five system flags as a bit mask (fast counters and filters), keywords as a word list.

const BITS: Record<string, number> = {
  '\\seen': 1,
  '\\answered': 2,
  '\\flagged': 4,
  '\\deleted': 8,
  '\\draft': 16,
};
const NAMES: [number, string][] = [
  [1, '\\Seen'],
  [2, '\\Answered'],
  [4, '\\Flagged'],
  [8, '\\Deleted'],
  [16, '\\Draft'],
];
export const SEEN = 1;
export const DELETED = 8;

/** Splits flags into the system-flag mask and the keyword list (duplicates removed, case-insensitively). */
export function encodeFlags(flags: readonly string[]): { mask: number; keywords: string[] } {
  let mask = 0;
  const keywords: string[] = [];
  const seen = new Set<string>();
  for (const f of flags) {
    const lower = f.toLowerCase();
    const bit = BITS[lower];
    if (bit !== undefined) mask |= bit;
    else if (!lower.startsWith('\\') && !seen.has(lower)) {
      seen.add(lower);
      keywords.push(f);
    }
  }
  return { mask, keywords };
}

export function decodeFlags(mask: number, keywords: string): string[] {
  const out: string[] = [];
  for (const [bit, name] of NAMES) if (mask & bit) out.push(name);
  if (keywords) for (const k of keywords.split(' ')) out.push(k);
  return out;
}

export function joinKeywords(k: readonly string[]): string {
  return k.join(' ');
}

export function splitKeywords(s: string): string[] {
  return s ? s.split(' ') : [];
}

/** Applies an add/remove/set to a message's current flags; returns the new mask and keywords. */
export function applyFlagOp(
  op: 'add' | 'remove' | 'set',
  curMask: number,
  curKeywords: string[],
  change: { mask: number; keywords: string[] },
): { mask: number; keywords: string[] } {
  if (op === 'set') return { mask: change.mask, keywords: change.keywords };
  if (op === 'add') {
    const have = new Set(curKeywords.map((k) => k.toLowerCase()));
    const keywords = [...curKeywords];
    for (const k of change.keywords) if (!have.has(k.toLowerCase())) keywords.push(k);
    return { mask: curMask | change.mask, keywords };
  }
  const drop = new Set(change.keywords.map((k) => k.toLowerCase()));
  return { mask: curMask & ~change.mask, keywords: curKeywords.filter((k) => !drop.has(k.toLowerCase())) };
}
