// The exclusive-access lock on a maildrop (RFC 1939 section 4): one POP3 session per account at a time,
// held from login until the session ends, across every node on the same store. An in-process set answers
// this node's sessions at once; a lease in the store (core/lease-port.ts) answers the other nodes'. Leases
// are renewed while held, so a node that dies without releasing frees its maildrops after TTL_MS to the
// others; the same node restarted (its node id, src/queue/node-id.ts) takes its dead run's at once.
import { randomBytes } from 'node:crypto';
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
  /** `<node id>/<incarnation>`: this process's run of the node; incarnations are all 16 characters long. */
  private readonly owner: string;
  /** What every run of this node's owner begins with: a lease held so is a dead run's (one process per node id). */
  private readonly node: string;
  private timer: NodeJS.Timeout | null = null;

  private readonly leases: LeaseStore | null;
  private readonly log: Logger;
  private readonly ttlMs: number;

  /** `node`: this node's stable id (server.node_id or <data_dir>/node-id). */
  constructor(leases: LeaseStore | null, log: Logger, ttlMs = TTL_MS, node = `${hostname()}:${process.pid}`) {
    this.leases = leases;
    this.log = log;
    this.ttlMs = ttlMs;
    this.node = `${node}/`;
    this.owner = `${this.node}${randomBytes(8).toString('hex')}`;
  }

  /** Takes the account's lock; resolves to its release, or null when another session holds it ([IN-USE]). */
  async tryAcquire(accountId: number): Promise<(() => void) | null> {
    if (this.held.has(accountId)) return null;
    this.held.add(accountId);
    try {
      await this.releasing.get(accountId);
      // A lease of this node's dead run (killed, not stopped) is ours at once; a live node's is not.
      const name = leaseName(accountId);
      if (this.leases && !(await this.leases.acquire(name, this.owner, this.ttlMs, Date.now(), this.node))) {
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
