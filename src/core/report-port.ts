// The contract of the aggregate report sub-stores (DMARC, RFC 9990; SMTP TLS reporting, RFC 8460): what a
// report is made of, gathered per reporting period and policy domain as mail flows, read back and removed
// once the period's report is queued. One row per distinct outcome with a count.

/** One reporting period of one policy domain that has outcomes to report. */
export interface ReportPeriod {
  /** Start of the period, seconds since the epoch (UTC). */
  begin: number;
  policyDomain: string;
}

export interface ReportData {
  /** What the report says of the domain as a whole (DMARC: the published policy), as JSON; the last seen. */
  policy: string;
  /** Distinct outcomes as JSON, each with how many messages or sessions had it. */
  rows: { record: string; count: number }[];
}

export interface PeriodReportStore {
  /** Counts one outcome (`record`, keyed by `key`) and remembers the domain-wide part seen with it. */
  add(period: ReportPeriod, policy: string, key: string, record: string): Promise<void>;
  /** Periods that began before `before` (seconds) and still have outcomes, oldest first, at most `limit`. */
  due(before: number, limit: number): Promise<ReportPeriod[]>;
  /** The period's data (at most `limit` rows, the most frequent first), or null when none. */
  report(period: ReportPeriod, limit: number): Promise<ReportData | null>;
  /** Forgets the period's outcomes (its report is queued, or could not be sent to anyone). */
  remove(period: ReportPeriod): Promise<void>;
}
