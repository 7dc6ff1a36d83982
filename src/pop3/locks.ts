// The exclusive-access lock on a maildrop (RFC 1939 section 4): one POP3 session per account at a time,
// held from login until the session ends, across every node on the same store. An in-process set answers
// this node's sessions at once; a lease in the store (core/lease-port.ts) answers the other nodes'. Leases
// are renewed while held, so a node that dies without releasing frees its maildrops after TTL_MS.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { LeaseStore } from '../core/lease-port.ts';
import type { Logger } from '../telemetry/log.ts';

/** How long a lease outlives its last renewal (renewed every third of it). */
export const TTL_MS = 60_000;

const leaseName = (accountId: number) => `pop3:${accountId}`;

export class MaildropLocks {
  private readonly held = new Set<number>();
  /** Releases still on their way to the store: a new login for the account waits for it. */
  private readonly releasing = new Map<number, Promise<void>>();
  private readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private timer: NodeJS.Timeout | null = null;

  private readonly leases: LeaseStore | null;
  private readonly log: Logger;
  private readonly ttlMs: number;

  constructor(leases: LeaseStore | null, log: Logger, ttlMs = TTL_MS) {
    this.leases = leases;
    this.log = log;
    this.ttlMs = ttlMs;
  }

  /** Takes the account's lock; resolves to its release, or null when another session holds it ([IN-USE]). */
  async tryAcquire(accountId: number): Promise<(() => void) | null> {
    if (this.held.has(accountId)) return null;
    this.held.add(accountId);
    try {
      await this.releasing.get(accountId);
      if (this.leases && !(await this.leases.acquire(leaseName(accountId), this.owner, this.ttlMs, Date.now()))) {
        this.held.delete(accountId);
        return null;
      }
    } catch (e) {
      this.held.delete(accountId);
      throw e;
    }
    this.renewing(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held.delete(accountId);
      if (this.held.size === 0) this.renewing(false);
      if (!this.leases) return;
      const p = this.leases
        .release(leaseName(accountId), this.owner)
        .catch((e) => this.log.warn({ err: (e as Error).message }, 'pop3: maildrop lease not released (it lapses)'))
        .finally(() => {
          if (this.releasing.get(accountId) === p) this.releasing.delete(accountId);
        });
      this.releasing.set(accountId, p);
    };
  }

  private renewing(on: boolean): void {
    if (!this.leases || on === (this.timer !== null)) return;
    if (!on) {
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const leases = this.leases;
    this.timer = setInterval(() => {
      const ids = [...this.held];
      leases
        .renew(ids.map(leaseName), this.owner, this.ttlMs, Date.now())
        .then((n) => {
          if (n < ids.length) this.log.warn({ held: ids.length, renewed: n }, 'pop3: maildrop leases lost');
        })
        .catch((e) => this.log.warn({ err: (e as Error).message }, 'pop3: maildrop leases not renewed'));
    }, this.ttlMs / 3);
    this.timer.unref();
  }
}
