// Per client IP and per envelope sender message rates (spam.rate_limit), in fixed windows kept in the
// shared store, so every node counts against the same limit. Over a limit the SMTP side answers MAIL FROM
// with 451 4.7.1 (RFC 5321 section 4.2.5 and RFC 3463: a temporary, policy-related refusal): the sender
// retries later and nothing is lost, and no content has been transferred yet.
//
// The two are counted differently. The client IP is the one thing a client cannot forge, so every MAIL
// FROM counts against it, as Postfix's anvil counts per client. The envelope sender is only a claim until
// a message under it is accepted: counting it at MAIL FROM let any host spend a real sender's quota with
// MAIL FROM/RSET pairs. So a sender counts only the messages accepted at the end of DATA/BDAT (rspamd
// counts its sender limits for messages it processed); MAIL FROM only refuses a sender already at its limit.
import type { SpamStore } from '../core/spam-port.ts';
import { clientKey } from '../net/connection.ts';
import { senderKey } from './checks/greylist.ts';

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

  private window(): number {
    const t = (this.o.now ?? Date.now)();
    return t - (t % this.o.windowMs);
  }

  /**
   * One sender's addresses count together: the parts that change per message (BATV tags, SRS stamps, VERP
   * numbers, +extensions) are rewritten as greylisting keys its triplets, else each message is a new sender.
   */
  private static senderKey(sender: string): string {
    return `from:${senderKey(sender)}`;
  }

  /**
   * At MAIL FROM: counts one for the client IP, and looks at (without counting) the messages accepted from
   * the sender in this window. Returns the reason when a limit is reached, else null.
   */
  async admit(ip: string, sender: string | null): Promise<string | null> {
    const { store, perIp, perSender } = this.o;
    const window = this.window();
    // An IPv6 client counts by its /64 (clientKey): one host holds all of it and could rotate addresses.
    const client = clientKey(ip);
    if (perIp > 0 && (await store.countRate(`ip:${client}`, window)) > perIp)
      return `Too many messages from ${client}; try again later`;
    // Sessions in parallel may each see the last free place: a sender can go a few messages over.
    if (perSender > 0 && sender && (await store.rateCount(RateLimiter.senderKey(sender), window)) >= perSender)
      return `Too many messages from <${sender}>; try again later`;
    return null;
  }

  /** At the end of DATA/BDAT, once the message is accepted: counts it for its envelope sender. */
  async accepted(sender: string | null): Promise<void> {
    if (this.o.perSender > 0 && sender) await this.o.store.countRate(RateLimiter.senderKey(sender), this.window());
  }
}
