// Group commit: appends arriving while a transaction is being committed wait and go together in the
// next one, so N concurrent deliveries cost about one fsync instead of N.
import type { AppendItem, AppendResult } from '../core/ports.ts';

interface Waiting {
  items: AppendItem[];
  resolve: (r: AppendResult[]) => void;
  reject: (e: unknown) => void;
}

export class CommitBatcher {
  private queue: Waiting[] = [];
  private running = false;
  private readonly commit: (items: AppendItem[]) => Promise<AppendResult[]>;
  private readonly maxItems: number;
  /** When the last commit ended (performance.now()), to tell a busy stream of deliveries from a lone one. */
  private lastCommit = Number.NEGATIVE_INFINITY;

  constructor(commit: (items: AppendItem[]) => Promise<AppendResult[]>, maxItems = 500) {
    this.commit = commit;
    this.maxItems = maxItems;
  }

  append(items: AppendItem[]): Promise<AppendResult[]> {
    return new Promise((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Let callers that arrive in this same turn of the event loop join the first batch. Under a steady
        // stream of deliveries (a commit ended moments ago) wait a little longer: a synchronous driver
        // (SQLite) blocks the loop while it commits, so nothing can join a batch during the commit itself,
        // and a 2 ms window gathers several messages per fsync instead of one or two.
        const busy = performance.now() - this.lastCommit < 20;
        if (busy) setTimeout(() => void this.drain(), 2);
        else setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch: Waiting[] = [];
      let n = 0;
      while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0].items.length <= this.maxItems)) {
        const w = this.queue.shift()!;
        batch.push(w);
        n += w.items.length;
      }
      await this.run(batch);
      this.lastCommit = performance.now();
    }
    this.running = false;
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
