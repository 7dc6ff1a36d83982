// Token ids: a token string hashed to a 52-bit integer (two 32-bit FNV-1a/murmur-mixed halves), so the
// tables hold small fixed-size keys and a JavaScript number carries one exactly. With a few million
// distinct tokens the chance of any collision is ~1e-3, and a collision only merges two tokens' counts.

/** Finaliser of MurmurHash3: spreads every input bit over the output. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two independent 32-bit hashes of a string (UTF-16 code units), as [hi, lo]. */
export function hashPair(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [mix32(a), mix32(b ^ s.length)];
}

const TWO32 = 2 ** 32;

/** The id of a token from its two halves: 20 bits of hi, 32 of lo. */
export function idOf(hi: number, lo: number): number {
  return (hi & 0xfffff) * TWO32 + (lo >>> 0);
}

/** The id of a token string. */
export function tokenId(s: string): number {
  const [hi, lo] = hashPair(s);
  return idOf(hi, lo);
}

/** The id of an ordered pair of tokens `distance` apart (an OSB bigram), from their halves: no string built. */
export function pairId(a: [number, number], b: [number, number], distance: number): number {
  const hi = mix32((Math.imul(a[0], 31) ^ b[0] ^ Math.imul(distance, 0x27d4eb2d)) >>> 0);
  const lo = mix32((a[1] ^ Math.imul(b[1] + distance, 0x165667b1) ^ 0x5f356495) >>> 0);
  return idOf(hi, lo);
}
