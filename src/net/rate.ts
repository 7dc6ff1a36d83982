// Events per key (an IP address) in one-minute windows: the connection rate of every listener and the
// HTTP request rate. Bounded: windows that have ended are dropped once the map grows large.

/** Keys held before ended windows are dropped. */
const PRUNE_AT = 100_000;

export class PerMinuteLimit {
  private readonly windows = new Map<string, { start: number; n: number }>();
  private readonly perMinute: number;
  // The size at which the next sweep runs: twice what the last sweep left, so a flood of distinct keys
  // that are all still within their minute (IPv6 sources, say) costs one sweep per doubling, not one
  // sweep of 100,000 entries per new key.
  private pruneAt = PRUNE_AT;
  private lastSweep = 0;
  /** Sweeps made (for tests). */
  sweeps = 0;

  /** perMinute 0 or less: no limit. */
  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Counts one event for `key`; false when it goes over the limit. */
  allow(key: string, now = Date.now()): boolean {
    if (this.perMinute <= 0) return true;
    let w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      const size = this.windows.size;
      // Also once a minute past PRUNE_AT, so the memory of a flood is given back when it ends.
      if (size >= this.pruneAt || (size >= PRUNE_AT && now - this.lastSweep >= 60_000)) {
        for (const [k, v] of this.windows) if (now - v.start >= 60_000) this.windows.delete(k);
        this.pruneAt = Math.max(PRUNE_AT, 2 * this.windows.size);
        this.lastSweep = now;
        this.sweeps++;
      }
      w = { start: now, n: 0 };
      this.windows.set(key, w);
    }
    return ++w.n <= this.perMinute;
  }

  /** Keys held now (for tests). */
  get size(): number {
    return this.windows.size;
  }
}
