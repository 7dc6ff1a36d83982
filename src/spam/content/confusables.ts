// Look-alike detection for domain names: a "skeleton" in the spirit of Unicode TR39 (confusable
// characters mapped to one prototype), from a compact table of the homoglyphs phishers use (Cyrillic,
// Greek and Latin look-alikes of ASCII letters, digit substitutions, rn/vv for m/w). Two different
// names with the same skeleton look the same to a reader.
import { unicodeHost } from './domain.ts';

/** Characters mapped to the ASCII letter they imitate (lower case; input is NFKC-folded first). */
const SINGLE: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'l',
  ї: 'l',
  ј: 'j',
  к: 'k',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  с: 'c',
  т: 't',
  у: 'y',
  х: 'x',
  ѕ: 's',
  ԁ: 'd',
  ԛ: 'q',
  ԝ: 'w',
  ɡ: 'g',
  ү: 'y',
  ӏ: 'l',
  ο: 'o',
  // Greek
  α: 'a',
  β: 'b',
  ε: 'e',
  η: 'n',
  ι: 'l',
  κ: 'k',
  ν: 'v',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ζ: 'z',
  // Latin look-alikes and digits
  ı: 'l',
  ł: 'l',
  ƚ: 'l',
  ȷ: 'j',
  ɑ: 'a',
  ɒ: 'a',
  ɩ: 'l',
  ʏ: 'y',
  ß: 'b',
  ð: 'd',
  đ: 'd',
  ħ: 'h',
  ø: 'o',
  '0': 'o',
  '1': 'l',
  '|': 'l',
  '3': 'e',
  '5': 's',
  '@': 'a',
  $: 's',
};
/** Sequences that read as one letter in most fonts. */
const MULTI: [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
  [/cl/g, 'd'],
];

/** The skeleton of a host name or text: case-folded, accents removed, look-alikes mapped. */
export function skeleton(name: string): string {
  const folded = unicodeHost(name.toLowerCase()).normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  let out = '';
  for (const ch of folded) out += SINGLE[ch] ?? ch;
  // i and l look alike in many sans-serif faces: fold i into l too (paypal / paypai).
  out = out.replace(/i/g, 'l');
  for (const [re, to] of MULTI) out = out.replace(re, to);
  return out;
}

/** True when `candidate` is not `target` but looks like it (same skeleton). */
export function looksLike(candidate: string, target: string): boolean {
  const a = unicodeHost(candidate.toLowerCase());
  const b = unicodeHost(target.toLowerCase());
  return a !== b && skeleton(a) === skeleton(b);
}

/** Scripts mixed inside one label (Latin with Cyrillic or Greek): a classic homograph sign. */
export function mixedScript(host: string): boolean {
  for (const label of unicodeHost(host).split('.')) {
    const latin = /\p{Script=Latin}/u.test(label);
    if (latin && (/\p{Script=Cyrillic}/u.test(label) || /\p{Script=Greek}/u.test(label))) return true;
  }
  return false;
}

const NON_LATIN = /[\p{Script=Cyrillic}\p{Script=Greek}]/u;
const NON_LATIN_ALL = /[\p{Script=Cyrillic}\p{Script=Greek}]/gu;
/** Capital Cyrillic and Greek letters drawn as a Latin capital (the table above holds small letters). */
const UPPER_LOOKALIKES = new Set('АВЕЅІЈКМНОРСТУХҮӀԚԜΑΒΕΖΗΙΚΜΝΟΡΤΥΧ');

/** A Cyrillic or Greek letter that passes for a Latin one as written ("а", "Р"; not "μ", "Ω", "ж"). */
function lookalike(ch: string): boolean {
  return SINGLE[ch] !== undefined || UPPER_LOOKALIKES.has(ch);
}
const WORD = /[\p{L}\p{M}]+/gu;

/**
 * Words that mix Latin letters with Cyrillic or Greek look-alikes of Latin letters ("Pаypal" with a
 * Cyrillic "а"): text written to look like one word to people and another to filters. A Greek letter no
 * one takes for a Latin one is ordinary writing ("25μg", "10kΩ"). At most `limit` of them; most mail has
 * no Cyrillic or Greek letter at all and is passed over in one test.
 */
export function mixedScriptWords(text: string, limit: number): string[] {
  if (!NON_LATIN.test(text)) return [];
  const out: string[] = [];
  for (const m of text.matchAll(WORD)) {
    const w = m[0];
    if (w.length > 1 && /\p{Script=Latin}/u.test(w) && (w.match(NON_LATIN_ALL) ?? []).some(lookalike)) {
      out.push(w.slice(0, 40));
      if (out.length >= limit) break;
    }
  }
  return out;
}
