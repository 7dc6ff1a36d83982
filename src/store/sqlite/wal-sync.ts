// Group commit at the fsync: SQLite commits without syncing (WAL, synchronous=NORMAL) and every writer then
// waits here until an fsync of the WAL file that started after its commit has finished. The fsync runs on
// libuv's thread pool, so the event loop keeps serving sessions meanwhile, and one fsync covers every
// commit made before it started: N concurrent writers cost about one fsync, not N.
//
// Why this is as durable as synchronous=FULL: a WAL transaction is durable once its frames, up to the
// commit frame, are on stable storage; fsync of the -wal file puts them there. Checkpoints in NORMAL mode
// sync the WAL before copying it and the database after, so nothing acknowledged depends on an unsynced
// page. (sqlite.org/pragma.html#pragma_synchronous, sqlite.org/wal.html)
//
// Readers must not see a commit before it is durable either: an IMAP session shown UID 7 by another
// session's APPEND must never meet a different message as UID 7 after a power loss. PostgreSQL gives that
// by itself (a commit becomes visible after its WAL flush); here the two counters live in shared memory
// (SyncState), the writer counts a commit before it runs COMMIT, and the main thread's read-only
// connection waits, before a read, until every commit counted so far is synced (SyncGate).
import { close, fsync, open } from 'node:fs';

const COMMITTED = 0;
const SYNCED = 1;

/** Commits counted and commits covered by a finished fsync, shared by the writer and reader threads. */
export function newSyncState(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * BigInt64Array.BYTES_PER_ELEMENT);
}

/** Lets every waiting reader through: the writer is gone and no fsync will come. */
export function settleAll(state: SharedArrayBuffer): void {
  const counts = new BigInt64Array(state);
  Atomics.store(counts, SYNCED, Atomics.load(counts, COMMITTED));
  Atomics.notify(counts, SYNCED);
}

export class WalSync {
  private readonly file: string;
  private readonly counts: BigInt64Array;
  private running = false;
  /** fsyncs done (tests, metrics). */
  syncs = 0;
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(walFile: string, state: SharedArrayBuffer = newSyncState()) {
    this.file = walFile;
    this.counts = new BigInt64Array(state);
  }

  private get committed(): number {
    return Number(Atomics.load(this.counts, COMMITTED));
  }

  private get synced(): number {
    return Number(Atomics.load(this.counts, SYNCED));
  }

  /**
   * Counts a commit; call it right BEFORE the COMMIT runs (in the same synchronous stretch), so that no
   * reader can see the commit without first seeing it counted. Returns its sequence number.
   */
  commit(): number {
    return Number(Atomics.add(this.counts, COMMITTED, 1n)) + 1;
  }

  /** A commit that was counted but did not happen (its COMMIT threw): the next fsync settles it anyway. */
  abandon(seq: number): void {
    this.durable(seq).catch(() => {});
  }

  private settle(target: number): void {
    Atomics.store(this.counts, SYNCED, BigInt(target));
    Atomics.notify(this.counts, SYNCED);
  }

  /** Resolves once the commit with this sequence number is on stable storage. */
  durable(seq: number): Promise<void> {
    if (seq <= this.synced) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ seq, resolve, reject });
      if (!this.running) void this.loop();
    });
  }

  private async loop(): Promise<void> {
    this.running = true;
    try {
      while (this.synced < this.committed) {
        const target = this.committed;
        try {
          await syncFile(this.file);
        } catch (e) {
          // Nothing is acknowledged on a failed fsync: every waiter up to here fails.
          // Readers are let through (the writes were answered with an error; what they show is what a
          // retry after the error would find), and the loop ends instead of spinning on a broken file: the
          // next commit tries again.
          const failed = this.waiters.filter((w) => w.seq <= target);
          this.waiters = this.waiters.filter((w) => w.seq > target);
          this.settle(target);
          for (const w of failed) w.reject(e as Error);
          continue;
        }
        this.settle(target);
        this.syncs++;
        const done = this.waiters.filter((w) => w.seq <= target);
        this.waiters = this.waiters.filter((w) => w.seq > target);
        for (const w of done) w.resolve();
      }
    } finally {
      this.running = false;
    }
  }
}

/** The reader's side: waits until every commit counted so far is durable. */
export class SyncGate {
  private readonly counts: BigInt64Array;

  constructor(state: SharedArrayBuffer) {
    this.counts = new BigInt64Array(state);
  }

  /** undefined when nothing is pending (the hot path: two atomic loads, no promise). */
  settled(): Promise<void> | undefined {
    const target = Atomics.load(this.counts, COMMITTED);
    if (Atomics.load(this.counts, SYNCED) >= target) return undefined;
    return this.waitFor(target);
  }

  private async waitFor(target: bigint): Promise<void> {
    // Atomics.waitAsync does not keep the event loop alive: a process with nothing else to do would end
    // in the middle of the read (exit 13, "unsettled top-level await") instead of waiting for the writer
    // thread's fsync. The wait is bounded: the writer settles every count it makes, or settleAll when it stops.
    const alive = setInterval(() => {}, 2 ** 30);
    try {
      for (;;) {
        const now = Atomics.load(this.counts, SYNCED);
        if (now >= target) return;
        const w = Atomics.waitAsync(this.counts, SYNCED, now);
        if (w.async) await w.value;
      }
    } finally {
      clearInterval(alive);
    }
  }
}

/** open + fsync + close with the callback API (cheaper on the main thread than fs/promises). */
function syncFile(file: string): Promise<void> {
  return new Promise((resolve, reject) => {
    open(file, 'r', (e, fd) => {
      // No WAL file: the last connection checkpointed (with fsyncs) and removed it; nothing is pending.
      if (e) return (e as NodeJS.ErrnoException).code === 'ENOENT' ? resolve() : reject(e);
      fsync(fd, (e2) => {
        close(fd, () => {});
        if (e2) reject(e2);
        else resolve();
      });
    });
  });
}
