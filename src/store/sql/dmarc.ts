// The DMARC reports sub-store in SQL (see core/dmarc-port.ts): per period and policy domain, one row per
// distinct outcome with a count (one upsert per message on both dialects), and the policy last seen.
import type { DmarcStore } from '../../core/dmarc-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const DMARC_WRITES = ['add', 'remove'] as const;

export function dmarcStore(db: SqlDriver): DmarcStore {
  return {
    async add(p, policy, key, record) {
      await db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO dmarc_report_rows (period, policy_domain, row_key, record, count) VALUES (?, ?, ?, ?, 1)
           ON CONFLICT (period, policy_domain, row_key) DO UPDATE SET count = dmarc_report_rows.count + 1`,
          [p.begin, p.policyDomain, key, record],
        );
        await tx.run(
          `INSERT INTO dmarc_report_policies (period, policy_domain, policy) VALUES (?, ?, ?)
           ON CONFLICT (period, policy_domain) DO UPDATE SET policy = excluded.policy`,
          [p.begin, p.policyDomain, policy],
        );
      });
    },
    async due(before, limit) {
      const rows = await db.all<{ period: number | string; policy_domain: string }>(
        `SELECT period, policy_domain FROM dmarc_report_policies WHERE period < ?
         ORDER BY period, policy_domain LIMIT ?`,
        [before, limit],
      );
      return rows.map((r) => ({ begin: Number(r.period), policyDomain: r.policy_domain }));
    },
    async report(p, limit) {
      const pol = await db.get<{ policy: string }>(
        'SELECT policy FROM dmarc_report_policies WHERE period = ? AND policy_domain = ?',
        [p.begin, p.policyDomain],
      );
      if (!pol) return null;
      const rows = await db.all<{ record: string; count: number | string }>(
        `SELECT record, count FROM dmarc_report_rows WHERE period = ? AND policy_domain = ?
         ORDER BY count DESC, row_key LIMIT ?`,
        [p.begin, p.policyDomain, limit],
      );
      return { policy: pol.policy, rows: rows.map((r) => ({ record: r.record, count: Number(r.count) })) };
    },
    async remove(p) {
      await db.transaction(async (tx) => {
        await tx.run('DELETE FROM dmarc_report_rows WHERE period = ? AND policy_domain = ?', [p.begin, p.policyDomain]);
        await tx.run('DELETE FROM dmarc_report_policies WHERE period = ? AND policy_domain = ?', [
          p.begin,
          p.policyDomain,
        ]);
      });
    },
  };
}
