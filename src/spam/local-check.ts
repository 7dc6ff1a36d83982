// The content pipeline on a message from a file (no SMTP session, no network): what `petrel spam check`
// and the benchmark run, with the same checks the server builds.
import type { Config } from '../config/schema.ts';
import { parseMessage } from '../mime/parse.ts';
import { runPipeline } from './pipeline.ts';
import type { SpamCheck, SpamVerdict } from './types.ts';

/** Config's "SYMBOL=score" overrides as a map. */
export function weightsFrom(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    const score = Number(item.slice(eq + 1));
    if (eq > 0 && Number.isFinite(score)) out[item.slice(0, eq).trim()] = score;
  }
  return out;
}

export function checkLocal(
  raw: Buffer,
  opts: { checks: SpamCheck[]; config: Config; accountIds?: number[] },
): Promise<SpamVerdict> {
  const spam = opts.config.spam;
  return runPipeline(
    {
      raw,
      parsed: parseMessage(raw),
      accountIds: opts.accountIds ?? [],
      hostname: opts.config.server.hostname,
      facts: new Map(),
    },
    {
      checks: opts.checks,
      thresholds: { junk: spam.junk_score, reject: spam.reject_score },
      timeoutMs: spam.timeout_ms,
      network: false,
      weights: weightsFrom(spam.weights),
      account: opts.accountIds?.length === 1 ? opts.accountIds[0] : undefined,
    },
  );
}
