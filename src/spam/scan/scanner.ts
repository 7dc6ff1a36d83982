// How checks get a message's content scan (spam/scan/scan.ts): once per message, shared by every check
// (and every learning part), from whichever scanner the server built: worker threads with a time
// limit (spam/scan/pool.ts) in the server, in place elsewhere.
import type { Config } from '../../config/schema.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import type { Feedback } from '../feedback.ts';
import type { SpamContext } from '../types.ts';
import { type ContentScan, type ScanOptions, scanContent } from './scan.ts';

export interface ContentScanner {
  /**
   * Scans a message; rejects with ScanFailed when the scan could not finish (time limit, worker lost).
   * `signal`: the caller stopped waiting (a queued scan is then dropped).
   */
  scan(raw: Buffer, parsed: ParsedMessage | null, signal?: AbortSignal): Promise<ContentScan>;
}

/**
 * A scan that did not finish; `timedOut` when it ran past the time limit, `busy` when it never started
 * because every worker was taken and the queue was full (spam.scan.max_queue).
 */
export class ScanFailed extends Error {
  readonly timedOut: boolean;
  readonly busy: boolean;
  constructor(message: string, timedOut: boolean, busy = false) {
    super(message);
    this.name = 'ScanFailed';
    this.timedOut = timedOut;
    this.busy = busy;
  }
}

export function scanOptions(config: Config): ScanOptions {
  return {
    executables: config.spam.attachments.executable_extensions.map((e) => e.toLowerCase().replace(/^\./, '')),
    rules: config.spam.rules,
    fuzzy: config.spam.digests.enabled && config.spam.digests.fuzzy,
    // The e-mail blocklists look the addresses up, the URI blocklists their domains.
    addresses:
      (config.spam.ebl.enabled && config.spam.ebl.zones.length > 0) ||
      (config.spam.uribl.enabled && config.spam.uribl.zones.length > 0),
  };
}

/** Scans on the calling thread, with no time limit: for `petrel spam check`, the benchmark and tests. */
export function inlineScanner(config: Config): ContentScanner {
  const opts = scanOptions(config);
  return {
    scan: async (raw, parsed) => scanContent(raw, parsed ?? parseMessage(raw), opts),
  };
}

/** Scans started, by what they are for (a pipeline's context, a user's judgement): one per message. */
const started = new WeakMap<object, Promise<ContentScan>>();

function scanOnce(
  key: object,
  scanner: ContentScanner,
  raw: Buffer,
  parsed: ParsedMessage | null,
  signal?: AbortSignal,
): Promise<ContentScan> {
  let p = started.get(key);
  if (!p) {
    p = scanner.scan(raw, parsed, signal);
    // Callers that give up on it (the pipeline's budget) must not leave an unhandled rejection behind.
    p.catch(() => {});
    started.set(key, p);
  }
  return p;
}

/** The message's scan, started by the first check that asks for it. */
export function contentScan(ctx: SpamContext, scanner: ContentScanner, signal?: AbortSignal): Promise<ContentScan> {
  return scanOnce(ctx, scanner, ctx.raw, ctx.parsed, signal);
}

/** A judged message's scan, once for all the learning parts (Bayes tokens, digests, the Pyzor digest). */
export function feedbackScan(f: Feedback, scanner: ContentScanner): Promise<ContentScan> {
  return scanOnce(f, scanner, f.raw, f.parsed ?? null);
}
