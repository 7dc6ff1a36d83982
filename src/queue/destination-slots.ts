// queue.destination_concurrency for a cluster: every SMTP session to a domain holds one of the domain's
// numbered slots, a named lease in the shared store (core/lease-port.ts), so nodes on one PostgreSQL open
// no more sessions to a domain together than one node may. Used only where nodes share the store; a
// single node (SQLite) counts its own sessions in the runner and never asks the store.
import { randomBytes } from 'node:crypto';
import type { LeaseStore } from '../core/lease-port.ts';
import type { Logger } from '../telemetry/log.ts';

/** How long a slot outlives its last renewal (renewed every third of it; queue.lease when shorter). */
export const SLOT_TTL_MS = 60_000;

/** The lease name of one slot; a domain never ends in ":<digits>", so names do not collide. */
const slotName = (domain: string, slot: number) => `queue-slot:${domain}:${slot}`;

/** What the runner needs: take slots before starting sessions, give each back when its session ends. */
export interface SessionSlots {
  /** Takes up to `want` of the domain's free slots; returns their numbers (none when the cluster is at its limit). */
  take(domain: string, want: number): Promise<number[]>;
  /** Gives a slot back (its session ended). */
  give(domain: string, slot: number): void;
  /** Gives back every slot still held (shutdown). */
  stop(): Promise<void>;
}

export interface DestinationSlotsDeps {
  leases: LeaseStore;
  /** This node's stable id (server.node_id or <data_dir>/node-id). */
  node: string;
  /** queue.destination_concurrency: the slots are numbered 0 to this minus one. */
  perDestination: number;
  ttlMs?: number;
  log: Logger;
  now?: () => number;
}

export class DestinationSlots implements SessionSlots {
  private readonly d: DestinationSlotsDeps;
  private readonly now: () => number;
  private readonly ttlMs: number;
  /** `<node id>/<incarnation>`: this process's run of the node (as the POP3 maildrop locks name theirs). */
  private readonly owner: string;
  /** What every run of this node's owner begins with: a slot held so is a dead run's, ours to take at once. */
  private readonly deadPrefix: string;
  /** Slot names this process holds. */
  private readonly held = new Set<string>();
  /**
   * Releases on their way to the store: taking the same slot again waits for it, or the late DELETE would
   * free a slot we hold again (and another node could take it: one session too many).
   */
  private readonly releasing = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;

  constructor(d: DestinationSlotsDeps) {
    this.d = d;
    this.now = d.now ?? Date.now;
    this.ttlMs = d.ttlMs ?? SLOT_TTL_MS;
    this.deadPrefix = `${d.node}/`;
    this.owner = `${this.deadPrefix}${randomBytes(8).toString('hex')}`;
  }

  async take(domain: string, want: number): Promise<number[]> {
    const got: number[] = [];
    // Lowest numbers first: each attempt is one upsert that only wins a free or expired slot, so two nodes
    // racing for the last one cannot both have it (the row's primary key serialises them).
    for (let slot = 0; slot < this.d.perDestination && got.length < want; slot++) {
      const name = slotName(domain, slot);
      if (this.held.has(name)) continue;
      try {
        await this.releasing.get(name);
        if (!(await this.d.leases.acquire(name, this.owner, this.ttlMs, this.now(), this.deadPrefix))) continue;
      } catch (e) {
        // What is held so far is used; the rest of the mail is released and leased again later.
        this.d.log.warn({ err: (e as Error).message, domain }, 'queue: destination slot not taken');
        break;
      }
      this.held.add(name);
      got.push(slot);
    }
    this.renewing();
    return got;
  }

  give(domain: string, slot: number): void {
    const name = slotName(domain, slot);
    if (!this.held.delete(name)) return;
    this.renewing();
    const p = this.d.leases
      .release(name, this.owner)
      .catch((e) =>
        this.d.log.warn({ err: (e as Error).message, domain }, 'queue: destination slot not released (it lapses)'),
      )
      .finally(() => {
        if (this.releasing.get(name) === p) this.releasing.delete(name);
      });
    this.releasing.set(name, p);
  }

  async stop(): Promise<void> {
    const names = [...this.held];
    this.held.clear();
    this.renewing();
    await Promise.all([
      ...this.releasing.values(),
      ...names.map((name) => this.d.leases.release(name, this.owner).catch(() => {})),
    ]);
  }

  /** Renews the held slots every third of their lifetime while there are any. */
  private renewing(): void {
    const on = this.held.size > 0;
    if (on === (this.timer !== null)) return;
    if (!on) {
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    this.timer = setInterval(() => {
      const names = [...this.held];
      this.d.leases
        .renew(names, this.owner, this.ttlMs, this.now())
        .then((n) => {
          // Lapsed (the store was out of reach longer than the TTL) and maybe taken by another node: until
          // this session ends the domain may see one session more than the limit.
          if (n < names.filter((name) => this.held.has(name)).length)
            this.d.log.warn({ held: names.length, renewed: n }, 'queue: destination slots lapsed while in use');
        })
        .catch((e) => this.d.log.warn({ err: (e as Error).message }, 'queue: destination slots not renewed'));
    }, this.ttlMs / 3);
    this.timer.unref();
  }
}
