// Fuzzy digests of a message's text for Petrel's own digest store: copies of one campaign that differ in
// a few words (the recipient's name, a tracking link, a changed price) share most of their 3-word
// shingles, so MinHash signatures of the shingle sets agree in most positions (the share of agreeing
// positions estimates the sets' Jaccard similarity). The 32 positions are cut into 8 bands of 4, and each
// band is one digest key (locality-sensitive hashing): two texts with similarity s share a given band
// with probability s^4, so a copy at s = 0.8 shares at least one band 98% of the time, two of them 90%,
// while unrelated texts (s < 0.2) share one in about one case in a hundred at s = 0.2 and far less below.
// The keys are stored like the exact digests (counted per user report), so no new table is needed and
// every node on the store sees them. As rspamd's fuzzy_check does with its shingles, only texts long
// enough for shingles to mean something get fuzzy digests.
//
// The keys are persisted and shared between nodes and versions: anything that changes them (the word
// rule, the hash, the seeds, the banding) must change VERSION, or old reports would silently stop
// matching.
import { mix32 } from '../bayes/hash.ts';

const VERSION = 'fz1';
/** Words a text needs before it has fuzzy digests (a short text's shingles say little). */
export const MIN_WORDS = 30;
/** Words read from the start of the text. */
const MAX_WORDS = 4000;
const SHINGLE = 3;
const BANDS = 8;
const ROWS = 4;
const HASHES = BANDS * ROWS;

/** Letters and digits; anything else separates words. */
const WORD = /[\p{L}\p{N}]+/gu;
const DIGITS = /[0-9]+/g;
/** Longer runs are tracking codes and hash busters, different in every copy. */
const MAX_WORD = 24;

/** The seeds of the 32 hash functions: fixed (see VERSION). */
const SEEDS = Array.from({ length: HASHES }, (_, i) => mix32(Math.imul(i + 1, 0x9e3779b9)));

/** The words the shingles are made of: lower-cased, numbers as "#", very short and very long runs left out. */
export function fuzzyWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(WORD)) {
    const w = m[0];
    if (w.length < 2 || w.length > MAX_WORD) continue;
    out.push(w.replace(DIGITS, '#'));
    if (out.length >= MAX_WORDS) break;
  }
  return out;
}

/** 32-bit FNV-1a of a string's UTF-16 code units. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The 32 MinHash values of a text's 3-word shingles, or null when it has fewer than MIN_WORDS words. */
export function minHashes(text: string): Uint32Array | null {
  const words = fuzzyWords(text);
  if (words.length < MIN_WORDS) return null;
  const wh = words.map(fnv);
  const mins = new Uint32Array(HASHES).fill(0xffffffff);
  for (let i = 0; i + SHINGLE <= wh.length; i++) {
    // The shingle's hash: each word's hash mixed in turn (order matters: "a b c" is not "c b a").
    const sh = mix32((mix32(wh[i] ^ 0x2545f491) + Math.imul(wh[i + 1], 31) + Math.imul(wh[i + 2], 961)) >>> 0);
    for (let k = 0; k < HASHES; k++) {
      const v = mix32(sh ^ SEEDS[k]);
      if (v < mins[k]) mins[k] = v;
    }
  }
  return mins;
}

/** The text's fuzzy digest keys ("fz1.<band>:<32 hex>"), one per band; none for a short text. */
export function fuzzyDigests(text: string): string[] {
  const mins = minHashes(text);
  if (!mins) return [];
  const out: string[] = [];
  for (let b = 0; b < BANDS; b++) {
    let hex = '';
    for (let r = 0; r < ROWS; r++) hex += mins[b * ROWS + r].toString(16).padStart(8, '0');
    out.push(`${VERSION}.${b}:${hex}`);
  }
  return out;
}

/** Whether a digest key is a fuzzy one. */
export const isFuzzyDigest = (digest: string): boolean => digest.startsWith(`${VERSION}.`);

/** How many bands there are (a match names how many of them agreed). */
export const FUZZY_BANDS = BANDS;
