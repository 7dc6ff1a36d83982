// Retention: messages in Junk and Trash are deleted a while after they were put there ([retention], 30
// days by default, as Gmail does for Spam and Trash), counted from SAVEDATE (RFC 8514) so a message moved
// to Trash today is not gone tomorrow because it arrived long ago. Hourly, by one node at a time (a lease),
// in bounded batches through MailService.expunge, so open IMAP sessions are told (EXPUNGE/VANISHED) and
// quotas and bodies are released as for any expunge.
import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { LeaseStore } from '../core/lease-port.ts';
import type { Logger } from '../telemetry/log.ts';
import { Job } from './job.ts';
import type { MailService } from './service.ts';

const LEASE = 'retention';
const LEASE_MS = 10 * 60_000;
const EVERY_MS = 3600_000;
/** Messages read per query, and removed per run at most (the rest waits for the next hour). */
const BATCH = 500;
const MAX_PER_RUN = 50_000;

export class Retention {
  private readonly owner = randomBytes(8).toString('hex');
  private readonly ages: [string, number][];
  private readonly job: Job<number>;
  private readonly d: { mail: MailService; leases: LeaseStore; log: Logger };

  constructor(config: Config, d: { mail: MailService; leases: LeaseStore; log: Logger }) {
    this.d = d;
    const r = config.retention;
    this.ages = (
      [
        ['\\Junk', parseDuration(r.junk, 'retention.junk')],
        ['\\Trash', parseDuration(r.trash, 'retention.trash')],
      ] as [string, number][]
    ).filter(([, ms]) => ms > 0);
    this.job = new Job(
      (now) => this.sweep(now),
      (e) => this.d.log.warn({ err: e }, 'retention: run failed'),
    );
  }

  /** Runs a minute after start, then hourly. */
  start(): void {
    if (this.ages.length > 0) this.job.start(60_000, EVERY_MS);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Deletes what is past its age now (when this node holds the lease); returns how many messages. */
  run(now = Date.now()): Promise<number> {
    return this.job.run(now);
  }

  private async sweep(now: number): Promise<number> {
    const { mail, leases, log } = this.d;
    if (this.ages.length === 0 || !(await leases.acquire(LEASE, this.owner, LEASE_MS, Date.now()))) return 0;
    let removed = 0;
    try {
      for (const [use, ms] of this.ages) {
        while (removed < MAX_PER_RUN) {
          const batch = await mail.store.retentionCandidates(use, now - ms, BATCH);
          if (batch.length === 0) break;
          const byMailbox = new Map<number, { accountId: number; uids: number[] }>();
          for (const m of batch) {
            const e = byMailbox.get(m.mailboxId) ?? { accountId: m.accountId, uids: [] };
            e.uids.push(m.uid);
            byMailbox.set(m.mailboxId, e);
          }
          for (const [mailboxId, { accountId, uids }] of byMailbox) {
            const mailbox = await mail.store.getMailbox(accountId, mailboxId);
            if (mailbox) removed += (await mail.expunge(mailbox, uids)).uids.length;
          }
          await leases.renew([LEASE], this.owner, LEASE_MS, Date.now());
          if (batch.length < BATCH) break;
        }
      }
    } finally {
      await leases.release(LEASE, this.owner);
    }
    if (removed) log.info({ removed }, 'retention: old messages deleted from Junk and Trash');
    return removed;
  }
}
