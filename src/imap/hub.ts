// One event subscription per account, shared by all of that account's IMAP sessions: a delivery marks
// the sessions that have the mailbox selected, and wakes those in IDLE (RFC 2177) at once.
import type { EventBus, MailEvent } from '../core/ports.ts';

export interface HubMember {
  readonly accountId: number;
  /** Called for every event of the member's account, after commit. */
  onMailEvent(e: MailEvent): void;
}

export class AccountHub {
  private readonly bus: EventBus;
  private readonly accounts = new Map<number, { members: Set<HubMember>; unsubscribe: () => void }>();

  constructor(bus: EventBus) {
    this.bus = bus;
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
  }

  leave(m: HubMember): void {
    const a = this.accounts.get(m.accountId);
    if (!a) return;
    a.members.delete(m);
    if (a.members.size === 0) {
      a.unsubscribe();
      this.accounts.delete(m.accountId);
    }
  }

  /** Number of accounts with at least one session (tests, metrics). */
  get size(): number {
    return this.accounts.size;
  }
}
