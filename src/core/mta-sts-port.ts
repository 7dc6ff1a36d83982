// The MTA-STS policy cache's contract (RFC 8461 section 5.1): the last policy fetched per recipient domain,
// shared by every node on the same database so a restart or another node does not forget it (a policy
// that an attacker could otherwise strip by blocking the TXT lookup until the cache is gone).

export interface CachedStsPolicy {
  domain: string;
  /** The TXT record's id the policy was fetched for. */
  id: string;
  /** The policy as JSON (queue/mta-sts/policy.ts StsPolicy). */
  policy: string;
  fetchedAt: number;
  /** fetchedAt + max_age. */
  expiresAt: number;
}

export interface MtaStsStore {
  get(domain: string): Promise<CachedStsPolicy | null>;
  put(entry: CachedStsPolicy): Promise<void>;
}
