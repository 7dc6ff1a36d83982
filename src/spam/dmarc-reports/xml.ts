// The aggregate report's XML (RFC 9990 section 3.1.1 and Appendix A, namespace dmarc-2.0): elements in the
// order the schema's sequences require; every text escaped (identifiers come from senders).
import type { DmarcOutcome, PublishedPolicy } from './outcome.ts';

export interface ReportMeta {
  orgName: string;
  email: string;
  extraContactInfo?: string;
  reportId: string;
  /** Seconds since the epoch; end is the period's last second. */
  begin: number;
  end: number;
  generator: string;
}

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// XML 1.0 allows no control characters other than tab, LF and CR.
// Only what XML 1.0's Char production allows (section 2.2): not C0 controls, U+FFFE/U+FFFF or a lone
// surrogate, any of which makes the whole report unreadable (a DKIM selector is the sender's to write).
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
const esc = (s: string) => s.replace(NOT_XML_CHAR, '').replace(/[&<>"']/g, (c) => ESC[c]);
const el = (name: string, text: string | number) => `<${name}>${esc(String(text))}</${name}>`;

function record(o: DmarcOutcome, count: number): string {
  const reasons = o.reasons
    .map((r) => `<reason>${el('type', r.type)}${r.comment ? el('comment', r.comment) : ''}</reason>`)
    .join('');
  const dkim = o.dkimResults
    .map((d) => `<dkim>${el('domain', d.domain)}${el('selector', d.selector)}${el('result', d.result)}</dkim>`)
    .join('');
  const spf = o.spfResult
    ? `<spf>${el('domain', o.spfResult.domain)}${el('scope', 'mfrom')}${el('result', o.spfResult.result)}</spf>`
    : '';
  return (
    '  <record>\n' +
    `    <row>${el('source_ip', o.sourceIp)}${el('count', count)}` +
    `<policy_evaluated>${el('disposition', o.disposition)}${el('dkim', o.dkim)}${el('spf', o.spf)}${reasons}</policy_evaluated></row>\n` +
    `    <identifiers>${el('header_from', o.headerFrom)}${el('envelope_from', o.envelopeFrom)}</identifiers>\n` +
    `    <auth_results>${dkim}${spf}</auth_results>\n` +
    '  </record>\n'
  );
}

export function reportXml(
  meta: ReportMeta,
  policy: PublishedPolicy,
  rows: { outcome: DmarcOutcome; count: number }[],
): string {
  const pp = [
    el('domain', policy.domain),
    el('p', policy.p),
    policy.sp ? el('sp', policy.sp) : '',
    policy.np ? el('np', policy.np) : '',
    el('adkim', policy.adkim),
    el('aspf', policy.aspf),
    el('discovery_method', 'treewalk'),
    policy.fo ? el('fo', policy.fo) : '',
    el('testing', policy.testing),
  ].join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">\n' +
    '  <version>1.0</version>\n' +
    '  <report_metadata>' +
    el('org_name', meta.orgName) +
    el('email', meta.email) +
    (meta.extraContactInfo ? el('extra_contact_info', meta.extraContactInfo) : '') +
    el('report_id', meta.reportId) +
    `<date_range>${el('begin', meta.begin)}${el('end', meta.end)}</date_range>` +
    el('generator', meta.generator) +
    '</report_metadata>\n' +
    `  <policy_published>${pp}</policy_published>\n` +
    rows.map((r) => record(r.outcome, r.count)).join('') +
    '</feedback>\n'
  );
}
