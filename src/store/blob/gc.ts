// Blob garbage collection: removes stored blobs nothing references any more (no message body, no queued
// message), and the temporary files of writes a crash cut short. A blob is only removed once it has been unreferenced for a grace period, so content being
// written for a delivery that has not committed yet is never taken away.
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
 * once they have been unreferenced for graceMs: a blob with a `blobs` row ages from the row's time (set
 * when the queue let go of it), one without from the first run that saw it unreferenced (`seen`), so a
 * blob written for a delivery that has not committed yet is never taken.
 */
export async function collectBlobs(
  db: SqlDriver,
  blobs: BlobStore,
  opts: { graceMs: number; now?: number; seen?: Map<string, number> },
): Promise<GcResult> {
  const now = opts.now ?? Date.now();
  const seen = opts.seen ?? new Map<string, number>();
  const referenced = async (hash: string) => !!(await db.get('SELECT 1 AS one FROM bodies WHERE hash = ?', [hash]));
  let examined = 0;
  let removed = 0;
  for await (const hash of blobs.list()) {
    examined++;
    if (await referenced(hash)) {
      seen.delete(hash);
      continue;
    }
    const row = await db.get<{ refs: number; created_at: number }>(
      'SELECT refs, created_at FROM blobs WHERE hash = ?',
      [hash],
    );
    if (row && Number(row.refs) > 0) {
      seen.delete(hash);
      continue;
    }
    const since = row ? Number(row.created_at) : (seen.get(hash) ?? now);
    if (!row) seen.set(hash, since);
    if (now - since < opts.graceMs) continue;
    // Content put again for a delivery in flight refreshes its time: not garbage.
    const touched = (await blobs.touchedAt?.(hash)) ?? null;
    if (touched !== null && now - touched < opts.graceMs) continue;
    // Re-check and drop the row in one statement: a queue entry that referenced it meanwhile wins.
    if (row && (await db.run('DELETE FROM blobs WHERE hash = ? AND refs <= 0', [hash])) === 0) continue;
    if (await referenced(hash)) continue;
    await blobs.delete(hash);
    seen.delete(hash);
    removed++;
  }
  // What a put killed before its rename left (a file no listing yields), once past the same grace.
  const temporary = (await blobs.sweepTemporary?.(now - opts.graceMs)) ?? 0;
  return { examined, removed, temporary };
}
