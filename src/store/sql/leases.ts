// The leases sub-store in SQL (see core/lease-port.ts): one row per held name. Taking a lease is one
// upsert that only overwrites an expired row or the owner's own, so two nodes racing for a name cannot
// both win (the row's primary key serialises them on both backends).
import type { LeaseStore } from '../../core/lease-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const LEASE_WRITES = ['acquire', 'renew', 'release'] as const;

export function leaseStore(db: SqlDriver): LeaseStore {
  return {
    async acquire(name, owner, ttlMs, now, deadPrefix) {
      // An earlier run of this node: the prefix and the length say so exactly (a longer node id that
      // begins with ours makes a longer owner).
      const dead = deadPrefix ? ' OR (substr(leases.owner, 1, ?) = ? AND length(leases.owner) = ?)' : '';
      const row = await db.get<{ owner: string }>(
        `INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
         WHERE leases.expires_at <= ? OR leases.owner = excluded.owner${dead}
         RETURNING owner`,
        [name, owner, now + ttlMs, now, ...(deadPrefix ? [deadPrefix.length, deadPrefix, owner.length] : [])],
      );
      return row?.owner === owner;
    },
    async renew(names, owner, ttlMs, now) {
      if (names.length === 0) return 0;
      return db.transaction(async (tx) => {
        let n = 0;
        for (const name of names)
          n += await tx.run('UPDATE leases SET expires_at = ? WHERE name = ? AND owner = ?', [
            now + ttlMs,
            name,
            owner,
          ]);
        return n;
      });
    },
    async release(name, owner) {
      await db.run('DELETE FROM leases WHERE name = ? AND owner = ?', [name, owner]);
    },
  };
}
