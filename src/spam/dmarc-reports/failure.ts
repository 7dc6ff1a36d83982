// DMARC failure reports (RFC 9991): when mail from the internet fails DMARC in the way the author domain's
// record asks about (fo=), one ARF message (RFC 5965, with the RFC 6591 authentication-failure fields and
// RFC 9991's Identity-Alignment) goes to each confirmed ruf= address, carrying the original header section
// only. Rate-limited per policy domain, and one report per domain and source address an hour: the point
// is to show the failure conditions, not to count them (section 8.1). The counts are kept in the store's
// rate windows (spam_rates), so a cluster's nodes share one budget rather than each sending its own.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { OutboundQueue, Resolver, Store } from '../../core/ports.ts';
import { rfc5322Date } from '../../mime/date.ts';
import { recordTags, ruaList } from '../../reports/tags.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { AuthFacts } from '../checks/auth.ts';
import { registeredDomain } from '../content/domain.ts';
import type { SpamAction } from '../types.ts';
import { destinations } from './destinations.ts';
import type { DmarcEvaluation } from './evaluation.ts';

const HOUR = 3600_000;

/** Whether the record's fo= options ask for a report of this evaluation (RFC 9989 section 4.7). */
export function failureWanted(ev: DmarcEvaluation): boolean {
  const tags = recordTags(ev.record);
  const fo = (tags.get('fo') ?? '0').split(':').map((o) => o.trim().toLowerCase());
  return fo.some(
    (o) =>
      (o === '0' && !ev.dkimAligned && !ev.spfAligned) ||
      (o === '1' && (!ev.dkimAligned || !ev.spfAligned)) ||
      (o === 'd' && ev.dkim.some((s) => s.result === 'fail')) ||
      (o === 's' && ev.spf?.result === 'fail'),
  );
}

/**
 * The header section of a message (through its last CRLF), for the text/rfc822-headers part: the octets
 * as they came (RFC 6591 section 3.1), 8-bit ones included, never decoded and encoded again.
 */
function headerSection(raw: Buffer): Buffer {
  const end = raw.indexOf('\r\n\r\n');
  return raw.subarray(0, end < 0 ? Math.min(raw.length, 65536) : Math.min(end + 2, 65536));
}

/** RFC 6591 section 3.1 Delivery-Result for our action. */
const deliveryResult = (a: SpamAction) => (a === 'reject' ? 'reject' : a === 'junk' ? 'spam' : 'delivered');

export interface FailureReportInput {
  ev: DmarcEvaluation;
  auth: AuthFacts;
  action: SpamAction;
  clientIp: string;
  mailFrom: string;
  raw: Buffer;
  /** The SPF record of the MAIL FROM domain, when SPF failed for an aligned identity. */
  spfRecord: string | null;
}

/** The ARF message (RFC 5965 section 2) for one failure. */
export function failureReport(
  i: FailureReportInput,
  m: { from: string; to: string[]; hostname: string; now: number },
): Buffer {
  const { ev } = i;
  const failed = [...(ev.dkimAligned ? [] : ['dkim']), ...(ev.spfAligned ? [] : ['spf'])];
  // RFC 9991 section 4: the DKIM identity fields for a failed signature of an aligned domain.
  const org = (d: string) => registeredDomain(d) ?? d;
  const sig = ev.dkimAligned
    ? undefined
    : ev.dkim.find((s) => s.result !== 'pass' && org(s.domain) === org(ev.headerFrom));
  const boundary = `=_petrel_${randomBytes(9).toString('base64url')}`;
  const id = `${randomBytes(8).toString('hex')}.${m.now}@${m.hostname}`;
  // Everything below comes from the sender's message or from DNS: no line break may reach a field.
  const oneLine = (s: string) => s.replace(/[\r\n]+[ \t]*/g, ' ');
  const fields = [
    'Feedback-Type: auth-failure',
    'User-Agent: Petrel/0.1',
    'Version: 1',
    `Original-Mail-From: <${oneLine(i.mailFrom)}>`,
    `Arrival-Date: ${rfc5322Date(m.now)}`,
    `Source-IP: ${i.clientIp}`,
    `Reported-Domain: ${oneLine(ev.headerFrom)}`,
    `Authentication-Results: ${oneLine(i.auth.authResults)}`,
    'Auth-Failure: dmarc',
    `Identity-Alignment: ${failed.length ? failed.join(',') : 'none'}`,
    `Delivery-Result: ${deliveryResult(i.action)}`,
    ...(sig
      ? [
          `DKIM-Domain: ${oneLine(sig.domain)}`,
          `DKIM-Identity: @${oneLine(sig.domain)}`,
          `DKIM-Selector: ${oneLine(sig.selector)}`,
        ]
      : []),
    ...(i.spfRecord && ev.spf
      ? [`SPF-DNS: txt : ${oneLine(ev.spf.domain)} : "${oneLine(i.spfRecord).replace(/"/g, '')}"`]
      : []),
  ];
  const before = [
    `From: DMARC failure reports <${m.from}>`,
    `To: ${m.to.map((a) => `<${a}>`).join(', ')}`,
    `Subject: DMARC failure report for ${oneLine(ev.headerFrom)} from ${i.clientIp}`,
    `Date: ${rfc5322Date(m.now)}`,
    `Message-ID: <${id}>`,
    'Auto-Submitted: auto-generated',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=us-ascii',
    '',
    `A message from ${i.clientIp} with From domain ${ev.headerFrom} failed DMARC at ${m.hostname}`,
    `(policy domain ${ev.policyDomain}; ${failed.join(' and ') || 'no mechanism'} did not authenticate an aligned identity).`,
    'Only its header section is attached.',
    '',
    `--${boundary}`,
    'Content-Type: message/feedback-report',
    '',
    ...fields,
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    '',
  ].join('\r\n');
  const headers = headerSection(i.raw);
  // The part ends with the header section's own last CRLF, then the closing boundary.
  const tail = `${headers.subarray(-2).toString() === '\r\n' ? '' : '\r\n'}\r\n--${boundary}--\r\n`;
  return Buffer.concat([Buffer.from(before), headers, Buffer.from(tail)]);
}

export class DmarcFailureReporter {
  private readonly d: {
    config: Config;
    resolver: Resolver;
    outbound: Pick<OutboundQueue, 'enqueue'>;
    /** The rate windows (spam.countRate), shared by every node using the store. */
    store: Pick<Store, 'spam'>;
    log: Logger;
    now?: () => number;
  };

  constructor(d: DmarcFailureReporter['d']) {
    this.d = d;
  }

  private get now(): number {
    return (this.d.now ?? Date.now)();
  }

  /**
   * Whether one more report for this domain and source may go in this clock hour; counts it if so. Each
   * count is one atomic upsert, so two nodes asking at once are told apart.
   */
  private async admit(domain: string, ip: string): Promise<boolean> {
    const hour = Math.floor(this.now / HOUR) * HOUR;
    const spam = this.d.store.spam;
    if ((await spam.countRate(`dmarc-ruf-source:${domain} ${ip}`, hour)) > 1) return false;
    return (await spam.countRate(`dmarc-ruf:${domain}`, hour)) <= this.d.config.spam.dmarc_failure_reports.max_per_hour;
  }

  /** Looks at one judged message; sends a report if its author domain asks for one. Never throws. */
  async note(
    auth: AuthFacts | undefined,
    action: SpamAction,
    clientIp: string | undefined,
    mailFrom: string,
    raw: Buffer,
  ): Promise<void> {
    const { config, resolver, outbound, log } = this.d;
    const c = config.spam.dmarc_failure_reports;
    const ev = auth?.dmarcReport;
    if (!config.spam.enabled || !c.enabled || !auth || !ev || !clientIp) return;
    try {
      const tags = recordTags(ev.record);
      // RFC 9991 section 2: not for public suffix domains' records (psd=y).
      if (tags.get('psd')?.toLowerCase() === 'y' || !failureWanted(ev)) return;
      const ruf = ruaList(tags.get('ruf'));
      if (ruf.length === 0 || !(await this.admit(ev.policyDomain, clientIp))) return;
      const to = await destinations(resolver, ev.policyDomain, ruf, 'ruf');
      if (to.length === 0) return;
      let spfRecord: string | null = null;
      if (!ev.spfAligned && ev.spf)
        spfRecord =
          (await resolver.txt(ev.spf.domain).catch(() => [] as string[][]))
            .map((r) => r.join(''))
            .find((r) => /^v=spf1(\s|$)/i.test(r)) ?? null;
      const hostname = config.server.hostname;
      const from = c.from || `noreply-dmarc@${hostname}`;
      const message = failureReport(
        { ev, auth, action, clientIp, mailFrom, raw, spfRecord },
        { from, to: to.map((d) => d.address), hostname, now: this.now },
      );
      const fits = to.filter((d) => d.maxBytes === null || message.length <= d.maxBytes);
      if (fits.length === 0) return;
      await outbound.enqueue({ from, recipients: fits.map((d) => ({ address: d.address })), raw: message });
      log.info({ domain: ev.policyDomain, source: clientIp, to: fits.length }, 'dmarc failure report queued');
    } catch (e) {
      log.warn({ err: (e as Error).message, domain: ev.policyDomain }, 'dmarc failure report not sent');
    }
  }
}
