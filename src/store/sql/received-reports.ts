// Reports received about our domains (see core/received-reports-port.ts), in SQL: one row per report.
import type { ReceivedReport, ReceivedReportStore } from '../../core/received-reports-port.ts';
import type { SqlDriver } from './driver.ts';

/** The methods that write (the SQLite store runs them on its writer thread). */
export const RECEIVED_REPORT_WRITES = ['add', 'prune'] as const;

interface Row {
  id: number;
  kind: string;
  domain: string;
  org: string;
  report_id: string;
  begin_at: number;
  end_at: number;
  received_at: number;
  summary: string;
}

const toReport = (r: Row): ReceivedReport => ({
  id: Number(r.id),
  kind: r.kind as ReceivedReport['kind'],
  domain: r.domain,
  org: r.org,
  reportId: r.report_id,
  begin: Number(r.begin_at),
  end: Number(r.end_at),
  receivedAt: Number(r.received_at),
  summary: r.summary,
});

export function receivedReportStore(db: SqlDriver): ReceivedReportStore {
  return {
    async add(r) {
      const n = await db.run(
        `INSERT INTO received_reports (kind, domain, org, report_id, begin_at, end_at, received_at, summary)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, org, report_id) DO NOTHING`,
        [r.kind, r.domain, r.org, r.reportId, r.begin, r.end, r.receivedAt, r.summary],
      );
      return n > 0;
    },
    async list({ kind, domain, limit }) {
      const where: string[] = [];
      const params: (string | number)[] = [];
      if (kind) {
        where.push('kind = ?');
        params.push(kind);
      }
      if (domain) {
        where.push('domain = ?');
        params.push(domain);
      }
      const rows = await db.all<Row>(
        `SELECT * FROM received_reports ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
         ORDER BY end_at DESC, id DESC LIMIT ?`,
        [...params, limit],
      );
      return rows.map(toReport);
    },
    async get(id) {
      const r = await db.get<Row>('SELECT * FROM received_reports WHERE id = ?', [id]);
      return r ? toReport(r) : null;
    },
    prune: (before) => db.run('DELETE FROM received_reports WHERE received_at < ?', [before]),
  };
}
