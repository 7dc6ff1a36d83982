// `petrel spam stats [--hours N]`: what the filter did lately, from the stored verdicts (as `rspamc stat`
// gives it): delivered copies by action, messages stored nowhere (refused, deferred, sent only to traps),
// the symbols that weighed most in spam verdicts, trap hits and outbound refusals, and the Bayes table.
import { GLOBAL_SCOPE } from '../core/bayes-port.ts';
import type { App } from '../server/app.ts';
import { type Cli, flag, UsageError } from './context.ts';

/** Verdict rows read at most: the newest ones; the output says when there were more. */
const SAMPLE = 20_000;

export async function statsCommand(cli: Cli, app: App): Promise<void> {
  const hours = Number(flag(cli, 'hours') ?? 24);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 400)
    throw new UsageError('--hours: more than 0, at most 9600');
  const rows = await app.store.spam.verdictsSince(Date.now() - hours * 3600_000, SAMPLE);
  const delivered = new Map<string, number>();
  const nowhere = new Map<string, number>();
  const weight = new Map<string, { n: number; score: number }>();
  let traps = 0;
  let outbound = 0;
  for (const v of rows) {
    const into = v.messageId === null ? nowhere : delivered;
    into.set(v.action, (into.get(v.action) ?? 0) + 1);
    const symbols = JSON.parse(v.symbols) as { name: string; score: number }[];
    if (symbols.some((s) => s.name === 'SPAMTRAP')) traps++;
    if (symbols.some((s) => s.name === 'OUTBOUND')) outbound++;
    if (v.action !== 'junk' && v.action !== 'reject') continue;
    for (const s of symbols) {
      if (s.score <= 0) continue;
      const w = weight.get(s.name) ?? { n: 0, score: 0 };
      w.n++;
      w.score += s.score;
      weight.set(s.name, w);
    }
  }
  const list = (m: Map<string, number>) =>
    ['accept', 'junk', 'reject', 'greylist']
      .filter((a) => m.has(a))
      .map((a) => `${a} ${m.get(a)}`)
      .join(', ') || 'none';
  cli.out(`last ${hours} h: ${rows.length} verdicts${rows.length === SAMPLE ? ` (the newest ${SAMPLE})` : ''}`);
  cli.out(`delivered copies: ${list(delivered)}`);
  cli.out(`stored nowhere (refused, deferred, sent only to traps): ${list(nowhere)}`);
  cli.out(`spam trap hits: ${traps}; submissions refused as spam (spam.outbound): ${outbound}`);
  const top = [...weight.entries()].sort((a, b) => b[1].score - a[1].score).slice(0, 10);
  cli.out(
    `symbols weighing most in junk and refusals: ${top.map(([name, w]) => `${name} ${w.n}x (${Math.round(w.score)})`).join(', ') || 'none'}`,
  );
  const t = await app.store.bayes.totals(GLOBAL_SCOPE);
  cli.out(
    `Bayes, global table: ${t.spam} spam, ${t.ham} ham learned (used from ${app.config.spam.bayes.min_learns} each)`,
  );
}
