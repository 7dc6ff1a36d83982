// One message's line in a DMARC aggregate report (RFC 9990 section 3.1.1.7-3.1.1.14): the published policy
// it was judged under, and its outcome (source IP, identifiers, aligned results, the disposition we
// applied and why it differs from the policy). Messages with equal outcomes are counted together.

import { recordTags, ruaList } from '../../reports/tags.ts';
import type { AuthFacts } from '../checks/auth.ts';
import type { SpamAction } from '../types.ts';
import type { DkimReportResult, DmarcEvaluation, SpfReportResult } from './evaluation.ts';

type Policy = 'none' | 'quarantine' | 'reject';

/** The policy_published element's content, plus where reports go (the record's rua). */
export interface PublishedPolicy {
  domain: string;
  p: Policy;
  sp?: Policy;
  np?: Policy;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  fo?: string;
  testing: 'y' | 'n';
  rua: string[];
}

export type OverrideType = 'local_policy' | 'mailing_list' | 'other' | 'policy_test_mode' | 'trusted_forwarder';

export interface DmarcOutcome {
  sourceIp: string;
  headerFrom: string;
  /** The MAIL FROM domain; '' for the null reverse-path. */
  envelopeFrom: string;
  disposition: 'none' | 'pass' | 'quarantine' | 'reject';
  dkim: 'pass' | 'fail';
  spf: 'pass' | 'fail';
  reasons: { type: OverrideType; comment?: string }[];
  dkimResults: { domain: string; selector: string; result: DkimReportResult }[];
  spfResult: { domain: string; result: SpfReportResult } | null;
}

const policyTag = (v: string | undefined): Policy | undefined => {
  const x = v?.toLowerCase();
  return x === 'none' || x === 'quarantine' || x === 'reject' ? x : undefined;
};

export function publishedPolicy(ev: DmarcEvaluation): PublishedPolicy {
  const t = recordTags(ev.record);
  const align = (v: string | undefined) => (v?.toLowerCase() === 's' ? 's' : 'r');
  const out: PublishedPolicy = {
    domain: ev.policyDomain,
    p: policyTag(t.get('p')) ?? 'none',
    adkim: align(t.get('adkim')),
    aspf: align(t.get('aspf')),
    testing: t.get('t')?.toLowerCase() === 'y' ? 'y' : 'n',
    rua: ruaList(t.get('rua')),
  };
  const sp = policyTag(t.get('sp'));
  const np = policyTag(t.get('np'));
  if (sp) out.sp = sp;
  if (np) out.np = np;
  if (t.get('fo')) out.fo = t.get('fo');
  return out;
}

/**
 * The outcome of one message. `action` is what happened to it (reject: refused in the session; junk:
 * delivered to Junk). A failing message gets the policy's disposition only when we applied it; otherwise
 * "none" with the reason (RFC 9990 section 3.1.6).
 */
export function outcomeOf(
  ev: DmarcEvaluation,
  facts: Pick<AuthFacts, 'dmarc' | 'arc'>,
  action: SpamAction,
  clientIp: string,
  mailFrom: string,
): DmarcOutcome {
  const reasons: DmarcOutcome['reasons'] = [];
  let disposition: DmarcOutcome['disposition'] = 'pass';
  // A pass that rested only on a DKIM signature leaving part of the body unsigned is a failure for us
  // (spam/checks/auth.ts); the report says so as our local policy.
  const partial = ev.result === 'pass' && !!facts.dmarc.onPartialDkim;
  const why = partial ? { comment: 'its aligned DKIM signature leaves part of the body unsigned (l=)' } : {};
  if (ev.result === 'fail' || partial) {
    disposition = 'none';
    if (ev.policy !== 'none') {
      if (facts.dmarc.enforced && ev.policy === 'reject' && action === 'reject') disposition = 'reject';
      else if (facts.dmarc.enforced && (action === 'junk' || action === 'reject')) disposition = 'quarantine';
      else if (ev.testMode) reasons.push({ type: 'policy_test_mode' });
      else if (facts.arc.trusted)
        reasons.push({ type: 'trusted_forwarder', comment: `ARC sealed by ${facts.arc.sealer} with dmarc=pass` });
      else reasons.push({ type: 'local_policy', ...why });
    }
    if (partial && disposition !== 'none') reasons.push({ type: 'local_policy', ...why });
  }
  return {
    sourceIp: clientIp,
    headerFrom: ev.headerFrom,
    envelopeFrom: mailFrom.includes('@') ? mailFrom.slice(mailFrom.lastIndexOf('@') + 1).toLowerCase() : '',
    disposition,
    dkim: ev.dkimAligned ? 'pass' : 'fail',
    spf: ev.spfAligned ? 'pass' : 'fail',
    reasons,
    dkimResults: ev.dkim,
    spfResult: ev.spf,
  };
}
