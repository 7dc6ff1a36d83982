// Blob garbage collection: removes stored blobs nothing references any more (no message body, no queued
// message), and the temporary files of writes a crash cut short. A blob is only removed once it has been
// unreferenced for a grace period, so content being written for a delivery that has not committed yet is
// never taken away.
import type { BlobStore } from '../../core/ports.ts';
import type { SqlDriver } from '../sql/driver.ts';

export interface GcResult {
  examined: number;
  removed: number;
  /** Temporary files of writes a crash cut short, removed. */
  temporary: number;
}

/**
 * Deletes blobs that no message body refers to (bodies.hash) and no queued message holds (blobs.refs > 0),
 * once they have been unreferenced for graceMs. The age is what the store keeps: when the blob was last put
 * (BlobStore.touchedAt: a delivery in flight has put it and not committed yet) and, for a blob the queue
 * held, when the queue let go of it (blobs.created_at). Nothing is kept in memory from one run to the next,
 * so a process's first run collects as well as its hundredth (a server restarted every hour did not).
 */
export async function collectBlobs(
  db: SqlDriver,
  blobs: BlobStore,
  opts: {
    graceMs: number;
    now?: number;
    /** Called every 1,000 blobs examined (the scheduler renews its lease). */
    progress?: () => Promise<void>;
  },
): Promise<GcResult> {
  const now = opts.now ?? Date.now();
  const cutoff = now - opts.graceMs;
  const referenced = async (hash: string) => !!(await db.get('SELECT 1 AS one FROM bodies WHERE hash = ?', [hash]));
  // What a put killed before its rename left (a file no listing yields), once past the same grace; and
  // first of all, a blob a killed run had set aside (BlobStore.delete) goes back where reads find it.
  const temporary = (await blobs.sweepTemporary?.(cutoff)) ?? 0;
  let examined = 0;
  let removed = 0;
  for await (const hash of blobs.list()) {
    if (++examined % 1000 === 0) await opts.progress?.();
    if (await referenced(hash)) continue;
    const row = await db.get<{ refs: number; created_at: number }>(
      'SELECT refs, created_at FROM blobs WHERE hash = ?',
      [hash],
    );
    if (row && (Number(row.refs) > 0 || Number(row.created_at) >= cutoff)) continue;
    // Content put again for a delivery in flight refreshes its time: not garbage.
    const touched = await blobs.touchedAt(hash);
    if (touched === null || touched >= cutoff) continue;
    // Re-check and drop the row in one statement: a queue entry that referenced it meanwhile wins.
    if (row && (await db.run('DELETE FROM blobs WHERE hash = ? AND refs <= 0', [hash])) === 0) continue;
    if (await referenced(hash)) continue;
    // Only as it was when we looked: content an ingest reused since (it is written once per SHA-256, and a
    // message referencing it may have committed after the check above) has a new time, and stays.
    if (await blobs.delete(hash, touched)) removed++;
  }
  return { examined, removed, temporary };
}
