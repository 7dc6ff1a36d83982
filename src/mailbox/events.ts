// In-process EventBus: mail changes are published after commit to the sessions of that account.
import type { EventBus, MailEvent } from '../core/ports.ts';

export function memoryEventBus(): EventBus {
  const subs = new Map<number, Set<(e: MailEvent) => void>>();
  return {
    publish(e) {
      const set = subs.get(e.accountId);
      if (!set) return;
      for (const fn of [...set]) {
        try {
          fn(e);
        } catch {
          // A subscriber's failure is its own; the others still hear the event.
        }
      }
    },
    subscribe(accountId, fn) {
      let set = subs.get(accountId);
      if (!set) {
        set = new Set();
        subs.set(accountId, set);
      }
      set.add(fn);
      return () => {
        set.delete(fn);
        if (set.size === 0) subs.delete(accountId);
      };
    },
  };
}
