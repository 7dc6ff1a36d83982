// `petrel mail reindex ADDRESS...|--all [--batch N]`: the stored mail's search index, rebuilt where old.
import { reindexSearchText } from '../mailbox/reindex.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';

const DEFAULT_BATCH = 200;

function batchSize(cli: Cli): number {
  const v = flag(cli, 'batch');
  if (v === undefined) return DEFAULT_BATCH;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 10_000)
    throw new UsageError(`--batch needs a number of messages from 1 to 10000, not ${v}`);
  return Number(v);
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * Rebuilds the full-text rows that an older indexer wrote (SEARCH BODY/TEXT can miss words in them),
 * beside a running server: short transactions, resumable, a second run finds nothing to do.
 */
async function reindex(cli: Cli): Promise<number | undefined> {
  const addresses = cli.args.slice(2);
  const all = cli.flags.has('all');
  if (all === addresses.length > 0) throw new UsageError('reindex needs account addresses or --all (not both)');
  const batch = batchSize(cli);
  const app = await cli.open();
  try {
    let accountIds: number[] | undefined;
    if (!all) {
      accountIds = [];
      for (const a of addresses) {
        const acc = await app.store.getAccount(a.toLowerCase());
        if (!acc) throw new UsageError(`no such account: ${a}`);
        accountIds.push(acc.id);
      }
    }
    let shown = 0;
    const counts = await reindexSearchText(app.store, app.blobs, {
      accountIds,
      batch,
      // A line now and then on stderr for a long run; stdout gets the totals.
      progress: (c) => {
        if (c.reindexed - shown < 10_000) return;
        shown = c.reindexed;
        cli.err(`${c.reindexed} reindexed so far`);
      },
      onFailure: (hash, e) => cli.err(`message content ${hash}: ${(e as Error).message ?? e}; left as it was`),
    });
    const parts = [`${plural(counts.reindexed, 'stored message')} reindexed`];
    if (!all) parts.push(`${counts.current} already current`);
    if (counts.failed) parts.push(`${counts.failed} could not be read (left as they were; run again once restored)`);
    cli.out(parts.join(', '));
    const left = await app.store.staleTextCount();
    if (left)
      cli.out(
        `${plural(left, 'stored message')} still with an old search index${all ? '' : ' (--all does every account)'}`,
      );
    return counts.failed ? 1 : undefined;
  } finally {
    await app.close();
  }
}

export async function mailCommand(cli: Cli): Promise<number | undefined> {
  const sub = requireArg(cli, 1, 'mail subcommand (reindex)');
  if (sub === 'reindex') return reindex(cli);
  throw new UsageError(`unknown mail subcommand: ${sub}`);
}
