// The two report formats read into one plain shape each: DMARC aggregate XML (RFC 9990 Appendix A, and the
// older RFC 7489 schema reporters still send) and TLS-RPT JSON (RFC 8460 section 4.4). Everything in a
// report comes from a stranger: fields are read defensively, lengths and counts capped, and a report
// missing what identifies it (organisation, id, period, domain) is refused.
import { XMLParser } from 'fast-xml-parser';

/** Records or failure details kept per report; the rest is counted in totals but not listed. */
const MAX_ROWS = 10_000;
const cap = (s: unknown, n = 255) => String(s ?? '').slice(0, n);
const num = (s: unknown) => {
  const n = Number(String(s ?? '').trim());
  return Number.isFinite(n) && n >= 0 ? Math.floor(n) : 0;
};
const list = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);
const lower = (s: unknown) => cap(s).trim().toLowerCase();
/** A field of a parsed value that may be anything: undefined unless `o` is an object. */
const at = (o: unknown, ...path: string[]): unknown => {
  let cur = o;
  for (const k of path) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[k] : undefined;
  return cur;
};

export interface DmarcRecord {
  ip: string;
  count: number;
  disposition: string;
  /** DMARC's aligned results (policy_evaluated). */
  dkim: string;
  spf: string;
  headerFrom: string;
  envelopeFrom: string;
  /** The raw authentication results: every signature, and SPF. */
  dkimAuth: { domain: string; selector: string; result: string }[];
  spfAuth: { domain: string; result: string }[];
}

export interface DmarcAggregate {
  org: string;
  email: string;
  reportId: string;
  begin: number;
  end: number;
  domain: string;
  policy: { p: string; sp: string; pct: number | null; adkim: string; aspf: string };
  totals: { messages: number; pass: number; fail: number };
  records: DmarcRecord[];
}

export class ReportError extends Error {}

export function parseDmarcXml(xml: string): DmarcAggregate {
  // No DTDs in a report: refusing them rules out entity expansion (billion laughs) before the parser runs.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ReportError('a DOCTYPE in a DMARC report');
  const doc = new XMLParser({
    ignoreAttributes: true,
    removeNSPrefix: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => ['record', 'dkim', 'spf', 'reason', 'error'].includes(name),
  }).parse(xml) as unknown;
  const f = at(doc, 'feedback');
  if (!f || typeof f !== 'object') throw new ReportError('no <feedback> element');
  const meta = at(f, 'report_metadata');
  const pol = at(f, 'policy_published');
  const out: DmarcAggregate = {
    org: cap(at(meta, 'org_name')),
    email: cap(at(meta, 'email')),
    reportId: cap(at(meta, 'report_id')),
    begin: num(at(meta, 'date_range', 'begin')),
    end: num(at(meta, 'date_range', 'end')),
    domain: lower(at(pol, 'domain')),
    policy: {
      p: lower(at(pol, 'p')),
      sp: lower(at(pol, 'sp')),
      pct: at(pol, 'pct') === undefined ? null : num(at(pol, 'pct')),
      adkim: lower(at(pol, 'adkim')),
      aspf: lower(at(pol, 'aspf')),
    },
    totals: { messages: 0, pass: 0, fail: 0 },
    records: [],
  };
  if (!out.org || !out.reportId || !out.domain || !out.end) throw new ReportError('report metadata incomplete');
  for (const r of list(at(f, 'record'))) {
    const ev = at(r, 'row', 'policy_evaluated');
    const rec: DmarcRecord = {
      ip: cap(at(r, 'row', 'source_ip'), 45),
      count: num(at(r, 'row', 'count')),
      disposition: lower(at(ev, 'disposition')),
      dkim: lower(at(ev, 'dkim')),
      spf: lower(at(ev, 'spf')),
      headerFrom: lower(at(r, 'identifiers', 'header_from')),
      envelopeFrom: lower(at(r, 'identifiers', 'envelope_from')),
      dkimAuth: list(at(r, 'auth_results', 'dkim'))
        .slice(0, 20)
        .map((d) => ({
          domain: lower(at(d, 'domain')),
          selector: cap(at(d, 'selector')),
          result: lower(at(d, 'result')),
        })),
      spfAuth: list(at(r, 'auth_results', 'spf'))
        .slice(0, 5)
        .map((x) => ({ domain: lower(at(x, 'domain')), result: lower(at(x, 'result')) })),
    };
    out.totals.messages += rec.count;
    if (rec.dkim === 'pass' || rec.spf === 'pass') out.totals.pass += rec.count;
    else out.totals.fail += rec.count;
    if (out.records.length < MAX_ROWS) out.records.push(rec);
  }
  return out;
}

export interface TlsPolicyResult {
  type: string;
  domain: string;
  strings: string[];
  success: number;
  failure: number;
  details: { resultType: string; mx: string; receivingIp: string; sendingIp: string; count: number; reason: string }[];
}

export interface TlsAggregate {
  org: string;
  contact: string;
  reportId: string;
  begin: number;
  end: number;
  domain: string;
  totals: { success: number; failure: number };
  policies: TlsPolicyResult[];
}

const isoSeconds = (s: unknown) => {
  const t = Date.parse(cap(s, 40));
  return Number.isFinite(t) ? Math.floor(t / 1000) : 0;
};

/**
 * Nesting, objects and arrays, and values a TLS report may have: far beyond a real one (five levels, an
 * object per failure detail), far below what fills the heap. JSON.parse builds what it reads in native code,
 * where no heap limit (not a worker's either) can stop it: 20 MB of "[" takes some 700 MB and ends the
 * process, so the text is measured first, in one pass.
 */
const MAX_JSON_DEPTH = 16;
const MAX_JSON_CONTAINERS = 200_000;
const MAX_JSON_VALUES = 1_000_000;

function jsonWithinLimits(s: string): boolean {
  let depth = 0;
  let containers = 0;
  let values = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) {
      // A string: to its closing quote, escapes skipped.
      for (i++; i < s.length && s.charCodeAt(i) !== 0x22; i++) if (s.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH || ++containers > MAX_JSON_CONTAINERS) return false;
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c && ++values > MAX_JSON_VALUES) return false;
  }
  return true;
}

export function parseTlsJson(json: string): TlsAggregate {
  if (!jsonWithinLimits(json)) throw new ReportError('TLS report nested too deep or too large in values');
  let doc: unknown;
  try {
    doc = JSON.parse(json);
  } catch {
    throw new ReportError('TLS report is not JSON');
  }
  if (!doc || typeof doc !== 'object') throw new ReportError('TLS report is not an object');
  const out: TlsAggregate = {
    org: cap(at(doc, 'organization-name')),
    contact: cap(at(doc, 'contact-info')),
    reportId: cap(at(doc, 'report-id')),
    begin: isoSeconds(at(doc, 'date-range', 'start-datetime')),
    end: isoSeconds(at(doc, 'date-range', 'end-datetime')),
    domain: '',
    totals: { success: 0, failure: 0 },
    policies: [],
  };
  let rows = 0;
  for (const p of list(at(doc, 'policies')).slice(0, 100)) {
    const r: TlsPolicyResult = {
      type: lower(at(p, 'policy', 'policy-type')),
      domain: lower(at(p, 'policy', 'policy-domain')),
      strings: list(at(p, 'policy', 'policy-string'))
        .slice(0, 50)
        .map((s) => cap(s, 1000)),
      success: num(at(p, 'summary', 'total-successful-session-count')),
      failure: num(at(p, 'summary', 'total-failure-session-count')),
      details: [],
    };
    for (const d of list(at(p, 'failure-details'))) {
      if (rows++ >= MAX_ROWS) break;
      r.details.push({
        resultType: lower(at(d, 'result-type')),
        mx: lower(at(d, 'receiving-mx-hostname')),
        receivingIp: cap(at(d, 'receiving-ip'), 45),
        sendingIp: cap(at(d, 'sending-mta-ip'), 45),
        count: num(at(d, 'failed-session-count')),
        reason: cap(at(d, 'failure-reason-code')),
      });
    }
    out.totals.success += r.success;
    out.totals.failure += r.failure;
    out.policies.push(r);
  }
  out.domain = out.policies.find((p) => p.domain)?.domain ?? '';
  if (!out.org || !out.reportId || !out.domain || !out.end) throw new ReportError('report metadata incomplete');
  return out;
}

/** One authentication failure report (ARF, RFC 5965 / RFC 6591 / RFC 9991), as kept. */
export interface FailureReport {
  org: string;
  reportId: string;
  begin: number;
  end: number;
  domain: string;
  feedbackType: string;
  authFailure: string;
  sourceIp: string;
  originalMailFrom: string;
  identityAlignment: string;
  deliveryResult: string;
  dkimDomain: string;
  authenticationResults: string;
  /** From and Subject of the message that failed, from the attached header section. */
  originalFrom: string;
  originalSubject: string;
}

/** Header-style "Name: value" lines (continuations joined) as lower-cased names to their first value. */
function fieldMap(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    if (!out.has(k)) out.set(k, line.slice(i + 1).trim());
  }
  return out;
}

/** When the reported message arrived (Arrival-Date, or the older Received-Date), else now: epoch seconds. */
function arrivalSeconds(f: Map<string, string>, now: number): number {
  const arrival = Date.parse(f.get('arrival-date') ?? f.get('received-date') ?? '');
  return Math.floor((Number.isFinite(arrival) ? arrival : now) / 1000);
}

/**
 * An ARF report's fields (`fields`), the original's header section (`headers`), and who sent the report
 * (`org`: the report's From domain) with its Message-ID as the report id.
 */
export function parseFailure(
  fields: string,
  headers: string,
  meta: { org: string; reportId: string; now: number },
): FailureReport {
  const f = fieldMap(fields);
  const h = fieldMap(headers);
  const at = arrivalSeconds(f, meta.now);
  const out: FailureReport = {
    org: cap(meta.org),
    reportId: cap(meta.reportId),
    begin: at,
    end: at,
    domain: lower(f.get('reported-domain')),
    feedbackType: lower(f.get('feedback-type')),
    authFailure: lower(f.get('auth-failure')),
    sourceIp: cap(f.get('source-ip'), 45),
    originalMailFrom: cap(f.get('original-mail-from')),
    identityAlignment: lower(f.get('identity-alignment')),
    deliveryResult: lower(f.get('delivery-result')),
    dkimDomain: lower(f.get('dkim-domain')),
    authenticationResults: cap(f.get('authentication-results'), 1000),
    originalFrom: cap(h.get('from')),
    originalSubject: cap(h.get('subject')),
  };
  if (out.feedbackType !== 'auth-failure')
    throw new ReportError(`not an authentication failure report (${out.feedbackType})`);
  if (!out.org || !out.reportId || !out.domain) throw new ReportError('report metadata incomplete');
  return out;
}

/**
 * One complaint from a feedback loop (ARF, RFC 5965 Feedback-Type abuse, fraud, virus or other): a
 * receiver's user marked mail from us as spam. Kept, with the original's sender (our user) and subject, so
 * the admin sees which account's mail draws complaints: the first sign of a stolen password.
 */
export interface AbuseReport {
  org: string;
  reportId: string;
  begin: number;
  end: number;
  /** The hosted domain complained about: of the original's From, else its MAIL FROM, else Reported-Domain. */
  domain: string;
  feedbackType: string;
  sourceIp: string;
  userAgent: string;
  originalMailFrom: string;
  originalFrom: string;
  originalSubject: string;
  originalMessageId: string;
}

/** The ARF feedback types that are complaints about mail we sent (not authentication failure reports). */
export const COMPLAINT_TYPES = new Set(['abuse', 'fraud', 'virus', 'other']);

/** The Feedback-Type of an ARF report's fields, lower case ('' when absent). */
export function feedbackType(fields: string): string {
  return lower(fieldMap(fields).get('feedback-type'));
}

const domainOf = (address: string) => {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(address);
  return m ? m[1].toLowerCase() : '';
};

/** An ARF complaint's fields and the original's header section, as parseFailure takes them. */
export function parseAbuse(
  fields: string,
  headers: string,
  meta: { org: string; reportId: string; now: number },
): AbuseReport {
  const f = fieldMap(fields);
  const h = fieldMap(headers);
  const at = arrivalSeconds(f, meta.now);
  const out: AbuseReport = {
    org: cap(meta.org),
    reportId: cap(meta.reportId),
    begin: at,
    end: at,
    domain: '',
    feedbackType: lower(f.get('feedback-type')),
    sourceIp: cap(f.get('source-ip'), 45),
    userAgent: cap(f.get('user-agent')),
    originalMailFrom: cap(f.get('original-mail-from')),
    originalFrom: cap(h.get('from')),
    originalSubject: cap(h.get('subject')),
    originalMessageId: cap(h.get('message-id')),
  };
  if (!COMPLAINT_TYPES.has(out.feedbackType)) throw new ReportError(`not a complaint (${out.feedbackType})`);
  out.domain = domainOf(out.originalFrom) || domainOf(out.originalMailFrom) || lower(f.get('reported-domain'));
  if (!out.org || !out.reportId || !out.domain) throw new ReportError('report metadata incomplete');
  return out;
}
