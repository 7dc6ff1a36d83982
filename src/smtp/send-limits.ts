// Sending limits of authenticated accounts (smtp.send_limit_*): messages and recipients per window, as
// Postfix's anvil rates and the big providers' daily limits do. A stolen password is used to send spam;
// past the limit the account gets 451 4.7.1 (temporary: the window ends, the user's mail goes later) and
// the first refusal per window is logged as a warning, the sign an admin needs. Counted in the store's
// rate rows (spam_rates), so every node counts against the same limit.
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { Account } from '../core/model.ts';
import type { SpamStore } from '../core/spam-port.ts';
import type { Logger } from '../telemetry/log.ts';

interface Limits {
  messages: number;
  recipients: number;
}

/** smtp.send_limit_overrides: "address=messages:recipients" or "domain=messages:recipients"; bad entries stop the start. */
export function parseOverrides(list: string[]): Map<string, Limits> {
  const m = new Map<string, Limits>();
  for (const e of list) {
    const x = /^\s*([^=\s]+)\s*=\s*(\d+)\s*:\s*(\d+)\s*$/.exec(e);
    if (!x)
      throw new Error(
        `smtp.send_limit_overrides: "${e}" is not address=messages:recipients or domain=messages:recipients`,
      );
    m.set(x[1].toLowerCase(), { messages: Number(x[2]), recipients: Number(x[3]) });
  }
  return m;
}

export class SendLimits {
  private readonly warned = new Map<string, number>();
  private readonly o: {
    store: SpamStore;
    messages: number;
    recipients: number;
    overrides: Map<string, Limits>;
    windowMs: number;
    log: Logger;
  };

  constructor(o: SendLimits['o']) {
    this.o = o;
  }

  static fromConfig(config: Config, store: SpamStore, log: Logger): SendLimits | undefined {
    const c = config.smtp;
    const overrides = parseOverrides(c.send_limit_overrides);
    if (c.send_limit_messages === 0 && c.send_limit_recipients === 0 && overrides.size === 0) return undefined;
    const windowMs = parseDuration(c.send_limit_window, 'smtp.send_limit_window');
    return new SendLimits({
      store,
      messages: c.send_limit_messages,
      recipients: c.send_limit_recipients,
      overrides,
      windowMs,
      log,
    });
  }

  /** The account's own limits, else its domain's, else the global ones. */
  private limits(account: Account): Limits {
    const a = account.address.toLowerCase();
    return (
      this.o.overrides.get(a) ??
      this.o.overrides.get(a.slice(a.lastIndexOf('@') + 1)) ?? {
        messages: this.o.messages,
        recipients: this.o.recipients,
      }
    );
  }

  /** Counts one message of the account; the refusal text past the limit, else null. */
  message(account: Account): Promise<string | null> {
    return this.hit(account, 'messages', this.limits(account).messages);
  }

  /** Counts one recipient of the account; the refusal text past the limit, else null. */
  recipient(account: Account): Promise<string | null> {
    return this.hit(account, 'recipients', this.limits(account).recipients);
  }

  private async hit(account: Account, what: 'messages' | 'recipients', limit: number): Promise<string | null> {
    if (limit === 0) return null;
    const now = Date.now();
    const window = now - (now % this.o.windowMs);
    const n = await this.o.store.countRate(`send:${what}:${account.id}`, window);
    if (n <= limit) return null;
    const key = `${what}:${account.id}`;
    if (this.warned.get(key) !== window) {
      this.warned.set(key, window);
      if (this.warned.size > 10_000) this.warned.clear();
      this.o.log.warn(
        { account: account.address, limit, what, windowEnds: new Date(window + this.o.windowMs).toISOString() },
        'sending limit reached (a stolen password?)',
      );
    }
    return `Sending limit reached: ${limit} ${what} per ${describe(this.o.windowMs)}; try again later`;
  }
}

const describe = (ms: number) =>
  ms % 86_400_000 === 0 ? `${ms / 86_400_000} d` : ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`;
