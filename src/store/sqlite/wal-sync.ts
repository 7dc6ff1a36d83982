// Group commit at the fsync: SQLite commits without syncing (WAL, synchronous=NORMAL) and every writer then
// waits here until an fsync of the WAL file that started after its commit has finished. The fsync runs on
// libuv's thread pool, so the event loop keeps serving sessions meanwhile, and one fsync covers every
// commit made before it started: N concurrent writers cost about one fsync, not N.
//
// Why this is as durable as synchronous=FULL: a WAL transaction is durable once its frames, up to the
// commit frame, are on stable storage; fsync of the -wal file puts them there. Checkpoints in NORMAL mode
// sync the WAL before copying it and the database after, so nothing acknowledged depends on an unsynced
// page. (sqlite.org/pragma.html#pragma_synchronous, sqlite.org/wal.html)
import { close, fsync, open } from 'node:fs';

export class WalSync {
  private readonly file: string;
  /** Commits made so far, and commits covered by a finished fsync. */
  private committed = 0;
  private synced = 0;
  private running = false;
  /** fsyncs done (tests, metrics). */
  syncs = 0;
  private waiters: { seq: number; resolve: () => void; reject: (e: Error) => void }[] = [];

  constructor(walFile: string) {
    this.file = walFile;
  }

  /** Records a commit (call right after COMMIT returns); returns its sequence number. */
  commit(): number {
    return ++this.committed;
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
          const failed = this.waiters.filter((w) => w.seq <= target);
          this.waiters = this.waiters.filter((w) => w.seq > target);
          for (const w of failed) w.reject(e as Error);
          continue;
        }
        this.synced = target;
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
