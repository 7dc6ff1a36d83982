// Blob garbage collection: removes stored blobs nothing references any more (no message body, no queued
// message), and the temporary files of writes a crash cut short. A blob is only removed once it has been
// unreferenced for a grace period, so content being written for a delivery that has not committed yet is
// never taken away.
import { setImmediate as turn } from 'node:timers/promises';
import type { BlobStore } from '../../core/ports.ts';
import { marks, type SqlDriver } from '../sql/driver.ts';

export interface GcResult {
  examined: number;
  removed: number;
  /** Temporary files of writes a crash cut short, removed. */
  temporary: number;
}

/** Blobs looked at together: one query each for their bodies and their queue rows. */
const PAGE = 500;

/**
 * Deletes blobs that no message body refers to (bodies.hash) and no queued message holds (blobs.refs > 0),
 * once they have been unreferenced for graceMs. The age is what the store keeps: when the blob was last put
 * (BlobStore.touchedAt: a delivery in flight has put it and not committed yet) and, for a blob the queue
 * held, when the queue let go of it (blobs.created_at). Nothing is kept in memory from one run to the next,
 * so a process's first run collects as well as its hundredth (a server restarted every hour did not).
 *
 * The listing is read a page at a time (memory stays one page, whatever the store holds), each page's
 * references in two queries, and the event loop runs between pages: SQLite reads are synchronous, and a
 * pass over millions of blobs must not hold every connection while it looks.
 */
export async function collectBlobs(
  db: SqlDriver,
  blobs: BlobStore,
  opts: {
    graceMs: number;
    now?: number;
    /** Called after each page (the scheduler renews its lease). */
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

  const sweep = async (page: string[]) => {
    examined += page.length;
    const held = new Set<string>();
    for (const r of await db.all<{ hash: string }>(
      `SELECT hash FROM bodies WHERE hash IN (${marks(page.length)})`,
      page,
    ))
      held.add(r.hash);
    // The queue holds it, or let go of it within the grace.
    for (const r of await db.all<{ hash: string }>(
      `SELECT hash FROM blobs WHERE hash IN (${marks(page.length)}) AND (refs > 0 OR created_at >= ?)`,
      [...page, cutoff],
    ))
      held.add(r.hash);
    for (const hash of page) {
      if (held.has(hash)) continue;
      // Content put again for a delivery in flight refreshes its time: not garbage.
      const touched = await blobs.touchedAt(hash);
      if (touched === null || touched >= cutoff) continue;
      // Drop the queue's row if it is still let go of, then look again: a row left (a queue entry that
      // referenced it meanwhile) or a body wins.
      await db.run('DELETE FROM blobs WHERE hash = ? AND refs <= 0 AND created_at < ?', [hash, cutoff]);
      if (await db.get('SELECT 1 AS one FROM blobs WHERE hash = ?', [hash])) continue;
      if (await referenced(hash)) continue;
      // Only as it was when we looked: content an ingest reused since (it is written once per SHA-256, and a
      // message referencing it may have committed after the check above) has a new time, and stays.
      if (await blobs.delete(hash, touched)) removed++;
    }
    await opts.progress?.();
    await turn();
  };

  let page: string[] = [];
  for await (const hash of blobs.list()) {
    page.push(hash);
    if (page.length === PAGE) {
      await sweep(page);
      page = [];
    }
  }
  if (page.length) await sweep(page);
  return { examined, removed, temporary };
}
