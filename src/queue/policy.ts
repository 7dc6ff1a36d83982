// What an attempt's outcome does to a recipient: sent, failed, or retried on the backoff schedule; when its
// lifetime ends; which DSNs the sender asked for (RFC 3461 section 4.1 NOTIFY). Pure functions.
import type { NotifyValue, QueuedMessage, QueuedRecipient, RecipientUpdate } from '../core/ports.ts';

/** The result of trying one recipient once. */
export type Outcome =
  | {
      kind: 'sent';
      reply: string;
      remoteMta: string /** The next hop took over DSN duties (it has DSN). */;
      remoteDsn: boolean;
    }
  | { kind: 'deferred'; reply: string; status: string; remoteMta: string | null }
  | { kind: 'failed'; reply: string; status: string; remoteMta: string | null }
  /** A notice's recipient: local mailboxes took the message when it arrived (nothing was tried now). */
  | { kind: 'delivered'; reply: string };

export interface QueuePolicy {
  /** Waits after the 1st, 2nd, ... temporary failure; the last repeats. */
  retrySchedule: number[];
  lifetimeMs: number;
  /** 0: no delay DSN. */
  delayWarningMs: number;
}

/** The DSN action a recipient's change calls for (RFC 3464 section 2.3.3), null for none. */
export type ReportAction = 'failed' | 'delayed' | 'relayed' | 'delivered';

export interface Decision {
  update: RecipientUpdate;
  report: ReportAction | null;
}

/** Whether the sender wants this kind of DSN; no NOTIFY means failures and delays (RFC 3461 section 4.1). */
export function wants(notify: NotifyValue, what: 'SUCCESS' | 'FAILURE' | 'DELAY'): boolean {
  if (notify === 'NEVER') return false;
  if (notify === null) return what !== 'SUCCESS';
  return notify.includes(what);
}

/** The wait before the next attempt after `attempts` attempts in all. */
export function retryDelay(attempts: number, schedule: number[]): number {
  if (schedule.length === 0) return 60_000;
  return schedule[Math.min(Math.max(attempts, 1), schedule.length) - 1];
}

/** Applies one outcome to a recipient at time `now`. */
export function decide(m: QueuedMessage, r: QueuedRecipient, o: Outcome, now: number, policy: QueuePolicy): Decision {
  const attempts = r.attempts + 1;
  const base: RecipientUpdate = {
    id: r.id,
    status: 'queued',
    attempts,
    nextAttempt: r.nextAttempt,
    lastAttempt: now,
    lastReply: o.reply.slice(0, 1000),
    lastStatus: o.kind === 'sent' || o.kind === 'delivered' ? null : o.status,
    remoteMta: o.kind === 'delivered' ? null : o.remoteMta,
    warned: r.warned,
  };
  // A null reverse-path is never sent a DSN (RFC 5321 section 4.5.5, RFC 3461 section 5.2.7).
  const mayReport = m.from !== '';
  // RFC 3461 section 5.2.3: delivered to the recipient's mailbox, a "delivered" DSN if SUCCESS was asked for.
  if (o.kind === 'delivered')
    return {
      update: { ...base, status: 'sent' },
      report: mayReport && wants(r.notify, 'SUCCESS') ? 'delivered' : null,
    };
  if (o.kind === 'sent') {
    const report = mayReport && wants(r.notify, 'SUCCESS') && !o.remoteDsn ? 'relayed' : null;
    return { update: { ...base, status: 'sent' }, report };
  }
  if (o.kind === 'failed')
    return { update: { ...base, status: 'failed' }, report: mayReport && wants(r.notify, 'FAILURE') ? 'failed' : null };
  // Deferred: given up once the lifetime is over.
  if (now >= m.expiresAt)
    return {
      update: { ...base, status: 'failed', lastStatus: o.status },
      report: mayReport && wants(r.notify, 'FAILURE') ? 'failed' : null,
    };
  let report: ReportAction | null = null;
  let warned = r.warned;
  if (!warned && m.warnAt !== null && now >= m.warnAt) {
    warned = true;
    if (mayReport && wants(r.notify, 'DELAY')) report = 'delayed';
  }
  // The next attempt comes no later than the delay warning and the end of the lifetime, so both happen on time.
  let next = now + retryDelay(attempts, policy.retrySchedule);
  if (!warned && m.warnAt !== null) next = Math.min(next, Math.max(m.warnAt, now));
  next = Math.min(next, m.expiresAt);
  return { update: { ...base, nextAttempt: next, warned }, report };
}

/**
 * The administrator's bounce of a recipient not yet done (`petrel queue bounce`, Postfix's postsuper -e): failed
 * now, no attempt made; the DSN keeps the reason of the last delay, as Postfix's does.
 */
export function bounced(m: QueuedMessage, r: QueuedRecipient): Decision {
  const why = `bounced by the administrator${r.lastReply ? ` (last attempt: ${r.lastReply})` : ''}`;
  return {
    update: {
      id: r.id,
      status: 'failed',
      attempts: r.attempts,
      nextAttempt: r.nextAttempt,
      lastAttempt: r.lastAttempt,
      lastReply: why.slice(0, 1000),
      lastStatus: '5.0.0',
      remoteMta: null,
      warned: r.warned,
    },
    report: m.from !== '' && wants(r.notify, 'FAILURE') ? 'failed' : null,
  };
}
