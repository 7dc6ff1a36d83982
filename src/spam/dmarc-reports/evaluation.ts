// What a DMARC aggregate report (RFC 9990 section 3.1.1) needs from one message's authentication: the DMARC
// Policy Domain and its record, the alignment results, and each DKIM signature and the SPF result
// uninterpreted. Read from mailauth's results by the auth check; null when no DMARC record applied.

export type DkimReportResult = 'none' | 'pass' | 'fail' | 'policy' | 'neutral' | 'temperror' | 'permerror';
export type SpfReportResult = DkimReportResult | 'softfail';

export interface DmarcEvaluation {
  /** Where the applied record was published (RFC 9989 section 3.2.5). */
  policyDomain: string;
  /** The RFC5322.From domain. */
  headerFrom: string;
  /** The record's text, as published. */
  record: string;
  /** pass or fail: records with a temporary error have no outcome to report. */
  result: 'pass' | 'fail';
  /** The policy that applied to this author domain (p, sp or np). */
  policy: 'none' | 'quarantine' | 'reject';
  testMode: boolean;
  dkimAligned: boolean;
  spfAligned: boolean;
  /** Every signature's result, the ones that count for DMARC first (RFC 9990 section 3.1.3), at most 100. */
  dkim: { domain: string; selector: string; result: DkimReportResult }[];
  /** The MAIL FROM (or, for the null reverse-path, HELO) identity's result. */
  spf: { domain: string; result: SpfReportResult } | null;
}

/** The parts of mailauth's authenticate() result read here. */
interface MailauthResult {
  dkim?: {
    results?: { signingDomain?: string; selector?: string; status?: { result?: string; aligned?: unknown } }[];
  };
  spf?: { domain?: string; status?: { result?: string } } | false;
  dmarc?:
    | {
        policyDomain?: string;
        policy?: string;
        testMode?: boolean;
        rr?: string;
        alignment?: { spf?: { result?: unknown }; dkim?: { result?: unknown } };
        status?: { result?: string; header?: { from?: string } };
      }
    | false;
}

const DKIM_RESULTS = new Set(['none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror']);
const dkimResult = (r: string | undefined): DkimReportResult =>
  r === 'temperr' ? 'temperror' : DKIM_RESULTS.has(r ?? '') ? (r as DkimReportResult) : 'none';
const spfResult = (r: string | undefined): SpfReportResult => (r === 'softfail' ? 'softfail' : dkimResult(r));

export function dmarcEvaluation(res: MailauthResult): DmarcEvaluation | null {
  const d = res.dmarc;
  const result = d ? d.status?.result : undefined;
  if (!d || (result !== 'pass' && result !== 'fail') || !d.policyDomain || !d.rr || !d.status?.header?.from)
    return null;
  const policy = d.policy === 'reject' || d.policy === 'quarantine' ? d.policy : 'none';
  const headerFrom = d.status.header.from.toLowerCase();
  const sigs = (res.dkim?.results ?? [])
    .filter((r) => r.signingDomain && r.selector)
    .map((r) => {
      const domain = String(r.signingDomain).toLowerCase();
      const result = dkimResult(r.status?.result);
      // RFC 9990 section 3.1.3: strictly aligned passes, then relaxed, then other passes, then the rest.
      const rank = result !== 'pass' ? 3 : domain === headerFrom ? 0 : r.status?.aligned ? 1 : 2;
      return { domain, selector: String(r.selector), result, rank };
    })
    .sort((a, b) => a.rank - b.rank)
    .slice(0, 100)
    .map(({ rank: _rank, ...s }) => s);
  const spfRes = res.spf || null;
  const spf = spfRes?.domain ? { domain: spfRes.domain.toLowerCase(), result: spfResult(spfRes.status?.result) } : null;
  return {
    policyDomain: d.policyDomain.toLowerCase(),
    headerFrom,
    record: d.rr,
    result,
    policy,
    testMode: !!d.testMode,
    dkimAligned: !!d.alignment?.dkim?.result,
    spfAligned: !!d.alignment?.spf?.result,
    dkim: sigs,
    spf,
  };
}
