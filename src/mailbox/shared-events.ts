// The EventBus of processes that share one store: every event is handed to this process's subscribers at
// once (as the in-process bus does) and sent to the others through a Notifier (store/postgres/notify.ts
// between the nodes of a cluster; store/sqlite/notify.ts from the `petrel` command to the server), whose
// subscribers get it too. Without it an IMAP session in IDLE on one node heard of a delivery, a flag
// change or an expunge made through another node only at its periodic re-check (minutes later).
// Events are published after their commit, so a node that hears one reads the change. A node whose
// connection for hearing them dropped (or could not be made at first) may have missed some: once it
// hears again, every subscribed account is told to look again.
import type { EventBus, MailEvent } from '../core/ports.ts';
import type { Notifier } from '../store/postgres/notify.ts';
import { memoryEventBus } from './events.ts';

type Wire = [accountId: number, mailboxId: number | null, modseq: number, kind: MailEvent['kind']];

export function sharedEventBus(notifier: Notifier): EventBus {
  const local = memoryEventBus();
  const counts = new Map<number, number>();
  const topic = notifier.topic<Wire>(
    'mail',
    (items) => {
      for (const [accountId, mailboxId, modseq, kind] of items)
        if (counts.has(accountId)) local.publish({ accountId, ...(mailboxId !== null && { mailboxId }), modseq, kind });
    },
    // After a gap in hearing: every subscribed account looks at its mailbox again (expunges included), and
    // its sessions ask whether they may go on (an account removed meanwhile).
    () => {
      for (const accountId of counts.keys()) {
        local.publish({ accountId, modseq: 0, kind: 'expunge' });
        local.publish({ accountId, modseq: 0, kind: 'account' });
      }
    },
  );
  return {
    publish(e) {
      local.publish(e);
      topic.send([e.accountId, e.mailboxId ?? null, e.modseq, e.kind]);
    },
    subscribe(accountId, fn) {
      counts.set(accountId, (counts.get(accountId) ?? 0) + 1);
      topic.listen();
      const off = local.subscribe(accountId, fn);
      return () => {
        off();
        const n = (counts.get(accountId) ?? 1) - 1;
        if (n > 0) counts.set(accountId, n);
        else counts.delete(accountId);
      };
    },
  };
}
