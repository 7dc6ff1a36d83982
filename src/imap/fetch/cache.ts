// Serialised ENVELOPE, BODY and BODYSTRUCTURE per stored body: bodies never change, so a bounded
// process-wide cache spares re-serialising (and re-reading the parse JSON) on every FETCH.

class Lru {
  private map = new Map<number, string>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(k: number): string | undefined {
    return this.map.get(k);
  }
  set(k: number, v: string): void {
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
};
