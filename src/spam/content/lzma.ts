// An LZMA decoder (the raw stream 7-Zip compresses its archive headers with), written from the LZMA
// specification in the LZMA SDK (lzma-specification.txt, Igor Pavlov). The attachment check needs it for
// one thing only: a 7z archive's list of files and coders is LZMA-compressed by default, so without it a
// password-protected 7z (or an .exe inside one) could not be told from a harmless one. Bounded: the caller
// names the exact output size (7z records it) and a limit; input that runs out or refers outside what was
// decoded throws LzmaError, never reads past the buffers.

export class LzmaError extends Error {}

const TOP = 1 << 24;
const PROB_INIT = 1024; // kBitModelTotal / 2 (11-bit probabilities)
const MOVE_BITS = 5;
const POS_SLOT_BITS = 6;
const END_POS_MODEL = 14;
const FULL_DISTANCES = 128;
const ALIGN_BITS = 4;
const LEN_TO_POS_STATES = 4;
const MATCH_MIN_LEN = 2;

const probs = (n: number) => new Uint16Array(n).fill(PROB_INIT);

/** The range decoder: arithmetic-coded bits with adaptive 11-bit probabilities (spec: "Range Decoder"). */
class RangeDecoder {
  private range = 0xffffffff;
  private code = 0;
  private pos: number;
  private readonly input: Buffer;

  constructor(input: Buffer, start: number) {
    this.input = input;
    this.pos = start;
    if (this.next() !== 0) throw new LzmaError('LZMA stream does not start with 0');
    for (let i = 0; i < 4; i++) this.code = ((this.code << 8) | this.next()) >>> 0;
    if (this.code === this.range) throw new LzmaError('LZMA stream is corrupt');
  }

  private next(): number {
    if (this.pos >= this.input.length) throw new LzmaError('LZMA stream ends early');
    return this.input[this.pos++];
  }

  private normalize(): void {
    if (this.range < TOP) {
      this.range = (this.range << 8) >>> 0;
      this.code = ((this.code << 8) | this.next()) >>> 0;
    }
  }

  directBits(count: number): number {
    let res = 0;
    for (let i = 0; i < count; i++) {
      this.range >>>= 1;
      let bit = 0;
      if (this.code >= this.range) {
        this.code -= this.range;
        bit = 1;
      }
      res = res * 2 + bit; // up to 26 bits: plain arithmetic, no sign trouble
      this.normalize();
    }
    return res;
  }

  bit(p: Uint16Array, i: number): number {
    const v = p[i];
    const bound = (this.range >>> 11) * v; // < 2^32: exact in a double
    let bit: number;
    if (this.code < bound) {
      p[i] = v + ((2048 - v) >>> MOVE_BITS);
      this.range = bound;
      bit = 0;
    } else {
      p[i] = v - (v >>> MOVE_BITS);
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    this.normalize();
    return bit;
  }

  /** A bit-tree symbol of `bits` bits, most significant first; the tree's probabilities start at `base`. */
  tree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(p, base + m);
    return m - (1 << bits);
  }

  /** The same, least significant bit first (distances' low bits). */
  reverseTree(p: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(p, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }
}

/** Match lengths (spec: "Length Decoder"): 2-9 low, 10-17 mid (per position state), 18-273 high. */
class LengthDecoder {
  private readonly choice = probs(2);
  private readonly low: Uint16Array;
  private readonly mid: Uint16Array;
  private readonly high = probs(256);

  constructor(posStates: number) {
    this.low = probs(posStates << 3);
    this.mid = probs(posStates << 3);
  }

  decode(rc: RangeDecoder, posState: number): number {
    if (rc.bit(this.choice, 0) === 0) return rc.tree(this.low, posState << 3, 3);
    if (rc.bit(this.choice, 1) === 0) return 8 + rc.tree(this.mid, posState << 3, 3);
    return 16 + rc.tree(this.high, 0, 8);
  }
}

/** The 5 properties octets of a raw LZMA stream (as 7z stores them with the coder). */
export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

export function lzmaProps(props: Buffer): LzmaProps {
  if (props.length < 1 || props[0] >= 9 * 5 * 5) throw new LzmaError('bad LZMA properties');
  const d = props[0];
  return { lc: d % 9, lp: Math.floor(d / 9) % 5, pb: Math.floor(d / 45) };
}

/**
 * Decodes a raw LZMA stream (no .lzma file header) of exactly `size` output octets, at most `limit`.
 * The output buffer is the dictionary: 7z headers are small, so no window is needed.
 */
export function lzmaDecode(input: Buffer, props: Buffer, size: number, limit: number): Buffer {
  if (!Number.isSafeInteger(size) || size < 0 || size > limit) throw new LzmaError('LZMA output too large');
  const { lc, lp, pb } = lzmaProps(props);
  const out = Buffer.alloc(size);
  const rc = new RangeDecoder(input, 0);
  const literals = probs(0x300 << (lc + lp));
  const isMatch = probs(12 << 4);
  const isRep = probs(12);
  const isRepG0 = probs(12);
  const isRepG1 = probs(12);
  const isRepG2 = probs(12);
  const isRep0Long = probs(12 << 4);
  const posSlot = probs(LEN_TO_POS_STATES << POS_SLOT_BITS);
  const posDecoders = probs(1 + FULL_DISTANCES - END_POS_MODEL);
  const align = probs(1 << ALIGN_BITS);
  const lenDecoder = new LengthDecoder(1 << pb);
  const repLenDecoder = new LengthDecoder(1 << pb);
  const pbMask = (1 << pb) - 1;
  const lpMask = (1 << lp) - 1;
  let state = 0;
  let rep0 = 0;
  let rep1 = 0;
  let rep2 = 0;
  let rep3 = 0;
  let pos = 0;

  const distance = (len: number): number => {
    const lenState = Math.min(len, LEN_TO_POS_STATES - 1);
    const slot = rc.tree(posSlot, lenState << POS_SLOT_BITS, POS_SLOT_BITS);
    if (slot < 4) return slot;
    const direct = (slot >>> 1) - 1;
    let dist = (2 | (slot & 1)) * 2 ** direct;
    if (slot < END_POS_MODEL) dist += rc.reverseTree(posDecoders, dist - slot, direct);
    else dist += rc.directBits(direct - ALIGN_BITS) * 16 + rc.reverseTree(align, 0, ALIGN_BITS);
    return dist;
  };

  while (pos < size) {
    const posState = pos & pbMask;
    if (rc.bit(isMatch, (state << 4) + posState) === 0) {
      // A literal, coded in the context of the previous octet (and after a match, of the octet at rep0).
      const prev = pos > 0 ? out[pos - 1] : 0;
      const base = 0x300 * (((pos & lpMask) << lc) + (prev >>> (8 - lc)));
      let sym = 1;
      if (state >= 7) {
        if (rep0 >= pos) throw new LzmaError('LZMA distance outside the output');
        let match = out[pos - rep0 - 1];
        while (sym < 0x100) {
          const matchBit = (match >>> 7) & 1;
          match <<= 1;
          const bit = rc.bit(literals, base + ((1 + matchBit) << 8) + sym);
          sym = (sym << 1) | bit;
          if (matchBit !== bit) break;
        }
      }
      while (sym < 0x100) sym = (sym << 1) | rc.bit(literals, base + sym);
      out[pos++] = sym - 0x100;
      state = state < 4 ? 0 : state < 10 ? state - 3 : state - 6;
      continue;
    }
    let len: number;
    if (rc.bit(isRep, state) !== 0) {
      if (pos === 0) throw new LzmaError('LZMA repeat before any output');
      if (rc.bit(isRepG0, state) === 0) {
        if (rc.bit(isRep0Long, (state << 4) + posState) === 0) {
          // A "short rep": one octet from rep0.
          state = state < 7 ? 9 : 11;
          out[pos] = out[pos - rep0 - 1];
          pos++;
          continue;
        }
      } else {
        let dist: number;
        if (rc.bit(isRepG1, state) === 0) dist = rep1;
        else {
          if (rc.bit(isRepG2, state) === 0) dist = rep2;
          else {
            dist = rep3;
            rep3 = rep2;
          }
          rep2 = rep1;
        }
        rep1 = rep0;
        rep0 = dist;
      }
      len = repLenDecoder.decode(rc, posState);
      state = state < 7 ? 8 : 11;
    } else {
      rep3 = rep2;
      rep2 = rep1;
      rep1 = rep0;
      len = lenDecoder.decode(rc, posState);
      state = state < 7 ? 7 : 10;
      rep0 = distance(len);
      if (rep0 === 0xffffffff) break; // the end marker (7z knows the size, but a stream may carry one)
    }
    len += MATCH_MIN_LEN;
    if (rep0 >= pos) throw new LzmaError('LZMA distance outside the output');
    if (pos + len > size) throw new LzmaError('LZMA match past the end of the output');
    for (let i = 0; i < len; i++, pos++) out[pos] = out[pos - rep0 - 1];
  }
  if (pos !== size) throw new LzmaError('LZMA stream ended before its size');
  return out;
}
