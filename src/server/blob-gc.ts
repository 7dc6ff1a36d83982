// Blob garbage collection on a timer (the work is store/blob/gc.ts): a first run a few minutes after the
// server starts, then hourly, by one node of a cluster at a time (a lease), and stopped with the server,
// which waits for a run in progress. A first run only after an hour (and, before, a blob removed only on a
// process's second run) meant a server restarted more often than that never collected anything.
import { randomBytes } from 'node:crypto';
import type { LeaseStore } from '../core/lease-port.ts';
import type { BlobStore } from '../core/ports.ts';
import { Job } from '../mailbox/job.ts';
import { collectBlobs, type GcResult } from '../store/blob/gc.ts';
import type { SqlDriver } from '../store/sql/driver.ts';
import type { Logger } from '../telemetry/log.ts';

const LEASE = 'blob-gc';
const LEASE_MS = 10 * 60_000;
const FIRST_MS = 5 * 60_000;
const EVERY_MS = 3_600_000;
/** How long a blob stays after it was last put or let go by the queue (a delivery in flight is younger). */
export const BLOB_GRACE_MS = 3_600_000;

export class BlobCollector {
  private readonly owner = randomBytes(8).toString('hex');
  private readonly job: Job<GcResult | null>;
  private readonly d: { db: SqlDriver; blobs: BlobStore; leases: LeaseStore; log: Logger };

  constructor(d: { db: SqlDriver; blobs: BlobStore; leases: LeaseStore; log: Logger }) {
    this.d = d;
    this.job = new Job(
      (now) => this.collect(now),
      (e) => this.d.log.warn({ err: e }, 'blob garbage collection failed'),
    );
  }

  start(): void {
    this.job.start(FIRST_MS, EVERY_MS);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** Collects now (`now` as the time, for tests); null when another node holds the lease. */
  run(now = Date.now()): Promise<GcResult | null> {
    return this.job.run(now);
  }

  private async collect(now: number): Promise<GcResult | null> {
    const { db, blobs, leases, log } = this.d;
    if (!(await leases.acquire(LEASE, this.owner, LEASE_MS, Date.now()))) return null;
    try {
      const r = await collectBlobs(db, blobs, {
        graceMs: BLOB_GRACE_MS,
        now,
        progress: async () => void (await leases.renew([LEASE], this.owner, LEASE_MS, Date.now())),
      });
      if (r.removed || r.temporary) log.info(r, 'blob garbage collected');
      return r;
    } finally {
      await leases.release(LEASE, this.owner);
    }
  }
}
