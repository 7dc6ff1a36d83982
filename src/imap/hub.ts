// One event subscription per account, shared by all of that account's IMAP sessions: a delivery marks
// the sessions that have the mailbox selected, and wakes those in IDLE (RFC 2177) at once.
import type { EventBus, MailEvent } from '../core/ports.ts';

export interface HubMember {
  readonly accountId: number;
  /** Called for every event of the member's account, after commit. */
  onMailEvent(e: MailEvent): void;
  /** Periodic re-check while idling (changes made by another process publish no event here). */
  recheck?(): void;
}

/** How often sessions in IDLE look at their mailbox even without an event (RFC 2177 leaves it open). */
export const IDLE_RECHECK_MS = 5 * 60 * 1000;

export class AccountHub {
  private readonly bus: EventBus;
  private readonly accounts = new Map<number, { members: Set<HubMember>; unsubscribe: () => void }>();

  private timer: NodeJS.Timeout | null = null;

  constructor(bus: EventBus) {
    this.bus = bus;
  }

  /** One timer for every session: each idling session re-checks its mailbox every IDLE_RECHECK_MS. */
  private startTimer() {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const a of this.accounts.values()) for (const m of a.members) m.recheck?.();
    }, IDLE_RECHECK_MS);
    this.timer.unref();
  }

  join(m: HubMember): void {
    let a = this.accounts.get(m.accountId);
    if (!a) {
      const members = new Set<HubMember>();
      const unsubscribe = this.bus.subscribe(m.accountId, (e) => {
        for (const x of members) x.onMailEvent(e);
      });
      a = { members, unsubscribe };
      this.accounts.set(m.accountId, a);
    }
    a.members.add(m);
    this.startTimer();
  }

  leave(m: HubMember): void {
    const a = this.accounts.get(m.accountId);
    if (!a) return;
    a.members.delete(m);
    if (a.members.size === 0) {
      a.unsubscribe();
      this.accounts.delete(m.accountId);
    }
    if (this.accounts.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /** Number of accounts with at least one session (tests, metrics). */
  get size(): number {
    return this.accounts.size;
  }
}
