// A DMARC evaluation as the auth check records it, for tests of reports: a failure of `domain` by default.
import type { DmarcEvaluation } from '../../src/spam/dmarc-reports/evaluation.ts';

export function failedEvaluation(domain: string, record: string, o: Partial<DmarcEvaluation> = {}): DmarcEvaluation {
  return {
    policyDomain: domain,
    headerFrom: domain,
    record,
    result: 'fail',
    policy: 'none',
    testMode: false,
    dkimAligned: false,
    spfAligned: false,
    dkim: [],
    spf: null,
    ...o,
  };
}
