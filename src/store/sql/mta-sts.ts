// The MTA-STS policy cache in SQL (see core/mta-sts-port.ts): one row per recipient domain.
import type { CachedStsPolicy, MtaStsStore } from '../../core/mta-sts-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const MTA_STS_WRITES = ['put'] as const;

export function mtaStsStore(db: SqlDriver): MtaStsStore {
  return {
    async get(domain) {
      const r = await db.get<{ domain: string; id: string; policy: string; fetched_at: number; expires_at: number }>(
        'SELECT * FROM mta_sts_policies WHERE domain = ?',
        [domain],
      );
      return r
        ? {
            domain: r.domain,
            id: r.id,
            policy: r.policy,
            fetchedAt: Number(r.fetched_at),
            expiresAt: Number(r.expires_at),
          }
        : null;
    },
    async put(e: CachedStsPolicy) {
      await db.run(
        `INSERT INTO mta_sts_policies (domain, id, policy, fetched_at, expires_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (domain) DO UPDATE SET id = excluded.id, policy = excluded.policy,
           fetched_at = excluded.fetched_at, expires_at = excluded.expires_at`,
        [e.domain, e.id, e.policy, e.fetchedAt, e.expiresAt],
      );
    },
  };
}
