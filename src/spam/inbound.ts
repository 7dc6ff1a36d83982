// The spam filter as the SMTP server uses it for mail from the internet: rate limits at MAIL FROM, the
// pipeline at the end of DATA/BDAT with per-domain thresholds, the Authentication-Results header (ours
// on top, forged ones with our authserv-id removed), the verdict per recipient (Inbox or Junk), ARC seals
// for forwarded copies, verdict rows beside the stored messages, and feedback to the learning parts.
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { AppendResult, Store } from '../core/ports.ts';
import { arcSealHeaders } from '../dkim/arc-seal.ts';
import type { DkimKeyring } from '../dkim/keys.ts';
import { parseMessage } from '../mime/parse.ts';
import type { Logger } from '../telemetry/log.ts';
import { instruments, withSpan } from '../telemetry/metrics.ts';
import { authResultsField, stripOwnAuthResults } from './auth-results.ts';
import { AUTH_FACT, type AuthFacts } from './checks/auth.ts';
import { rememberSent } from './checks/replies.ts';
import { rememberTrapClient } from './checks/traps.ts';
import type { DmarcFailureReporter } from './dmarc-reports/failure.ts';
import type { DmarcReporter } from './dmarc-reports/reporter.ts';
import type { FeedbackSink } from './feedback.ts';
import { SenderLists } from './lists/cache.ts';
import { parseWeights, runPipeline, type Thresholds, verdictFrom } from './pipeline.ts';
import { RateLimiter } from './rate-limit.ts';
import { SpamTraps, TRAP_FACT } from './traps.ts';
import type { SpamAction, SpamCheck, SpamContext, SpamVerdict } from './types.ts';

export interface InboundDeps {
  config: Config;
  store: Store;
  checks: SpamCheck[];
  sinks: FeedbackSink[];
  dkim: DkimKeyring;
  log: Logger;
  /** Counts DMARC outcomes for aggregate reports (spam.dmarc_reports). */
  dmarcReports?: DmarcReporter;
  /** DMARC failure reports (RFC 9991), sent as failures happen. */
  dmarcFailureReports?: DmarcFailureReporter;
}

/** One recipient as the SMTP transaction resolved it. */
export interface InboundRecipient {
  address: string;
  /** Local accounts it reaches: id and address (the address's domain picks the thresholds). */
  accounts: { id: number; address: string }[];
  /** External addresses it is forwarded to (aliases). */
  remote: string[];
}

export interface InboundMessage {
  raw: Buffer;
  clientIp: string;
  helo: string;
  /** '' for the null reverse-path. */
  mailFrom: string;
  rcpts: InboundRecipient[];
}

/** One local account's copy: its X-Spam-* lines, Junk or not, and its keywords ($Junk, $Phishing). */
export interface AccountJudgement {
  headers: string;
  junk: boolean;
  keywords: string[];
  verdict: SpamVerdict;
}

/**
 * The keywords a copy filed into Junk gets (spam.junk_keywords): $Junk, and $Phishing when a phishing check
 * scored or a login page came as a file (ATTACH_HTML_ACTIVE) (RFC 9051 section 2.3.2: a delivery agent sets $Junk; a phishing message is junk too, and a client
 * shows its warning only when both are set, so one that clears $Junk clears the warning).
 */
export function junkKeywords(v: SpamVerdict): string[] {
  const phishing = (name: string) => name.startsWith('PHISH_') || name === 'ATTACH_HTML_ACTIVE';
  return v.symbols.some((s) => phishing(s.name) && s.score > 0) ? ['$Junk', '$Phishing'] : ['$Junk'];
}

/** What the SMTP side does with the message. */
export interface Judgement {
  /** reject: 550 5.7.1; greylist: 451 4.7.1; accept/junk: deliver (junk: some or all copies to Junk). */
  action: SpamAction;
  reason?: string;
  /** The message to store and forward: forged Authentication-Results removed. */
  raw: Buffer;
  /** "Authentication-Results: ..." to put on top of the stored copies ('' when auth is off). */
  authHeader: string;
  /** Per local account: the X-Spam-* lines of its copy, whether it goes to Junk and the keywords it gets. */
  accounts: Map<number, AccountJudgement>;
  /** Per recipient (by index): its forwarded copies are not made (junk, spam.forward_junk = "refuse"). */
  withheld: boolean[];
  /** The verdict with the global thresholds (forwarded copies, refusals). */
  verdict: SpamVerdict;
  ctx: SpamContext;
}

const RANK: Record<SpamAction, number> = { accept: 0, junk: 1, greylist: 2, reject: 3 };

/** Parses spam.domain_thresholds ("domain=junk:reject" or "local@domain=junk:reject" for one address). */
export function domainThresholds(entries: string[]): Map<string, Thresholds> {
  const m = new Map<string, Thresholds>();
  for (const e of entries) {
    const x = /^\s*([^=\s]+)\s*=\s*(-?\d+(?:\.\d+)?)\s*:\s*(-?\d+(?:\.\d+)?)\s*$/.exec(e);
    if (!x) throw new Error(`spam.domain_thresholds: "${e}" is not domain=junk:reject or address=junk:reject`);
    m.set(x[1].toLowerCase(), { junk: Number(x[2]), reject: Number(x[3]) });
  }
  return m;
}

/** The admin's thresholds with a user's own junk threshold, which never reaches past the refusal one. */
export function withOwnJunkScore(admin: Thresholds, own: number | undefined): Thresholds {
  return own === undefined ? admin : { ...admin, junk: Math.min(own, admin.reject) };
}

/**
 * The thresholds the admin set for a recipient address (spam.domain_thresholds: the address's entry, else its
 * domain's, else junk_score/reject_score), before the user's own junk threshold (/account/spam).
 */
export function thresholdsLookup(c: Config['spam']): (address: string) => Thresholds {
  const global: Thresholds = { junk: c.junk_score, reject: c.reject_score, greylist: c.greylist.min_score };
  const perDomain = domainThresholds(c.domain_thresholds);
  return (address) => {
    const a = address.toLowerCase();
    const own = perDomain.get(a) ?? perDomain.get(a.slice(a.lastIndexOf('@') + 1));
    return own ? { ...own, greylist: global.greylist } : global;
  };
}

/**
 * What /^\s*from\s+(\S+)\s*\(([^)]*)\)/i matched: the HELO word and the first comment. That regex gave back
 * the word one character at a time and scanned for ")" after each "(" in it (quadratic on "from x((((...");
 * here the "(" greedy matching would settle on is found directly: the last one before the last ")".
 */
export function fromClause(value: string): { helo: string; comment: string } | null {
  const head = /^\s*from\s+/i.exec(value);
  if (!head) return null;
  const start = head[0].length;
  const word = /\S*/y;
  word.lastIndex = start;
  const end = start + (word.exec(value)?.[0].length ?? 0);
  if (end === start) return null;
  const close = value.lastIndexOf(')');
  if (close < 0) return null;
  const after = /\s*\(/y;
  after.lastIndex = end;
  let open = after.exec(value) ? after.lastIndex - 1 : -1;
  let helo = value.slice(start, end);
  if (open < 0 || open > close) {
    // Inside the word: the last "(" that leaves it one character or more and has a ")" after it.
    open = value.lastIndexOf('(', Math.min(end, close) - 1);
    if (open <= start) return null;
    helo = value.slice(start, open);
  }
  return { helo, comment: value.slice(open + 1, value.indexOf(')', open + 1)) };
}

/**
 * The SMTP client of the topmost Received field (the one the MTA in front of an LMTP link wrote): the
 * address literal in its from-clause comment ("from helo (name [192.0.2.1])") and the HELO name; null when
 * it names no address.
 */
export function frontClient(fields: { name: string; value: string }[]): { ip: string; helo: string } | null {
  const value = fields.find((f) => f.name.toLowerCase() === 'received')?.value;
  const m = value ? fromClause(value) : null;
  if (!m) return null;
  for (const [, a] of m.comment.matchAll(/\[(?:IPv6:)?([0-9A-Fa-f.:]+)\]/g))
    if (isIP(a)) return { ip: a, helo: m.helo };
  return null;
}

/**
 * An address with its domain as an A-label, the form accounts are kept in: spam.exempt_recipients may
 * write "abuse@bücher.example" and an SMTPUTF8 client the U-label, an ASCII one the A-label.
 */
function aLabelAddress(address: string): string {
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1).replace(/\.$/, '');
  return `${address.slice(0, at)}@${domainToASCII(domain) || domain}`;
}

export class InboundFilter {
  private readonly d: InboundDeps;
  private readonly global: Thresholds;
  /** The admin's thresholds for a recipient address (global, per domain, per address). */
  private readonly thresholdsFor: (address: string) => Thresholds;
  private readonly weights: Record<string, number>;
  private readonly rates: RateLimiter;
  private readonly greylistLifetimeMs: number;
  /** A triplet waiting longer than this is dead (its next attempt starts over): pruned then. */
  private readonly greylistRetryWindowMs: number;
  /** spam.verdicts_keep: stored verdicts older than this are pruned (0: kept). */
  private readonly verdictsKeepMs: number;
  private readonly rateWindowMs: number;
  /** The longest window counted in the rate rows: this one or the sending limits' (smtp/send-limits.ts). */
  private readonly rateRowsMs: number;
  /** 0: the first message after start prunes, so a server restarted within every hour still does. */
  private lastPrune = 0;
  /** The allow list, for the rate-limit exemption of allowed client IPs. */
  private readonly lists: SenderLists;
  /** Spam traps (spam.traps): RCPT accepts them, nothing is stored for them, what reaches them teaches. */
  private readonly traps: SpamTraps;
  /** spam.exempt_recipients: local parts (every hosted domain) and whole addresses, lower case. */
  private readonly exempt: { locals: Set<string>; addresses: Set<string> } = {
    locals: new Set(),
    addresses: new Set(),
  };

  constructor(d: InboundDeps) {
    this.d = d;
    const c = d.config.spam;
    this.global = { junk: c.junk_score, reject: c.reject_score, greylist: c.greylist.min_score };
    this.thresholdsFor = thresholdsLookup(c);
    this.weights = parseWeights(c.weights);
    this.greylistLifetimeMs = parseDuration(c.greylist.lifetime, 'spam.greylist.lifetime');
    this.greylistRetryWindowMs = parseDuration(c.greylist.retry_window, 'spam.greylist.retry_window');
    this.verdictsKeepMs = parseDuration(c.verdicts_keep, 'spam.verdicts_keep');
    this.rateWindowMs = Math.max(1000, parseDuration(c.rate_limit.window, 'spam.rate_limit.window'));
    // Every window counted in the rate rows outlives its end: the sending limits', the outbound suspensions',
    // and at least an hour (the DMARC failure reports count per clock hour in the same rows).
    this.rateRowsMs = Math.max(
      3600_000,
      this.rateWindowMs,
      parseDuration(d.config.smtp.send_limit_window, 'smtp.send_limit_window'),
      parseDuration(c.outbound.suspend_window, 'spam.outbound.suspend_window'),
    );
    this.lists = SenderLists.of(d.store);
    this.traps = new SpamTraps(c.traps.addresses, c.traps.learn);
    for (const e of c.exempt_recipients.map((x) => x.trim().toLowerCase()).filter(Boolean))
      if (e.includes('@')) this.exempt.addresses.add(aLabelAddress(e));
      else this.exempt.locals.add(e);
    this.rates = new RateLimiter({
      store: d.store.spam,
      windowMs: this.rateWindowMs,
      perIp: c.rate_limit.per_ip,
      perSender: c.rate_limit.per_sender,
    });
  }

  get enabled(): boolean {
    return this.d.config.spam.enabled;
  }

  /** Whether RCPT TO this address is a spam trap (mail from the internet only; the caller checks that). */
  isTrap(address: string): boolean {
    return this.enabled && this.traps.has(address);
  }

  /** The exact trap addresses, to warn at start about those that are also accounts or aliases. */
  get trapAddresses(): string[] {
    return this.traps.exact;
  }

  /**
   * A client IP on the admin's allow list (petrel spam allow) is not rate-limited, and its mail does not count
   * toward its senders' limits, as Postfix exempts its trusted clients from anvil's limits.
   */
  private async rateExempt(clientIp: string): Promise<boolean> {
    if (!this.d.config.spam.lists.enabled) return false;
    const [global] = await this.lists.forAccounts([]);
    return !!global?.allow({ clientIp, addresses: [] });
  }

  /**
   * At MAIL FROM: null to go on, or the text of a 451 4.7.1 (the client IP is over its limit, or the sender
   * has had its limit of accepted messages in this window; see rate-limit.ts).
   */
  async admit(clientIp: string, mailFrom: string | null): Promise<string | null> {
    if (!this.enabled || !this.rates.enabled) return null;
    try {
      if (await this.rateExempt(clientIp)) return null;
      return await this.rates.admit(clientIp, mailFrom);
    } catch (e) {
      // A store hiccup must not refuse mail.
      this.d.log.warn({ err: e }, 'spam: rate limit check failed');
      return null;
    }
  }

  /** A message was accepted (end of DATA/BDAT): it counts toward its envelope sender's rate limit. */
  async accepted(clientIp: string, mailFrom: string | null): Promise<void> {
    if (!this.enabled || !this.rates.enabled || !mailFrom) return;
    try {
      if (!(await this.rateExempt(clientIp))) await this.rates.accepted(mailFrom);
    } catch (e) {
      this.d.log.warn({ err: e }, 'spam: counting an accepted message for the rate limit failed');
    }
  }

  /** The junk thresholds users chose for themselves (spam.user_junk_score); none when the store fails. */
  private async ownJunkScores(accountIds: number[]): Promise<Map<number, number>> {
    if (!this.d.config.spam.user_junk_score || accountIds.length === 0) return new Map();
    try {
      return await this.d.store.spam.userJunkScores(accountIds);
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, "users' junk thresholds could not be read; the admin's apply");
      return new Map();
    }
  }

  /** Whether mail to this address takes spam (spam.exempt_recipients); a +tag counts as its address. */
  private isExempt(address: string): boolean {
    const a = address.toLowerCase();
    const at = a.lastIndexOf('@');
    const local = a.slice(0, at).replace(/\+.*$/, '');
    return this.exempt.locals.has(local) || this.exempt.addresses.has(aLabelAddress(`${local}@${a.slice(at + 1)}`));
  }

  /**
   * At most hourly, in the background: forget greylist rows past their lifetime, waiting triplets past
   * their retry window, old rate windows and verdicts past spam.verdicts_keep.
   */
  private pruneNow(): void {
    const now = Date.now();
    if (now - this.lastPrune < 3600_000) return;
    this.lastPrune = now;
    this.d.store.spam
      .prune(
        now - this.greylistLifetimeMs,
        now - 2 * this.rateRowsMs,
        this.verdictsKeepMs > 0 ? now - this.verdictsKeepMs : undefined,
        now - this.greylistRetryWindowMs,
      )
      .catch((e) => this.d.log.warn({ err: e }, 'spam: pruning greylist and rate rows failed'));
  }

  /** Runs the pipeline and decides per recipient. Never throws for bad input. */
  async judge(m: InboundMessage): Promise<Judgement> {
    this.pruneNow();
    const { config } = this.d;
    const hostname = config.server.hostname;
    const accountIds = [...new Set(m.rcpts.flatMap((r) => r.accounts.map((a) => a.id)))];
    const ctx: SpamContext = {
      raw: m.raw,
      parsed: parseMessage(m.raw),
      clientIp: m.clientIp,
      helo: m.helo,
      mailFrom: m.mailFrom,
      rcptTo: m.rcpts.map((r) => r.address),
      accountIds,
      hostname,
      facts: new Map(),
    };
    const started = performance.now();
    const verdict = await withSpan('petrel.spam', { 'petrel.size': m.raw.length }, () =>
      runPipeline(ctx, {
        checks: this.d.checks,
        thresholds: this.global,
        timeoutMs: config.spam.timeout_ms,
        network: true,
        weights: this.weights,
      }),
    );
    instruments.spamDuration.record(performance.now() - started);
    const auth = ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
    const authHeader = config.spam.auth.enabled
      ? authResultsField(auth?.authResults ?? `${hostname}; none (verification did not finish in time)`)
      : '';
    // Per recipient domain thresholds; the message is refused only when every recipient's verdict refuses.
    const own = await this.ownJunkScores(accountIds);
    const accounts = new Map<number, AccountJudgement>();
    const actions: SpamAction[] = [];
    const all = [...verdict.symbols, ...(verdict.scoped ?? [])];
    const withheld: boolean[] = [];
    for (const r of m.rcpts) {
      // postmaster@, abuse@ (RFC 2142): complaints quote spam, so they get it, marked.
      const exempt = this.isExempt(r.address);
      for (const a of r.accounts) {
        const t = withOwnJunkScore(this.thresholdsFor(a.address), own.get(a.id));
        const tt = exempt || this.isExempt(a.address) ? { ...t, exempt: true } : t;
        let v = verdictFrom(all, tt, a.id);
        actions.push(v.action);
        // A greylisting deferral holds the message only when no recipient is spared it; a copy delivered
        // because another recipient was (their allow list) is filed by the rest of its evidence: Junk
        // when its score says so, never the INBOX marked "No" for want of a verdict.
        if (v.action === 'greylist')
          v = verdictFrom(
            all.filter((s) => s.force !== 'greylist'),
            tt,
            a.id,
          );
        const junk = v.action === 'junk' || v.action === 'reject';
        const keywords = junk && config.spam.junk_keywords ? junkKeywords(v) : [];
        // An account reached by several recipients (itself and an alias, abuse@) gets one copy, filed by the
        // most lenient of them: not by which RCPT came first. An exempt route to it wins over a direct one.
        const before = accounts.get(a.id);
        if (!before || RANK[v.action] < RANK[before.verdict.action])
          accounts.set(a.id, { headers: v.headers, junk, keywords, verdict: v });
      }
      if (r.remote.length) {
        const a = exempt ? verdictFrom(verdict.symbols, { ...this.global, exempt: true }).action : verdict.action;
        // spam.forward_junk = "refuse": junk is not passed on to other servers (what an alias forwards to
        // Gmail would teach Gmail that we send spam); for these copies it is a refusal.
        const withhold = a === 'junk' && config.spam.forward_junk === 'refuse';
        withheld.push(withhold);
        actions.push(withhold ? 'reject' : a);
      } else withheld.push(false);
    }
    const least = actions.reduce<SpamAction>((x, y) => (RANK[y] < RANK[x] ? y : x), actions[0] ?? verdict.action);
    // The least action of all recipients: a greylist deferral or a score-based refusal only when every
    // recipient's verdict says so.
    const action: SpamAction = least;
    instruments.spamVerdicts.add(1, { action });
    // A refusal decided by the recipients' own verdicts (their block lists, their thresholds) gives one
    // of theirs: the message's own verdict (without their scoped symbols) would name the wrong score. A
    // junk verdict refused only because its copies would be forwarded: the generic reason, not the junk one.
    const rejecting = [...accounts.values()].find((a) => a.verdict.action === 'reject')?.verdict.reason;
    const reason =
      action === 'greylist'
        ? verdict.reason
        : action === 'reject'
          ? (rejecting ?? (verdict.action !== 'junk' ? verdict.reason : undefined))
          : undefined;
    // The reason goes into an SMTP reply line: parts of it (a From domain, an attachment's name) come from
    // the sender. Reply text is printable US-ASCII (RFC 5321 section 4.2, textstring): other characters
    // become "?", as Postfix prints them, so no UTF-8 line separator (U+2028, U+0085) reaches a client.
    const safe = (t: string | undefined) =>
      t === undefined
        ? undefined
        : t
            .replace(/[\x00-\x1f\x7f]+/g, ' ')
            .replace(/[^\x20-\x7e]/gu, '?')
            .slice(0, 300);
    return {
      action,
      reason: safe(reason ?? (action === 'reject' ? `Message refused as spam (score ${verdict.score})` : undefined)),
      raw: stripOwnAuthResults(m.raw, hostname),
      authHeader,
      accounts,
      withheld,
      verdict,
      ctx,
    };
  }

  /**
   * The content to forward: our Received, the X-Spam-* lines when the verdict is junk (so the receiver can
   * file it), the message; ARC-sealed with the forwarding domain's DKIM key when spam.auth.arc_seal is on
   * and the domain has one. Unsealed when sealing is impossible (logged).
   */
  async forwardContent(j: Judgement, received: Buffer, body: Buffer, forwardingDomain: string | null): Promise<Buffer> {
    const spamLines = j.verdict.action === 'junk' || j.verdict.action === 'reject' ? j.verdict.headers : '';
    const content = Buffer.concat([received, Buffer.from(spamLines), body]);
    return this.sealed(content, j.ctx.facts.get(AUTH_FACT) as AuthFacts | undefined, forwardingDomain);
  }

  /**
   * The content to forward of LMTP mail (which is not filtered: the MTA in front did that): our Received
   * and the message, ARC-sealed as forwardContent seals, when the spam filter is on. The sender is
   * authenticated here for the seal alone, as the MTA in front met it: the client address and HELO name of
   * the Received field that MTA wrote on top (RFC 5321 section 4.4), since the LMTP client's address is its
   * own. Never DKIM-signed (the caller): this is internet mail, whatever its From claims.
   */
  async forwardFromFront(
    received: Buffer,
    raw: Buffer,
    mailFrom: string,
    forwardingDomain: string | null,
  ): Promise<Buffer> {
    const content = Buffer.concat([received, raw]);
    const { config } = this.d;
    if (!this.enabled || !config.spam.auth.arc_seal || !forwardingDomain) return content;
    if ((await this.d.dkim.signingKeys(forwardingDomain)).length === 0) return content;
    const check = this.d.checks.find((c) => c.name === 'auth');
    const parsed = parseMessage(raw);
    const client = frontClient(parsed.headerFields);
    if (!check || !client) {
      this.d.log.info(
        { domain: forwardingDomain },
        'spam: forwarded LMTP message not ARC-sealed (no client in Received)',
      );
      return content;
    }
    const ctx: SpamContext = {
      raw,
      parsed,
      clientIp: client.ip,
      helo: client.helo,
      mailFrom,
      accountIds: [],
      hostname: config.server.hostname,
      facts: new Map(),
    };
    try {
      await check.run(ctx, AbortSignal.timeout(config.spam.timeout_ms));
    } catch (e) {
      this.d.log.warn({ domain: forwardingDomain, err: (e as Error).message }, 'spam: LMTP sender not verified');
    }
    return this.sealed(content, ctx.facts.get(AUTH_FACT) as AuthFacts | undefined, forwardingDomain);
  }

  /** The content with an ARC set of our results on top (spam.auth.arc_seal), or as it is when none can be made. */
  private async sealed(content: Buffer, auth: AuthFacts | undefined, forwardingDomain: string | null): Promise<Buffer> {
    if (!this.d.config.spam.auth.arc_seal || !auth || !forwardingDomain) return content;
    // One seal per set (RFC 8617 section 4.2.1), and ARC verifiers that know rsa-sha256 only (Mail::DKIM,
    // OpenARC; RFC 8463 section 4.1) fail an Ed25519 one: the domain's RSA key, Ed25519 only without one.
    const keys = await this.d.dkim.signingKeys(forwardingDomain);
    const key = keys.find((k) => k.algorithm === 'rsa') ?? keys[0];
    if (!key) return content;
    const cv = auth.arc.result === 'pass' ? 'pass' : auth.arc.result === 'fail' ? 'fail' : 'none';
    try {
      const s = await arcSealHeaders(content, key, { authResults: auth.authResults, cv });
      if (!s.headers) {
        this.d.log.info({ domain: forwardingDomain, why: s.why }, 'spam: forwarded message not ARC-sealed');
        return content;
      }
      return Buffer.concat([Buffer.from(s.headers), content]);
    } catch (e) {
      this.d.log.error({ domain: forwardingDomain, err: (e as Error).message }, 'spam: ARC sealing failed');
      return content;
    }
  }

  /**
   * Remembers a message an authenticated user sent (its Message-ID and recipients), so replies to it and
   * mail from those recipients are trusted (checks/replies.ts). Failures are logged, never thrown.
   */
  async sent(messageId: string | null, recipients: string[]): Promise<void> {
    try {
      await rememberSent(this.d, messageId, recipients);
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, 'spam: sent mail not remembered');
    }
  }

  /**
   * Stores the verdict (one row per delivered copy, `delivered[i]` for account `accountIds[i]`; one row
   * without a message for a refusal, noting the accounts it was for) and tells the feedback sinks.
   * Failures are logged: the message is already safe, and a failed 250 now would only bring a duplicate.
   */
  async record(j: Judgement, delivered: { accountId: number; result: AppendResult }[]): Promise<void> {
    const base = {
      clientIp: j.ctx.clientIp ?? null,
      mailFrom: j.ctx.mailFrom ?? null,
      createdAt: Date.now(),
    };
    const rows = delivered.length
      ? delivered.map((x) => {
          const v = j.accounts.get(x.accountId)?.verdict ?? j.verdict;
          return {
            ...base,
            accountId: x.accountId,
            messageId: x.result.id,
            action: v.action === 'reject' ? ('junk' as const) : v.action,
            score: v.score,
            symbols: JSON.stringify(v.symbols),
          };
        })
      : [
          {
            ...base,
            accountId: null,
            messageId: null,
            action: j.action,
            score: j.verdict.score,
            symbols: JSON.stringify(j.verdict.symbols),
            // Whom it was for, each with its own verdict, so each can see it refused at /account/spam and
            // why (their own block list, say, which the message's verdict leaves out). A greylisted one comes back.
            refusedFor:
              j.action === 'reject'
                ? [...j.accounts].map(([accountId, a]) => ({
                    accountId,
                    score: a.verdict.score,
                    symbols: JSON.stringify(a.verdict.symbols),
                  }))
                : undefined,
          },
        ];
    try {
      await this.d.store.spam.saveVerdicts(rows);
    } catch (e) {
      this.d.log.error({ err: e }, 'spam: verdict not stored');
    }
    if (j.action === 'greylist') return;
    // A greylisted message comes back; its outcome is counted then. Refusals count (RFC 9990 section 3.1).
    const auth = j.ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
    await this.d.dmarcReports?.note(auth, j.action, j.ctx.clientIp, j.ctx.mailFrom ?? '');
    // Not awaited: its DNS lookups must not hold the reply to DATA; it never throws.
    void this.d.dmarcFailureReports?.note(auth, j.action, j.ctx.clientIp, j.ctx.mailFrom ?? '', j.ctx.raw);
    // A message that reached a trap teaches as a user's judgement would (awaited: the trap's sender waits
    // for the 250 meanwhile, our users' copies are already stored), in place of the verdict's feedback.
    const trapped = j.ctx.facts.get(TRAP_FACT) as string[] | undefined;
    if (trapped?.length) return this.learnFromTrap(j, trapped);
    // What the message is, by the global verdict alone: mail an exempt recipient (postmaster@) took is still
    // spam, or sending spam to postmaster@ would whiten its sender's reputation; and mail one user's own
    // threshold or block list filed into Junk or refused is not, or one user's taste would condemn a sender
    // for every user of the server.
    const spam = j.verdict.action === 'reject' || j.verdict.action === 'junk';
    for (const sink of this.d.sinks)
      sink
        .learn({
          class: spam ? 'spam' : 'ham',
          source: 'verdict',
          accountId: null,
          raw: j.ctx.raw,
          parsed: j.ctx.parsed,
          ctx: j.ctx,
          verdict: j.verdict,
        })
        .catch((e) => this.d.log.warn({ err: e, sink: sink.name }, 'spam: feedback sink failed'));
  }

  /**
   * The sinks named in spam.traps.learn learn the message as spam, source 'trap'. Not when an allow list
   * entry vouches for the sender (an admin's word beats a trap) or nothing is to be learned. Failures are
   * logged: the trap's 250 does not depend on them.
   */
  private async learnFromTrap(j: Judgement, trapped: string[]): Promise<void> {
    const allowed = j.verdict.symbols.some((s) => s.name === 'ALLOWLISTED');
    const limit = this.d.config.spam.traps.learn_per_hour;
    const now = Date.now();
    const flood =
      !allowed &&
      limit > 0 &&
      !!j.ctx.clientIp &&
      (await this.d.store.spam
        .countRate(`trap:${j.ctx.clientIp}`, now - (now % 3600_000))
        .then((n) => n > limit)
        .catch(() => false));
    const learned = !allowed && !flood;
    this.d.log.info(
      {
        ip: j.ctx.clientIp,
        from: j.ctx.mailFrom,
        traps: trapped.slice(0, 5),
        learned,
        ...(flood && { why: 'learn_per_hour reached' }),
      },
      'spam trap hit',
    );
    instruments.spamTrapHits.add(1, { learned });
    if (!learned) return;
    if (j.ctx.clientIp)
      await rememberTrapClient(this.d, j.ctx.clientIp).catch((e) =>
        this.d.log.warn({ err: e }, 'spam: trap client not remembered'),
      );
    for (const sink of this.d.sinks) {
      if (!this.traps.learn.has(sink.name)) continue;
      try {
        await sink.learn({
          class: 'spam',
          source: 'trap',
          accountId: null,
          raw: j.ctx.raw,
          parsed: j.ctx.parsed,
          ctx: j.ctx,
          verdict: j.verdict,
        });
      } catch (e) {
        this.d.log.warn({ err: e, sink: sink.name }, 'spam: learning from a trap failed');
      }
    }
  }
}
