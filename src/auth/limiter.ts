// Brute-force defence: failed sign-ins counted per IP and per account in a sliding window, a delay that
// doubles with each failure from an IP (reset when that IP signs in), and temporary lockouts. An IP that fails too often is locked out entirely; an
// account that fails too often (from many IPs: a distributed attack) is locked for passwords only, and
// only from IPs that never signed it in: its owner's known-good IPs and bearer tokens still work.
// "IP" is an IPv4 address or an IPv6 /64 (clientKey). State is per process and bounded (oldest entries
// are dropped first); nodes sharing a database tell each other every failure and success they count
// (`share`, `heard`), so each counts them all and a cluster allows no more guesses than one node.

import { canonicalAddressOf } from '../directory/address.ts';
import { clientKey } from '../net/connection.ts';

export interface LimiterOptions {
  maxFailuresPerIp: number;
  maxFailuresPerAccount: number;
  windowMs: number;
  lockoutMs: number;
  /** Delay before the reply to an IP's first failure, doubled for each further one, capped at maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
  /** Entries kept per table before the oldest are forgotten. */
  maxEntries?: number;
}

interface Counter {
  /** Failure times within the window, oldest first. */
  times: number[];
  lockedUntil: number;
  /**
   * Failures since the last success from this IP (per-IP counters only): what the delay grows with. Never more
   * than `times` holds, so it is forgotten with the window too.
   */
  penalty: number;
}

/**
 * An account's counters are keyed by its canonical address: every spelling that signs in to it (any case, a
 * U-label or A-label domain) shares them, or each spelling would get its own allowance of failures.
 */
/** Known-good IPs are remembered this long after a successful sign-in. */
const KNOWN_GOOD_MS = 30 * 86400_000;

/**
 * The account a user name names, as AuthService looks it up (trimmed, lower case, the domain as an
 * A-label): " alice@x", "ALICE@x\t" and bob@bücher / bob@xn--bcher-kva are one account each, so
 * respelling a name is no way around its lockout.
 */
export function accountKey(username: string): string {
  const name = username.trim();
  return canonicalAddressOf(name) ?? name.toLowerCase();
}

/** Whether two user names name one account (an authzid and its authcid, a token's user and its account). */
export function sameAccount(a: string, b: string): boolean {
  return accountKey(a) === accountKey(b);
}

/** A failure or a success counted on one node, for the others: [kind, ip, user name]. */
export type SignInNote = ['f', string, string | null] | ['s', string, string];

export class AuthLimiter {
  /** Told of each failure and success counted here (not of those heard), to tell the other nodes. */
  share: ((n: SignInNote) => void) | null = null;
  private readonly ips = new Map<string, Counter>();
  private readonly accounts = new Map<string, Counter>();
  private readonly knownGood = new Map<string, number>();
  private readonly max: number;
  private readonly o: LimiterOptions;
  private readonly now: () => number;

  constructor(o: LimiterOptions, now: () => number = Date.now) {
    this.o = o;
    this.now = now;
    this.max = o.maxEntries ?? 100_000;
  }

  private counter(table: Map<string, Counter>, key: string, create: boolean): Counter | undefined {
    let c = table.get(key);
    if (c) {
      const since = this.now() - this.o.windowMs;
      while (c.times.length > 0 && c.times[0] < since) c.times.shift();
      if (c.times.length === 0 && c.lockedUntil <= this.now() && !create) {
        table.delete(key);
        return undefined;
      }
    } else if (create) {
      c = { times: [], lockedUntil: 0, penalty: 0 };
      table.set(key, c);
      if (table.size > this.max) table.delete(table.keys().next().value!);
    }
    return c;
  }

  /** Why this attempt must be refused without checking credentials, or null. */
  locked(ip: string, username: string | null, passwordBased: boolean): 'ip' | 'account' | null {
    const t = this.now();
    const from = clientKey(ip);
    if ((this.counter(this.ips, from, false)?.lockedUntil ?? 0) > t) return 'ip';
    const user = username ? accountKey(username) : '';
    if (passwordBased && user) {
      const acc = this.counter(this.accounts, user, false);
      if ((acc?.lockedUntil ?? 0) > t && !this.isKnownGood(user, from)) return 'account';
    }
    return null;
  }

  failure(ip: string, username: string | null): void {
    this.countFailure(ip, username);
    this.share?.(['f', ip, username]);
  }

  success(ip: string, username: string): void {
    this.remember(ip, username);
    this.share?.(['s', ip, username]);
  }

  /** What another node counted: the same as here, not passed on. */
  heard(n: SignInNote): void {
    if (!Array.isArray(n) || typeof n[1] !== 'string') return;
    if (n[0] === 'f') this.countFailure(n[1], typeof n[2] === 'string' ? n[2] : null);
    else if (n[0] === 's' && typeof n[2] === 'string') this.remember(n[1], n[2]);
  }

  private countFailure(ip: string, username: string | null): void {
    const t = this.now();
    const ipc = this.counter(this.ips, clientKey(ip), true)!;
    ipc.times.push(t);
    ipc.penalty++;
    if (ipc.times.length >= this.o.maxFailuresPerIp) ipc.lockedUntil = t + this.o.lockoutMs;
    const user = username ? accountKey(username) : '';
    if (user) {
      const acc = this.counter(this.accounts, user, true)!;
      acc.times.push(t);
      if (acc.times.length >= this.o.maxFailuresPerAccount) acc.lockedUntil = t + this.o.lockoutMs;
    }
  }

  /**
   * A success resets the IP's delay only, as Dovecot's auth penalty is reset. Not the IP's failure count: a
   * guesser who owns any account could sign in to it between guesses and never reach the IP's lockout. Nor
   * the account's: the owner's clients sign in every few minutes, and each success would hand a distributed
   * attack a new allowance of guesses; the owner needs no reset, their known-good IP passes the lockout.
   */
  private remember(ip: string, username: string): void {
    const user = accountKey(username);
    const from = clientKey(ip);
    const ipc = this.counter(this.ips, from, false);
    if (ipc) ipc.penalty = 0;
    this.knownGood.set(`${user} ${from}`, this.now() + KNOWN_GOOD_MS);
    if (this.knownGood.size > this.max) this.knownGood.delete(this.knownGood.keys().next().value!);
  }

  private isKnownGood(user: string, from: string): boolean {
    return (this.knownGood.get(`${user} ${from}`) ?? 0) > this.now();
  }

  /**
   * How long to wait before telling this IP its attempt failed: delayMs after its first failure, doubled for
   * each further one in the window since its last success, capped at maxDelayMs (Dovecot's auth penalty:
   * 2, 4, 8, then 15 s).
   */
  delay(ip: string): number {
    const c = this.counter(this.ips, clientKey(ip), false);
    const n = Math.max(Math.min(c?.penalty ?? 0, c?.times.length ?? 0), 1);
    // 2^(n-1) past 2^30 says nothing more than the cap does (and 0 * Infinity would be NaN).
    return Math.min(this.o.delayMs * 2 ** Math.min(n - 1, 30), this.o.maxDelayMs);
  }
}
