// The spam pipeline: runs the named checks (stage by stage, each stage concurrently, all under one time
// budget), sums their symbols, and turns the score into a verdict with the X-Spam-* header fields.
// A check that fails or runs out of time adds a zero-score *_FAIL / *_TIMEOUT symbol: a broken DNS
// server degrades the verdict's evidence, it never blocks or loses the message.
import type { SpamAction, SpamCheck, SpamContext, SpamSymbol, SpamVerdict } from './types.ts';

export interface Thresholds {
  /** Score at or above which the message goes to the recipient's Junk folder with X-Spam-Flag: YES. */
  junk: number;
  /** Score at or above which the message is refused during DATA/BDAT (550 5.7.1). */
  reject: number;
  /** Score below which a greylisting deferral does not apply (spam.greylist.min_score); absent: always. */
  greylist?: number;
  /**
   * A recipient who takes spam (spam.exempt_recipients: postmaster, abuse): the verdict is computed and
   * shown, but neither the score nor a forced junk, refusal or greylisting deferral applies, but for
   * `always` symbols (a virus, a scan that could not run).
   */
  exempt?: boolean;
}

export interface PipelineOptions {
  checks: SpamCheck[];
  thresholds: Thresholds;
  /** Whole-pipeline time budget in milliseconds. */
  timeoutMs: number;
  /** False skips checks that need the network (`petrel spam check`, the benchmark). */
  network: boolean;
  /** Score overrides by symbol name (config), applied to what the checks report. */
  weights?: Record<string, number>;
  /** The account the verdict is for (its own list entries count); absent: symbols for every recipient only. */
  account?: number;
}

/** Parses spam.weights ("SYMBOL=score", names in any case); throws for an entry that is not. */
export function parseWeights(list: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of list) {
    const [k, v] = w.split('=');
    if (!k || v === undefined || !Number.isFinite(Number(v)))
      throw new Error(`spam.weights: "${w}" is not SYMBOL=score`);
    out[k.trim().toUpperCase()] = Number(v);
  }
  return out;
}

const RANK: Record<SpamAction, number> = { accept: 0, junk: 1, greylist: 2, reject: 3 };

/** The share of the time budget kept for each stage after the first (at most half of it for all of them). */
const LATER_STAGE_SHARE = 0.2;

/** The detail a check's failed() is given when the pipeline's time budget ran out before it finished. */
export const BUDGET_EXHAUSTED = 'time budget exhausted';

async function runOne(check: SpamCheck, ctx: SpamContext, signal: AbortSignal): Promise<SpamSymbol[]> {
  const tag = check.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  const budget = BUDGET_EXHAUSTED;
  if (signal.aborted) return check.failed?.(budget, ctx) ?? [{ name: `${tag}_TIMEOUT`, score: 0 }];
  let onAbort: (() => void) | undefined;
  const timedOut = new Promise<SpamSymbol[]>((resolve) => {
    onAbort = () => resolve(check.failed?.(budget, ctx) ?? [{ name: `${tag}_TIMEOUT`, score: 0, detail: budget }]);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([check.run(ctx, signal), timedOut]);
  } catch (e) {
    const detail = String((e as Error).message ?? e).slice(0, 200);
    return check.failed?.(detail, ctx) ?? [{ name: `${tag}_FAIL`, score: 0, detail }];
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  }
}

export async function runPipeline(ctx: SpamContext, opts: PipelineOptions): Promise<SpamVerdict> {
  const checks = opts.checks.filter((c) => opts.network || !c.network);
  const stages = [...new Set(checks.map((c) => c.stage ?? 0))].sort((a, b) => a - b);
  const started = performance.now();
  // The stages after the first read what it found and are quick (store reads, header checks); each keeps a
  // share of the budget, so a stage 0 check that runs to its end (a Pyzor server or a DNS server that
  // never answers) costs its own symbol, not the admin's block list or the traps of the later stage.
  const share = Math.min(LATER_STAGE_SHARE, 0.5 / Math.max(1, stages.length - 1));
  const symbols: SpamSymbol[] = [];
  for (const [i, stage] of stages.entries()) {
    const deadline = opts.timeoutMs * (1 - share * (stages.length - 1 - i));
    const signal = AbortSignal.timeout(Math.max(0, Math.round(deadline - (performance.now() - started))));
    const results = await Promise.all(
      checks.filter((c) => (c.stage ?? 0) === stage).map((c) => runOne(c, ctx, signal)),
    );
    for (const r of results) symbols.push(...r);
  }
  for (const s of symbols) {
    const w = opts.weights?.[s.name];
    if (w !== undefined) s.score = w;
  }
  return verdictFrom(symbols, opts.thresholds, opts.account);
}

/**
 * The verdict for a set of symbols: the score decides, unless a symbol forces a stronger action. Symbols
 * scoped to accounts count only in the verdict for one of them (`account`).
 */
export function verdictFrom(all: SpamSymbol[], t: Thresholds, account?: number): SpamVerdict {
  const applies = (s: SpamSymbol) => !s.accounts || (account !== undefined && s.accounts.includes(account));
  const symbols = all.filter(applies);
  const scoped = all.filter((s) => !applies(s));
  const score = Math.round(symbols.reduce((a, s) => a + s.score, 0) * 100) / 100;
  let action: SpamAction = score >= t.reject ? 'reject' : score >= t.junk ? 'junk' : 'accept';
  let reason: string | undefined;
  // Greylisting delays strangers; a sender the admin or the user trusts is not made to wait, nor one the
  // rest of the evidence already speaks for (a score below t.greylist), nor mail to an exempt recipient
  // (complaints to postmaster@ and abuse@: Postgrey's default recipient whitelist spares them too).
  const spared = t.exempt || symbols.some((s) => s.trusted) || (t.greylist !== undefined && score < t.greylist);
  for (const s of symbols)
    if (s.force && RANK[s.force] > RANK[action] && !(spared && s.force === 'greylist' && !s.always)) {
      action = s.force;
      reason = s.detail ?? s.name;
    }
  // A score past the threshold and a forcing symbol agree: the symbol's reason says more than the score.
  const forcing = reason === undefined ? symbols.find((s) => s.force === action) : undefined;
  if (forcing) reason = forcing.detail ?? forcing.name;
  if (action === 'reject') reason ??= `Message refused as spam (score ${score})`;
  const spammy = action === 'junk' || action === 'reject';
  // An exempt recipient gets the message, marked as it would be, unless something forces it off always.
  if (t.exempt && spammy) {
    const always = symbols.filter((s) => s.always && (s.force === 'reject' || s.force === 'junk'));
    action = always.some((s) => s.force === 'reject') ? 'reject' : always.length ? 'junk' : 'accept';
    reason = always.find((s) => s.force === action)?.detail ?? (action === 'accept' ? undefined : reason);
  }
  const tests = foldedTests(symbols.filter((s) => s.score !== 0 || s.force).map((s) => `${s.name}=${s.score}`));
  const headers =
    `X-Spam-Flag: ${spammy ? 'YES' : 'NO'}\r\n` +
    `X-Spam-Score: ${score}\r\n` +
    `X-Spam-Status: ${spammy ? 'Yes' : 'No'}, score=${score} required=${t.junk}${tests}\r\n`;
  return { action, score, symbols, scoped, headers, reason };
}

/** The longest line of a header field we write (RFC 5322 section 2.1.1: SHOULD be no more than 78). */
const FOLD_AT = 78;

/**
 * X-Spam-Status's "tests=A=1, B=2" continuation lines, folded after a comma as SpamAssassin folds its
 * field: however many symbols (the admin's rules, DNSBL zones), no line passes 78 octets, let alone 998.
 */
function foldedTests(items: string[]): string {
  if (items.length === 0) return '';
  const lines = ['\ttests='];
  for (const [i, item] of items.entries()) {
    const text = i < items.length - 1 ? `${item},` : item;
    const last = lines.length - 1;
    if (i === 0) lines[last] += text;
    else if (lines[last].length + 1 + text.length <= FOLD_AT) lines[last] += ` ${text}`;
    else lines.push(`\t${text}`);
  }
  return lines.map((l) => `\r\n${l}`).join('');
}
