// The outbound scan ([spam.outbound]): what our own users and trusted networks submit goes through the
// content checks before it is queued, and a message that scores `reject_score` is refused (554 5.7.1),
// as rspamd does for authenticated mail in mailcow: a stolen password or a hacked web form then spams
// nobody in our name, and our addresses stay off the blocklists. Only the checks that judge content run
// (links and URI blocklists, phishing, attachments, digests, Pyzor, the global Bayes table, GTUBE): the
// sender checks (SPF, DNSBL, reputation, ...) describe the internet's servers, not our users.
// A sender refused `suspend_after` times within `suspend_window` (an account, or a trusted network's client
// IP) is suspended until that window ends: its next messages get 451 4.7.1 at MAIL FROM, whatever they
// contain, since a spammer with a stolen password soon learns to write what passes. Counted in the store's
// rate rows, so every node sees the suspension; `petrel spam outbound-release` lifts it.
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { Store } from '../core/ports.ts';
import { parseMessage } from '../mime/parse.ts';
import type { Logger } from '../telemetry/log.ts';
import { instruments } from '../telemetry/metrics.ts';
import { parseWeights, runPipeline } from './pipeline.ts';
import type { SpamCheck } from './types.ts';

/** The checks (by name) that judge a message's content, not its sending server. */
export const OUTBOUND_CHECKS = new Set([
  'content_scan',
  'uribl',
  'ebl',
  'phishing',
  'attachments',
  'pyzor',
  'digests',
  'bayes',
  'gtube',
]);

export interface OutboundSubmission {
  raw: Buffer;
  /** The authenticated account's address, or null for a trusted network. */
  account: string | null;
  clientIp: string;
  mailFrom: string;
  rcptTo: string[];
}

/** The rate key of a sender's outbound refusals: the account's address, or a trusted network's client IP. */
export const refusalKey = (sender: { account: string | null; clientIp: string }) =>
  `outbound-refused:${sender.account ? sender.account.toLowerCase() : `ip:${sender.clientIp}`}`;

export class OutboundScan {
  private readonly checks: SpamCheck[];
  private readonly weights: Record<string, number>;
  private readonly d: { config: Config; store: Store; log: Logger };
  private readonly windowMs: number;

  /** `checks`: the server's spam checks; those in OUTBOUND_CHECKS are kept. */
  constructor(d: { config: Config; store: Store; log: Logger; checks: SpamCheck[] }) {
    this.d = d;
    this.checks = d.checks.filter((c) => OUTBOUND_CHECKS.has(c.name));
    this.weights = parseWeights(d.config.spam.weights);
    this.windowMs = Math.max(
      60_000,
      parseDuration(d.config.spam.outbound.suspend_window, 'spam.outbound.suspend_window'),
    );
  }

  private window(now = Date.now()): number {
    return now - (now % this.windowMs);
  }

  /**
   * null, or the text of a 451 4.7.1 when the sender is suspended (refused suspend_after times in this
   * window). A store failure suspends nobody.
   */
  async suspended(sender: { account: string | null; clientIp: string }): Promise<string | null> {
    const limit = this.d.config.spam.outbound.suspend_after;
    if (!this.enabled || limit === 0) return null;
    try {
      const n = await this.d.store.spam.rateCount(refusalKey(sender), this.window());
      if (n < limit) return null;
      instruments.outboundScans.add(1, { result: 'suspended' });
      return `Sending suspended: ${n} recent messages were refused as spam; try again later or ask your administrator`;
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, 'spam: outbound suspension not checked');
      return null;
    }
  }

  /** Counts a refusal of this sender; the one that reaches suspend_after is logged as a suspension. */
  private async refused(sender: { account: string | null; clientIp: string }): Promise<void> {
    const limit = this.d.config.spam.outbound.suspend_after;
    if (limit === 0) return;
    const window = this.window();
    const n = await this.d.store.spam.countRate(refusalKey(sender), window);
    if (n === limit)
      this.d.log.warn(
        {
          account: sender.account,
          ip: sender.clientIp,
          refused: n,
          until: new Date(window + this.windowMs).toISOString(),
        },
        'outbound sending suspended: mail refused as spam again and again (a stolen password?)',
      );
  }

  get enabled(): boolean {
    return this.d.config.spam.outbound.enabled;
  }

  /** null to queue the message, or the text of a 554 5.7.1. Never throws: a failing scan lets mail go. */
  async judge(m: OutboundSubmission): Promise<string | null> {
    if (!this.enabled) return null;
    const { config, store, log } = this.d;
    const threshold = config.spam.outbound.reject_score;
    try {
      const v = await runPipeline(
        {
          raw: m.raw,
          parsed: parseMessage(m.raw),
          clientIp: m.clientIp,
          mailFrom: m.mailFrom,
          rcptTo: m.rcptTo,
          // No account: the global Bayes table judges, not the sender's own (it learned what they receive).
          accountIds: [],
          hostname: config.server.hostname,
          facts: new Map(),
        },
        {
          checks: this.checks,
          thresholds: { junk: threshold, reject: threshold },
          timeoutMs: config.spam.timeout_ms,
          network: true,
          weights: this.weights,
        },
      );
      instruments.outboundScans.add(1, { result: v.action === 'reject' ? 'refused' : 'clean' });
      if (v.action !== 'reject') return null;
      const symbols = v.symbols.filter((s) => s.score !== 0 || s.force).map((s) => `${s.name}=${s.score}`);
      // Worth a warning: a user whose mail is refused as spam may have lost their password.
      log.warn(
        { account: m.account, ip: m.clientIp, from: m.mailFrom, score: v.score, symbols: symbols.slice(0, 20) },
        'outbound message refused as spam',
      );
      await store.spam
        .saveVerdicts([
          {
            accountId: null,
            messageId: null,
            clientIp: m.clientIp,
            mailFrom: m.mailFrom,
            createdAt: Date.now(),
            action: 'reject',
            score: v.score,
            // OUTBOUND (no score) tells these rows from inbound refusals, naming the account.
            symbols: JSON.stringify([
              { name: 'OUTBOUND', score: 0, detail: m.account ?? 'trusted network' },
              ...v.symbols,
            ]),
          },
        ])
        .catch((e) => log.error({ err: e }, 'spam: outbound verdict not stored'));
      await this.refused(m).catch((e) => log.warn({ err: (e as Error).message }, 'spam: outbound refusal not counted'));
      return `Message refused: our filter takes it for spam (score ${v.score})`;
    } catch (e) {
      instruments.outboundScans.add(1, { result: 'error' });
      log.warn({ err: (e as Error).message }, 'spam: outbound scan failed; message sent unscanned');
      return null;
    }
  }
}
