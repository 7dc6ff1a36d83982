// Events per key (an IP address) in one-minute windows: the connection rate of every listener and the
// HTTP request rate. Bounded: windows that have ended are dropped once the map grows large.

export class PerMinuteLimit {
  private readonly windows = new Map<string, { start: number; n: number }>();
  private readonly perMinute: number;

  /** perMinute 0 or less: no limit. */
  constructor(perMinute: number) {
    this.perMinute = perMinute;
  }

  /** Counts one event for `key`; false when it goes over the limit. */
  allow(key: string, now = Date.now()): boolean {
    if (this.perMinute <= 0) return true;
    let w = this.windows.get(key);
    if (!w || now - w.start >= 60_000) {
      if (this.windows.size >= 100_000)
        for (const [k, v] of this.windows) if (now - v.start >= 60_000) this.windows.delete(k);
      w = { start: now, n: 0 };
      this.windows.set(key, w);
    }
    return ++w.n <= this.perMinute;
  }
}
