// Group commit: appends that arrive while earlier ones are being committed wait and go together in the
// next transaction, so N concurrent deliveries cost a few transactions instead of N. Two batches may be in
// flight: while one waits for its fsync (SQLite: store/sqlite/wal-sync.ts), the next one commits.
import type { AppendItem, AppendResult } from '../core/ports.ts';

interface Waiting {
  items: AppendItem[];
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

export class CommitBatcher {
  private queue: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;
  private readonly commit: (items: AppendItem[]) => Promise<AppendResult[]>;
  private readonly maxItems: number;
  private readonly maxInFlight: number;

  constructor(commit: (items: AppendItem[]) => Promise<AppendResult[]>, maxItems = 500, maxInFlight = 2) {
    this.commit = commit;
    this.maxItems = maxItems;
    this.maxInFlight = maxInFlight;
  }

  append(items: AppendItem[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.scheduled && this.inFlight < this.maxInFlight) {
        // Let callers that arrive in this same turn of the event loop join the batch.
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.pump();
        });
      }
    });
  }

  /** Starts batches while there is work and room in flight. */
  private pump(): void {
    while (this.queue.length > 0 && this.inFlight < this.maxInFlight) {
      const batch: Waiting[] = [];
      let n = 0;
      while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0].items.length <= this.maxItems)) {
        const w = this.queue.shift()!;
        batch.push(w);
        n += w.items.length;
      }
      this.inFlight++;
      void this.run(batch).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private async run(batch: Waiting[]): Promise<void> {
    try {
      const results = await this.commit(batch.flatMap((w) => w.items));
      let i = 0;
      for (const w of batch) {
        w.resolve(results.slice(i, i + w.items.length));
        i += w.items.length;
      }
    } catch (e) {
      if (batch.length === 1) {
        batch[0].reject(e);
        return;
      }
      // One bad request must not fail its neighbours: retry each on its own.
      for (const w of batch) {
        try {
          w.resolve(await this.commit(w.items));
        } catch (err) {
          w.reject(err);
        }
      }
    }
  }
}
