// Serialised ENVELOPE, BODY and BODYSTRUCTURE per stored body, and BINARY decoded sizes: bodies never change,
// so a bounded process-wide cache spares re-serialising (and re-reading the parse JSON, or re-decoding) on
// every FETCH.

class Lru<K = number, V = string> {
  private map = new Map<K, V>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(k: K): V | undefined {
    return this.map.get(k);
  }
  set(k: K, v: V): void {
    if (this.map.size >= this.max) {
      // Drop the oldest eighth at once: cheaper than strict LRU bookkeeping on every hit.
      let n = this.max >> 3;
      for (const key of this.map.keys()) {
        this.map.delete(key);
        if (--n <= 0) break;
      }
    }
    this.map.set(k, v);
  }
}

export const renderCache = {
  envelope: new Lru(200000),
  body: new Lru(50000),
  bodystructure: new Lru(100000),
  /** Decoded sizes of BINARY parts, by body id and part: a large part is then decoded once per FETCH. */
  binarySize: new Lru<string, number>(100000),
};
