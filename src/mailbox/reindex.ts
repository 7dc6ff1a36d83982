// `petrel mail reindex`: rebuilds the full-text rows written by an older indexer from the stored messages.
import type { BlobStore, ReindexedBody, StaleTextBody, Store } from '../core/ports.ts';
import { parseMessage } from '../mime/parse.ts';
import { indexText } from './content.ts';

/**
 * Text written in one transaction at most (characters, both columns): indexing it is the long part of the
 * transaction, and SQLite's other writers (delivery, IMAP) wait for it. Each message's text is at most
 * about 1 MiB (the parser's cap), so a batch of big messages is written in several transactions.
 */
const TEXT_PER_TRANSACTION = 4 * 1024 * 1024;

export interface ReindexCounts {
  /** Full-text rows rebuilt. */
  reindexed: number;
  /** Stored messages whose row was already current (only counted for accounts: --all never reads them). */
  current: number;
  /** Content missing from the blob store or not parsed: left as it was, so a later run tries again. */
  failed: number;
}

export interface ReindexOptions {
  /** Only the bodies of these accounts' messages; all bodies when absent. */
  accountIds?: number[];
  /** Bodies read, parsed and written per round. */
  batch: number;
  /** After each round, with the counts so far. */
  progress?: (counts: ReindexCounts) => void;
  /** A body that could not be read or parsed. */
  onFailure?: (hash: string, err: unknown) => void;
}

/**
 * Rebuilds, from each stored message's blob, the full-text row of every body whose row is older than
 * SEARCH_INDEX_VERSION (as Dovecot's `doveadm index` / `fts rescan` do for its FTS indexes). Blobs are read
 * and parsed outside any transaction; each round's rows are written in short transactions that lock only
 * body rows (core/ports.ts rewriteBodyText), and marked current there, so a run stopped part way resumes
 * where it stopped and a second run finds nothing left to do.
 */
export async function reindexSearchText(store: Store, blobs: BlobStore, opts: ReindexOptions): Promise<ReindexCounts> {
  const counts: ReindexCounts = { reindexed: 0, current: 0, failed: 0 };
  const batch = Math.max(1, opts.batch);
  let ids: number[] | null = null;
  if (opts.accountIds) {
    const all = new Set<number>();
    for (const a of opts.accountIds) for (const id of await store.accountBodyIds(a)) all.add(id);
    ids = [...all].sort((a, b) => a - b);
  }
  let after = { version: 0, id: 0 };
  let pos = 0;
  for (;;) {
    let rows: StaleTextBody[];
    if (ids) {
      if (pos >= ids.length) break;
      const part = ids.slice(pos, pos + batch);
      pos += part.length;
      rows = await store.staleTextBodies({ ids: part });
      counts.current += part.length - rows.length;
    } else {
      rows = await store.staleTextBodies({ after, limit: batch });
      if (rows.length === 0) break;
      after = rows[rows.length - 1];
    }
    let pending: ReindexedBody[] = [];
    let size = 0;
    const flush = async () => {
      counts.reindexed += await store.rewriteBodyText(pending);
      pending = [];
      size = 0;
    };
    for (const r of rows) {
      let body: ReindexedBody;
      try {
        body = { id: r.id, hash: r.hash, ...indexText(parseMessage(await blobs.get(r.hash, r.size))) };
      } catch (e) {
        counts.failed++;
        opts.onFailure?.(r.hash, e);
        continue;
      }
      pending.push(body);
      size += body.headerText.length + body.bodyText.length;
      if (size >= TEXT_PER_TRANSACTION) await flush();
    }
    await flush();
    opts.progress?.({ ...counts });
  }
  return counts;
}
