// The Bayes classifier as a service over the store: tokenizes a message, reads the global table and (when
// it has learned enough) the account's own, blends them, and learns messages by digest.
import { createHash } from 'node:crypto';
import {
  type BayesClass,
  type BayesLearnItem,
  type BayesLearnOutcome,
  type BayesStore,
  GLOBAL_SCOPE,
} from '../../core/bayes-port.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import { type ClassifyParams, type Counts, classify, DEFAULT_PARAMS, type Evidence } from './classify.ts';
import { tokenIds, tokenStreams } from './tokenize.ts';

export interface BayesOptions {
  /** Spam and ham messages each the global table needs before it is used. */
  minLearns: number;
  /** Spam and ham messages each an account's table needs before it is blended in. */
  accountMinLearns: number;
  /** Weight (0..1) of the account's table against the global one when both are used. */
  accountWeight: number;
  params?: ClassifyParams;
  /** Rows a scope's table keeps (expired after learning, at most hourly per scope); 0 or absent: all. */
  maxTokens?: number;
  /** Token counts cached per scope, and in all scopes together (defaults: CACHE_MAX, CACHE_TOTAL). */
  cacheMax?: number;
  cacheTotal?: number;
}

export interface BayesResult {
  /** null when no table has learned enough. */
  probability: number | null;
  used: number;
  /** Which tables were used, e.g. "global", "global+account". */
  tables: string;
}

/**
 * A message's identity for learning: Message-ID, Subject, From and the body bytes. Trace fields added on
 * the way (Received, Delivered-To) are left out, so two deliveries of one message are one message.
 */
export function messageDigest(raw: Buffer, parsed: ParsedMessage): string {
  const h = createHash('sha256');
  h.update(`${parsed.headers.messageId ?? ''}\0${parsed.headers.subject}\0${parsed.headers.from}\0`);
  h.update(raw.subarray(Math.min(raw.length, parsed.root.bodyStart)));
  return h.digest('hex').slice(0, 32);
}

/**
 * Token counts of one scope as of one version of it, packed as spam * 2^24 + ham (0: never seen), in two
 * generations: lookups fill `young`; when it holds half the scope's share it becomes `old` (the previous
 * old is dropped), and a token found in `old` moves back to `young`. The tokens most messages share stay;
 * the one-off tokens of each message age out, without the whole cache starting over when it is full.
 */
interface ScopeCache {
  version: number;
  young: Map<number, number>;
  old: Map<number, number>;
}

const sizeOf = (c: ScopeCache) => c.young.size + c.old.size;

/** Tokens kept per scope (both generations). */
const CACHE_MAX = 400_000;
/**
 * Tokens kept in all scopes together (about 60 MB): every account with its own table has a scope, so
 * without a total the caches of a server with thousands of accounts would grow to gigabytes. Past it
 * the least recently used scopes' caches are dropped (the global scope, used for every message, stays).
 */
const CACHE_TOTAL = 1_000_000;
const PACK = 2 ** 24;

export class BayesClassifier {
  private readonly store: BayesStore;
  // Lookups dominate scoring time; a scope's counts stay valid until its version changes (a learn here
  // or on another node sharing the database), checked on every message with the totals.
  // In order of last use (a scope is moved to the end each time), for dropping the least recent first.
  private readonly cache = new Map<number, ScopeCache>();
  private cached = 0;
  // When each scope's table was last expired (at most hourly; forgotten past 10,000 scopes).
  private readonly expiredAt = new Map<number, number>();
  private readonly opts: BayesOptions;
  private readonly params: ClassifyParams;

  constructor(store: BayesStore, opts: BayesOptions) {
    this.store = store;
    this.opts = opts;
    this.params = opts.params ?? DEFAULT_PARAMS;
  }

  tokens(raw: Buffer, parsed: ParsedMessage): number[] {
    return tokenIds(tokenStreams(raw, parsed));
  }

  /** The spam probability of a message for an account (null: global only). */
  score(raw: Buffer, parsed: ParsedMessage, accountId: number | null): Promise<BayesResult> {
    return this.scoreTokens(() => this.tokens(raw, parsed), accountId);
  }

  /** The same, with the message's tokens from elsewhere (the content scan), asked for only when needed. */
  async scoreTokens(tokensOf: () => number[] | Promise<number[]>, accountId: number | null): Promise<BayesResult> {
    const scopes: number[] = [];
    const [global, account] = await Promise.all([
      this.store.totals(GLOBAL_SCOPE),
      accountId === null ? null : this.store.totals(accountId),
    ]);
    const globalReady = global.spam >= this.opts.minLearns && global.ham >= this.opts.minLearns;
    const accountReady =
      account !== null && account.spam >= this.opts.accountMinLearns && account.ham >= this.opts.accountMinLearns;
    if (globalReady) scopes.push(GLOBAL_SCOPE);
    if (accountReady && accountId !== null) scopes.push(accountId);
    if (scopes.length === 0) return { probability: null, used: 0, tables: '' };
    const tokens = await tokensOf();
    const counts = await Promise.all(
      scopes.map((s) => this.counts(s, s === GLOBAL_SCOPE ? global.version : account!.version, tokens)),
    );
    const w = this.opts.accountWeight;
    const evidence: Evidence[] = scopes.map((s, i) => ({
      counts: counts[i],
      totals: s === GLOBAL_SCOPE ? global : account!,
      weight: scopes.length === 1 ? 1 : s === GLOBAL_SCOPE ? 1 - w : w,
    }));
    const c = classify(tokens, evidence, this.params);
    return {
      probability: c.probability,
      used: c.used,
      tables: scopes.map((s) => (s === GLOBAL_SCOPE ? 'global' : 'account')).join('+'),
    };
  }

  /** Counts of tokens in a scope, through the cache of that scope's current version. */
  private async counts(scope: number, version: number, tokens: number[]): Promise<Map<number, Counts>> {
    let c = this.cache.get(scope);
    if (c) this.cache.delete(scope);
    if (c && c.version !== version) {
      this.cached -= sizeOf(c);
      c = undefined;
    }
    c ??= { version, young: new Map(), old: new Map() };
    this.cache.set(scope, c);
    const out = new Map<number, Counts>();
    const missing: number[] = [];
    const { young, old } = c;
    for (const t of tokens) {
      let v = young.get(t);
      if (v === undefined) {
        v = old.get(t);
        if (v !== undefined) {
          // Promoted: counted once (it stays in `old` until that generation is dropped).
          young.set(t, v);
          this.cached++;
        }
      }
      if (v === undefined) missing.push(t);
      else if (v !== 0) out.set(t, { spam: Math.floor(v / PACK), ham: v % PACK });
    }
    if (missing.length) {
      const found = await this.store.counts(scope, missing);
      // Another score may have replaced or dropped this scope's cache meanwhile: then only answer.
      const live = this.cache.get(scope) === c;
      const before = c.young.size;
      for (const t of missing) {
        const f = found.get(t);
        // Counts past 2^24 - 1 saturate in the cache only (16 million messages of one class).
        if (live) c.young.set(t, f ? Math.min(f.spam, PACK - 1) * PACK + Math.min(f.ham, PACK - 1) : 0);
        if (f) out.set(t, f);
      }
      if (live) this.cached += c.young.size - before;
    }
    if (this.cache.get(scope) === c) {
      if (c.young.size >= (this.opts.cacheMax ?? CACHE_MAX) / 2) {
        this.cached -= c.old.size;
        c.old = c.young;
        c.young = new Map();
      }
      this.trimCache(scope);
    }
    return out;
  }

  /** Drops the least recently used scopes' caches while all of them hold more than the total allows. */
  private trimCache(keep: number): void {
    const total = this.opts.cacheTotal ?? CACHE_TOTAL;
    for (const [scope, c] of this.cache) {
      if (this.cached <= total) return;
      if (scope === keep || scope === GLOBAL_SCOPE) continue;
      this.cached -= sizeOf(c);
      this.cache.delete(scope);
    }
  }

  /** Scopes and token counts cached now (for tests and diagnostics). */
  cacheStats(): { scopes: number; tokens: number } {
    return { scopes: this.cache.size, tokens: this.cached };
  }

  /**
   * Learns one message as spam or ham in a scope (GLOBAL_SCOPE or an account id); `tokens` when they come
   * from elsewhere (the content scan), else tokenized here.
   */
  async learn(
    scope: number,
    raw: Buffer,
    parsed: ParsedMessage,
    cls: BayesClass,
    tokens?: number[],
  ): Promise<BayesLearnOutcome> {
    const [out] = await this.store.learn(
      scope,
      [{ digest: messageDigest(raw, parsed), class: cls, tokens: tokens ?? this.tokens(raw, parsed) }],
      Date.now(),
    );
    await this.expireIfDue(scope);
    return out;
  }

  /**
   * What learning a message stores: its digest and tokens. Bulk training makes these as it reads, so a
   * batch holds token lists only, not the messages and their parses.
   */
  learnItem(raw: Buffer, parsed: ParsedMessage, cls: BayesClass): BayesLearnItem {
    return { digest: messageDigest(raw, parsed), class: cls, tokens: this.tokens(raw, parsed) };
  }

  /** Learns many messages (from learnItem) in one transaction (bulk training). */
  async learnMany(scope: number, items: BayesLearnItem[]): Promise<BayesLearnOutcome[]> {
    const out = await this.store.learn(scope, items, Date.now());
    await this.expireIfDue(scope);
    return out;
  }

  /**
   * Keeps a scope's table to maxTokens rows, at most hourly per scope: every learned message adds ~440
   * rows (OSB pairs are mostly unique), so without expiry the tables grow for good. Returns rows dropped.
   */
  private async expireIfDue(scope: number): Promise<number> {
    const max = this.opts.maxTokens ?? 0;
    if (max <= 0) return 0;
    const now = Date.now();
    if (now - (this.expiredAt.get(scope) ?? 0) < 3_600_000) return 0;
    if (this.expiredAt.size >= 10_000) this.expiredAt.clear();
    this.expiredAt.set(scope, now);
    return this.store.expire(scope, max);
  }
}
