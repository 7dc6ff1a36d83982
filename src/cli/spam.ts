// `petrel spam train --spam DIR --ham DIR [--account ADDRESS]` (bulk Bayes training) and
// `petrel spam check FILE... [--account ADDRESS]` (the content pipeline on files, one JSON line each).

import { readFileSync } from 'node:fs';
import { GLOBAL_SCOPE } from '../core/bayes-port.ts';
import { parseMessage } from '../mime/parse.ts';
import type { App } from '../server/app.ts';
import { bayesFromConfig } from '../spam/bayes/index.ts';
import { buildChecks } from '../spam/checks/index.ts';
import { checkLocal } from '../spam/local-check.ts';
import { messagesInFile, readMessages } from '../spam/message-files.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';

/** Messages per learning transaction. */
const BATCH = 200;

async function accountScope(app: App, address: string | undefined): Promise<number | null> {
  if (address === undefined) return null;
  return (await app.directory.requireAccount(address)).id;
}

async function train(cli: Cli, app: App): Promise<void> {
  const dirs = { spam: flag(cli, 'spam'), ham: flag(cli, 'ham') };
  if (!dirs.spam && !dirs.ham) throw new UsageError('give --spam DIR and/or --ham DIR');
  const account = await accountScope(app, flag(cli, 'account'));
  const scope = account ?? GLOBAL_SCOPE;
  const bayes = bayesFromConfig(app.store, app.config);
  for (const cls of ['spam', 'ham'] as const) {
    const dir = dirs[cls];
    if (!dir) continue;
    const tally = { learned: 0, relearned: 0, unchanged: 0 };
    let batch: Parameters<typeof bayes.learnMany>[1] = [];
    const flush = async () => {
      for (const o of await bayes.learnMany(scope, batch)) tally[o]++;
      batch = [];
    };
    for (const { raw } of readMessages(dir)) {
      batch.push({ raw, parsed: parseMessage(raw), class: cls });
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    cli.out(
      `${cls}: ${tally.learned} learned, ${tally.relearned} moved from ${cls === 'spam' ? 'ham' : 'spam'}, ${tally.unchanged} already known`,
    );
  }
  const t = await app.store.bayes.totals(scope);
  cli.out(`${account === null ? 'global' : `account ${flag(cli, 'account')}`} table: ${t.spam} spam, ${t.ham} ham`);
}

async function check(cli: Cli, app: App): Promise<void> {
  const files = cli.args.slice(2);
  if (files.length === 0) throw new UsageError('missing FILE');
  const account = await accountScope(app, flag(cli, 'account'));
  const checks = buildChecks({ store: app.store, resolver: app.resolver, config: app.config, log: app.log });
  const VERDICT = { accept: 'ham', junk: 'spam', greylist: 'ham', reject: 'reject' } as const;
  for (const file of files) {
    const [raw] = messagesInFile(readFileSync(file));
    const v = await checkLocal(raw, { checks, config: app.config, accountIds: account === null ? [] : [account] });
    cli.out(
      JSON.stringify({
        file,
        verdict: VERDICT[v.action],
        score: v.score,
        symbols: v.symbols.map((s) => ({ name: s.name, score: s.score, ...(s.detail ? { detail: s.detail } : {}) })),
      }),
    );
  }
}

export async function spamCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'spam subcommand (train|check)');
  if (sub !== 'train' && sub !== 'check') throw new UsageError(`unknown spam subcommand: ${sub}`);
  const app = await cli.open();
  try {
    await (sub === 'train' ? train(cli, app) : check(cli, app));
  } finally {
    await app.close();
  }
}
