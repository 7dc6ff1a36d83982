// The DMARC reports sub-store's contract: what aggregate reports (RFC 9990) are made of, gathered per
// reporting period and DMARC Policy Domain as mail arrives, read back and removed once the period's report
// is queued. One row per distinct outcome (source IP, identifiers, results, disposition) with a count.

/** One reporting period of one DMARC Policy Domain that has outcomes to report. */
export interface DmarcPeriod {
  /** Start of the period, seconds since the epoch (UTC). */
  begin: number;
  policyDomain: string;
}

export interface DmarcReportData {
  /** The published policy last seen in the period, as JSON (what reporting/record.ts writes). */
  policy: string;
  /** Distinct outcomes as JSON, each with how many messages had it. */
  rows: { record: string; count: number }[];
}

export interface DmarcStore {
  /** Counts one message's outcome (`record`, keyed by `key`) and remembers the policy seen with it. */
  add(period: DmarcPeriod, policy: string, key: string, record: string): Promise<void>;
  /** Periods that began before `before` (seconds) and still have outcomes, oldest first, at most `limit`. */
  due(before: number, limit: number): Promise<DmarcPeriod[]>;
  /** The period's policy and outcomes (at most `limit` rows, the most frequent first), or null when none. */
  report(period: DmarcPeriod, limit: number): Promise<DmarcReportData | null>;
  /** Forgets the period's outcomes (its report is queued, or could not be sent to anyone). */
  remove(period: DmarcPeriod): Promise<void>;
}
