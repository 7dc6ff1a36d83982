// The aggregate report sub-stores in SQL (see core/report-port.ts), one pair of tables each (DMARC:
// ${rowsTable} / ${policies}; TLS reporting: tls_report_*): per period and policy domain,
// one row per distinct outcome with a count (one upsert each on both dialects), and the policy last seen.
import type { PeriodReportStore } from '../../core/report-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const REPORT_WRITES = ['add', 'remove'] as const;

export const dmarcStore = (db: SqlDriver) => periodReportStore(db, 'dmarc_report');
export const tlsReportStore = (db: SqlDriver) => periodReportStore(db, 'tls_report');

/** `prefix`: the tables' common start (a constant of ours, never input). */
function periodReportStore(db: SqlDriver, prefix: 'dmarc_report' | 'tls_report'): PeriodReportStore {
  const rowsTable = `${prefix}_rows`;
  const policies = `${prefix}_policies`;
  return {
    async add(p, policy, key, record) {
      await db.transaction(async (tx) => {
        await tx.run(
          `INSERT INTO ${rowsTable} (period, policy_domain, row_key, record, count) VALUES (?, ?, ?, ?, 1)
           ON CONFLICT (period, policy_domain, row_key) DO UPDATE SET count = ${rowsTable}.count + 1`,
          [p.begin, p.policyDomain, key, record],
        );
        await tx.run(
          `INSERT INTO ${policies} (period, policy_domain, policy) VALUES (?, ?, ?)
           ON CONFLICT (period, policy_domain) DO UPDATE SET policy = excluded.policy`,
          [p.begin, p.policyDomain, policy],
        );
      });
    },
    async due(before, limit) {
      const rows = await db.all<{ period: number | string; policy_domain: string }>(
        `SELECT period, policy_domain FROM ${policies} WHERE period < ?
         ORDER BY period, policy_domain LIMIT ?`,
        [before, limit],
      );
      return rows.map((r) => ({ begin: Number(r.period), policyDomain: r.policy_domain }));
    },
    async report(p, limit) {
      const pol = await db.get<{ policy: string }>(
        `SELECT policy FROM ${policies} WHERE period = ? AND policy_domain = ?`,
        [p.begin, p.policyDomain],
      );
      if (!pol) return null;
      const rows = await db.all<{ record: string; count: number | string }>(
        `SELECT record, count FROM ${rowsTable} WHERE period = ? AND policy_domain = ?
         ORDER BY count DESC, row_key LIMIT ?`,
        [p.begin, p.policyDomain, limit],
      );
      return { policy: pol.policy, rows: rows.map((r) => ({ record: r.record, count: Number(r.count) })) };
    },
    async remove(p) {
      await db.transaction(async (tx) => {
        await tx.run(`DELETE FROM ${rowsTable} WHERE period = ? AND policy_domain = ?`, [p.begin, p.policyDomain]);
        await tx.run(`DELETE FROM ${policies} WHERE period = ? AND policy_domain = ?`, [p.begin, p.policyDomain]);
      });
    },
  };
}
