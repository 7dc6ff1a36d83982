// Per client IP and per envelope sender message rates (spam.rate_limit), counted at MAIL FROM in fixed
// windows kept in the shared store, so every node counts against the same limit. Over the limit the
// SMTP side answers 451 4.7.1 (RFC 5321 section 4.2.5 and RFC 3463: a temporary, policy-related refusal):
// the sender retries later and nothing is lost, and no content has been transferred yet.
import type { SpamStore } from '../core/spam-port.ts';

export interface RateLimitOptions {
  store: SpamStore;
  windowMs: number;
  perIp: number;
  perSender: number;
  now?: () => number;
}

export class RateLimiter {
  private readonly o: RateLimitOptions;
  constructor(o: RateLimitOptions) {
    this.o = o;
  }

  get enabled(): boolean {
    return this.o.perIp > 0 || this.o.perSender > 0;
  }

  /** Counts one message; returns the reason when a limit is exceeded, else null. */
  async hit(ip: string, sender: string | null): Promise<string | null> {
    const { store, windowMs, perIp, perSender } = this.o;
    const t = (this.o.now ?? Date.now)();
    const window = t - (t % windowMs);
    if (perIp > 0 && (await store.countRate(`ip:${ip}`, window)) > perIp)
      return `Too many messages from ${ip}; try again later`;
    if (perSender > 0 && sender && (await store.countRate(`from:${sender.toLowerCase()}`, window)) > perSender)
      return `Too many messages from <${sender}>; try again later`;
    return null;
  }
}
