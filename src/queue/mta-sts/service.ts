// MTA-STS for the outbound queue (RFC 8461 sections 3.3 and 5.1): the policy that applies to a recipient
// domain now. The "_mta-sts" TXT record's id says whether the cached policy (store.mtaSts, shared by
// nodes) is current; a new id is fetched over HTTPS. Without a live record or a fetchable policy, an
// unexpired cached policy still applies, so an attacker who blocks the lookups cannot strip it.
// Failed fetches are retried at most every five minutes per domain and id; a cached policy is refreshed
// in the background once a day while its id stays published.
import type { Resolver, Store } from '../../core/ports.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { TlsResultType } from '../tls-reports/session.ts';
import { type FetchOptions, fetchPolicyText } from './fetch.ts';
import { parsePolicy, type StsPolicy, stsRecordId } from './policy.ts';

export interface MtaStsDeps {
  store: Pick<Store, 'mtaSts'>;
  resolver: Resolver;
  fetch: Omit<FetchOptions, 'resolver'>;
  log: Logger;
  now?: () => number;
  /** Told of a failed fetch (TLS reporting, RFC 8460 section 4.3.2.2), with the policy still applied. */
  onFailure?: (domain: string, type: TlsResultType, reason: string, applied: StsPolicy | null) => Promise<void>;
}

/** The TLS-RPT result type of a failed policy fetch. */
function fetchFailure(e: Error & { code?: string }): TlsResultType {
  if (e.message === INVALID || /content type/.test(e.message)) return 'sts-policy-invalid';
  if (/^(CERT_|ERR_TLS_CERT|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_(GET|VERIFY))/.test(e.code ?? ''))
    return 'sts-webpki-invalid';
  return 'sts-policy-fetch-error';
}
const INVALID = 'not a valid STSv1 policy';

const RETRY_MS = 5 * 60_000;
/** A cached policy older than this is fetched again (in the background) while its id stays the same. */
const REFRESH_MS = 24 * 3600_000;
const MAX_FAILURES_REMEMBERED = 10_000;

export class MtaSts {
  private readonly d: MtaStsDeps;
  private readonly now: () => number;
  /** domain -> the id whose fetch failed, and when. */
  private readonly failures = new Map<string, { id: string; at: number }>();
  /** Fetches in progress (of a new policy, or a refresh), by domain and id: callers share one. */
  private readonly fetching = new Map<string, Promise<StsPolicy | null>>();

  constructor(d: MtaStsDeps) {
    this.d = d;
    this.now = d.now ?? Date.now;
  }

  /** The policy to apply to mail for `domain` (an A-label), or null (none, or mode "none"). */
  async policyFor(domain: string): Promise<StsPolicy | null> {
    const p = await this.current(domain.toLowerCase());
    return p && p.mode !== 'none' ? p : null;
  }

  private async current(domain: string): Promise<StsPolicy | null> {
    const now = this.now();
    const row = await this.d.store.mtaSts.get(domain);
    const cached = row && row.expiresAt > now ? { id: row.id, policy: JSON.parse(row.policy) as StsPolicy } : null;
    let id: string | null;
    try {
      id = stsRecordId(await this.d.resolver.txt(`_mta-sts.${domain}`));
    } catch {
      id = null; // no record, or the lookup failed: what is cached still holds
    }
    if (id === null) return cached?.policy ?? null;
    if (cached?.id === id) {
      // Section 3.3: refresh a cached policy about daily, so it never lapses while still published (a
      // lapse is the moment an attacker who blocks the fetch would need). In the background: the
      // delivery goes on under the cached policy.
      if (row && now - row.fetchedAt >= REFRESH_MS && !this.backingOff(domain, id, now))
        void this.shared(domain, id, now, cached.policy);
      return cached.policy;
    }
    if (this.backingOff(domain, id, now)) return cached?.policy ?? null;
    return (await this.shared(domain, id, now, cached?.policy ?? null)) ?? cached?.policy ?? null;
  }

  /** The fetch of `id` in progress, or a new one: deliveries to a domain at once share one fetch. */
  private shared(domain: string, id: string, now: number, applied: StsPolicy | null): Promise<StsPolicy | null> {
    const key = `${domain} ${id}`;
    let pending = this.fetching.get(key);
    if (!pending) {
      pending = this.fetch(domain, id, now, applied).finally(() => this.fetching.delete(key));
      this.fetching.set(key, pending);
    }
    return pending;
  }

  /** Whether a fetch of this id failed within RETRY_MS (section 3.3: at most every five minutes). */
  private backingOff(domain: string, id: string, now: number): boolean {
    const failed = this.failures.get(domain);
    return failed?.id === id && now - failed.at < RETRY_MS;
  }

  /** Fetches, checks and caches the policy of `id`; null (logged, reported) when that fails. */
  private async fetch(domain: string, id: string, now: number, applied: StsPolicy | null): Promise<StsPolicy | null> {
    try {
      const text = await fetchPolicyText(domain, { ...this.d.fetch, resolver: this.d.resolver });
      const policy = parsePolicy(text);
      if (!policy) throw new Error(INVALID);
      await this.d.store.mtaSts.put({
        domain,
        id,
        policy: JSON.stringify(policy),
        fetchedAt: now,
        expiresAt: now + policy.maxAge * 1000,
      });
      this.failures.delete(domain);
      this.d.log.info({ domain, id, mode: policy.mode }, 'MTA-STS: policy fetched');
      return policy;
    } catch (e) {
      if (this.failures.size >= MAX_FAILURES_REMEMBERED) this.failures.clear();
      this.failures.set(domain, { id, at: now });
      // Section 3.3: administrators should hear of failed refreshes (unless the cached mode is none).
      this.d.log.warn(
        { domain, id, err: (e as Error).message, cached: applied?.mode ?? null },
        'MTA-STS: policy not fetched',
      );
      await this.d.onFailure?.(domain, fetchFailure(e as Error), (e as Error).message, applied).catch(() => {});
      return null;
    }
  }
}
