// Spam traps (spam.traps): addresses, or whole domains, that no person uses, so whatever reaches them is
// spam by definition (rspamd's spamtrap module, the trap addresses Stalwart and blocklist operators keep).
// Mail from the internet to a trap is accepted as if delivered and stored nowhere; what it shows teaches
// the filter (Bayes, sender reputation by what the sender cannot forge, the digest store), and the other
// recipients of the same message get SPAMTRAP. Only the MX listener's unauthenticated mail meets a trap:
// our own users writing to one get the ordinary "user unknown".
import { normaliseDomain } from '../directory/address.ts';

/** The sinks a trap may teach (spam.traps.learn); Pyzor is left out: its servers are shared with others. */
export const TRAP_SINKS = ['bayes', 'reputation', 'digests'] as const;

/** The facts key under which the trap check leaves the trap recipients of a message. */
export const TRAP_FACT = 'traps';

export class SpamTraps {
  private readonly addresses = new Set<string>();
  private readonly domains = new Set<string>();
  /** The sinks a trapped message teaches. */
  readonly learn: ReadonlySet<string>;

  /**
   * `entries`: "user@domain" or "@domain" (every address of the domain and of its subdomains); `learn`:
   * names from TRAP_SINKS. Throws for anything else, so a typo stops the start instead of trapping nothing.
   */
  constructor(entries: string[], learn: string[] = []) {
    for (const l of learn)
      if (!(TRAP_SINKS as readonly string[]).includes(l))
        throw new Error(`spam.traps.learn: "${l}" is not one of ${TRAP_SINKS.join(', ')}`);
    this.learn = new Set(learn);
    for (const raw of entries) {
      const e = raw.trim().toLowerCase();
      const at = e.lastIndexOf('@');
      const domain = at >= 0 ? safeDomain(e.slice(at + 1)) : null;
      if (at < 0 || !domain || /[\s<>"]/.test(e))
        throw new Error(`spam.traps.addresses: "${raw}" is neither user@domain nor @domain`);
      if (at === 0) this.domains.add(domain);
      else this.addresses.add(`${e.slice(0, at)}@${domain}`);
    }
  }

  get size(): number {
    return this.addresses.size + this.domains.size;
  }

  /** The exact trap addresses (to warn when one is also an account or alias). */
  get exact(): string[] {
    return [...this.addresses];
  }

  /** Whether mail to this address is trapped; a +tag of a trap address is the trap too. */
  has(address: string): boolean {
    if (this.size === 0) return false;
    const a = address.toLowerCase();
    const at = a.lastIndexOf('@');
    if (at <= 0) return false;
    const domain = safeDomain(a.slice(at + 1));
    if (!domain) return false;
    for (let d = domain; ; ) {
      if (this.domains.has(d)) return true;
      const dot = d.indexOf('.');
      if (dot < 0) break;
      d = d.slice(dot + 1);
    }
    const local = a.slice(0, at);
    const plus = local.indexOf('+');
    return (
      this.addresses.has(`${local}@${domain}`) || (plus > 0 && this.addresses.has(`${local.slice(0, plus)}@${domain}`))
    );
  }
}

function safeDomain(d: string): string | null {
  try {
    return normaliseDomain(d);
  } catch {
    return null;
  }
}
