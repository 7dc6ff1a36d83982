// The content pipeline on a message from a file (no SMTP session, no network): what `petrel spam check`
// and the benchmark run, with the same checks the server builds.
import type { Config } from '../config/schema.ts';
import { parseMessage } from '../mime/parse.ts';
import { parseWeights, runPipeline, type Thresholds } from './pipeline.ts';
import type { SpamCheck, SpamVerdict } from './types.ts';

export function checkLocal(
  raw: Buffer,
  opts: { checks: SpamCheck[]; config: Config; accountIds?: number[]; thresholds?: Thresholds },
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
      thresholds: opts.thresholds ?? { junk: spam.junk_score, reject: spam.reject_score },
      timeoutMs: spam.timeout_ms,
      network: false,
      weights: parseWeights(spam.weights),
      account: opts.accountIds?.length === 1 ? opts.accountIds[0] : undefined,
    },
  );
}
