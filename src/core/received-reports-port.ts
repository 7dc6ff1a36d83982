// Aggregate reports other servers send about our domains (DMARC, RFC 9990; SMTP TLS, RFC 8460), read from
// mail that arrives for a hosted domain and kept for the admin: what the store holds of each.

/**
 * dmarc and tls: aggregate reports; failure: one DMARC (or DKIM/SPF) failure report (ARF, RFC 9991);
 * abuse: one complaint about mail we sent, from a feedback loop (ARF, RFC 5965).
 */
export type ReceivedReportKind = 'dmarc' | 'tls' | 'failure' | 'abuse';

export interface ReceivedReport {
  id: number;
  kind: ReceivedReportKind;
  /** The hosted domain the report is about (DMARC policy domain, TLS-RPT policy domain). */
  domain: string;
  /** Who sent it: the reporting organisation. */
  org: string;
  /** The sender's report id (with kind and org it identifies the report: a re-sent one is kept once). */
  reportId: string;
  /** The period it covers, epoch seconds. */
  begin: number;
  end: number;
  receivedAt: number;
  /** The report itself, normalised (reports/incoming/{dmarc,tlsrpt}.ts), as JSON. */
  summary: string;
}

export interface ReceivedReportStore {
  /** Stores a report; false when one with the same kind, org and report id is already there. */
  add(r: Omit<ReceivedReport, 'id'>): Promise<boolean>;
  /** Newest first (by the end of the period), at most `limit`; filtered by kind and domain when given. */
  list(opts: { kind?: ReceivedReportKind; domain?: string; limit: number }): Promise<ReceivedReport[]>;
  get(id: number): Promise<ReceivedReport | null>;
  /** Removes reports received before `before` (epoch ms); returns how many. */
  prune(before: number): Promise<number>;
}
