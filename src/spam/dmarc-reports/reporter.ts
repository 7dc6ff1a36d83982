// DMARC aggregate reporting (RFC 9990): each message from the internet whose author domain publishes a
// DMARC record with rua= adds its outcome to the current period's counts (store.dmarc); once a period is
// over, each policy domain's report is gzipped and queued to the confirmed destinations through the
// outbound queue (DKIM-signed when the From domain is ours), by reports/periodic.ts (one node at a time).
// Report-ID, Message-ID and file name derive from the period and domain, so a report re-sent after a
// crash between queueing and forgetting it carries the same identifiers (RFC 9990 section 3.5.4).
import { gzipSync } from 'node:zlib';
import { parseDuration } from '../../config/duration.ts';
import type { ReportData, ReportPeriod } from '../../core/report-port.ts';
import { reportMail } from '../../reports/mail.ts';
import { isoSeconds, PeriodicReports, type ReporterDeps } from '../../reports/periodic.ts';
import type { AuthFacts } from '../checks/auth.ts';
import type { SpamAction } from '../types.ts';
import { destinations } from './destinations.ts';
import { type DmarcOutcome, outcomeOf, type PublishedPolicy, publishedPolicy } from './outcome.ts';
import { reportXml } from './xml.ts';

export type DmarcReporterDeps = ReporterDeps;

export class DmarcReporter extends PeriodicReports {
  private readonly d: DmarcReporterDeps;

  constructor(d: DmarcReporterDeps) {
    const c = d.config.spam.dmarc_reports;
    super({
      name: 'dmarc-reports',
      enabled: () => d.config.spam.enabled && c.enabled,
      intervalMs: parseDuration(c.interval, 'spam.dmarc_reports.interval'),
      store: d.store.dmarc,
      leases: d.store.leases,
      maxRecords: c.max_records,
      send: (p, data, end) => this.send(p, data, end),
      log: d.log,
      now: d.now,
    });
    this.d = d;
  }

  /** Counts one judged message (after its verdict). Never throws: reporting must not cost a delivery. */
  async note(
    auth: AuthFacts | undefined,
    action: SpamAction,
    clientIp: string | undefined,
    mailFrom: string,
  ): Promise<void> {
    const ev = auth?.dmarcReport;
    if (!this.enabled || !ev || !clientIp) return;
    const policy = publishedPolicy(ev);
    if (!policy.rua.length) return;
    const outcome = outcomeOf(ev, auth, action, clientIp, mailFrom);
    await this.count(ev.policyDomain, JSON.stringify(policy), JSON.stringify(outcome));
  }

  /** Builds and queues one report; false when nobody may receive it. */
  private async send(p: ReportPeriod, data: ReportData, end: number): Promise<boolean> {
    const { config, resolver, outbound, log } = this.d;
    const c = config.spam.dmarc_reports;
    const policy = JSON.parse(data.policy) as PublishedPolicy;
    const to = await destinations(resolver, policy.domain, policy.rua);
    if (to.length === 0) {
      log.info({ domain: policy.domain, rua: policy.rua }, 'dmarc reports: no confirmed destination; report dropped');
      return false;
    }
    const hostname = config.server.hostname;
    const from = c.from || `noreply-dmarc@${hostname}`;
    const begin = p.begin;
    const reportId = `${begin}.${policy.domain}@${hostname}`;
    const rows = data.rows.map((r) => ({ outcome: JSON.parse(r.record) as DmarcOutcome, count: r.count }));
    const xml = reportXml(
      {
        orgName: c.org_name || hostname,
        email: from,
        extraContactInfo: c.contact_info || undefined,
        reportId,
        begin,
        end,
        generator: 'Petrel',
      },
      policy,
      rows,
    );
    const raw = reportMail({
      from,
      fromName: 'DMARC aggregate reports',
      to: to.map((d) => d.address),
      policyDomain: policy.domain,
      submitter: hostname,
      reportId,
      text:
        `DMARC aggregate report (RFC 9990) from ${hostname} for ${policy.domain},\r\n` +
        `${isoSeconds(begin)} to ${isoSeconds(end + 1)}: ${rows.reduce((n, r) => n + r.count, 0)} messages in ${rows.length} records.`,
      attachment: {
        type: 'application/gzip',
        fileName: `${hostname}!${policy.domain}!${begin}!${end}.xml.gz`,
        data: gzipSync(Buffer.from(xml, 'utf8')),
      },
      now: this.now(),
    });
    const fits = to.filter((d) => d.maxBytes === null || raw.length <= d.maxBytes);
    if (fits.length < to.length)
      log.info(
        { domain: policy.domain, size: raw.length, skipped: to.filter((d) => !fits.includes(d)).map((d) => d.address) },
        'dmarc reports: report larger than a destination accepts',
      );
    if (fits.length === 0) return false;
    await outbound.enqueue({ from, recipients: fits.map((d) => ({ address: d.address })), raw });
    log.info({ domain: policy.domain, begin, records: rows.length, to: fits.length }, 'dmarc reports: report queued');
    return true;
  }
}
