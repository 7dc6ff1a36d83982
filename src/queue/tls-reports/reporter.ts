// SMTP TLS reporting (RFC 8460): every outbound session adds its result to the current period's counts
// per recipient domain (store.tlsReports); once a period is over, each domain that publishes a
// "_smtp._tls" record with rua= gets a gzipped JSON report (section 4.4) by mail (multipart/report;
// report-type="tlsrpt", TLS-Report-Domain/-Submitter, "TLS-Required: No" so it reaches a domain whose TLS
// is broken, section 3) or HTTPS POST; domains without a record are forgotten. One node sends
// (reports/periodic.ts).
import { request } from 'node:https';
import { rootCertificates } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { parseDuration } from '../../config/duration.ts';
import type { ReportData, ReportPeriod } from '../../core/report-port.ts';
import { reportMail } from '../../reports/mail.ts';
import { parseUri } from '../../reports/mailto.ts';
import { isoSeconds, PeriodicReports, type ReporterDeps } from '../../reports/periodic.ts';
import { recordTags, ruaList } from '../../reports/tags.ts';
import { hostAddresses } from '../mta-sts/fetch.ts';
import { policyStrings, type TlsSessionResult } from './session.ts';

export type TlsReporterDeps = ReporterDeps & {
  /** Extra trusted CA certificates (queue.tls_ca) for HTTPS report endpoints, beside the system's roots. */
  ca?: string[];
};

/** One stored outcome: the policy applied and the failure (null: a successful session). */
interface Row {
  policy:
    | { type: 'sts'; strings: string[]; mx: string[] }
    | { type: 'tlsa'; strings: string[]; domain: string }
    | { type: 'no-policy-found' };
  failure: TlsSessionResult['failure'];
}

/** The rua URIs of a domain's single "_smtp._tls" record starting v=TLSRPTv1 (section 3), or []. */
export function tlsRptUris(records: string[][]): string[] {
  const rpt = records.map((r) => r.join('')).filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r));
  return rpt.length === 1 ? ruaList(recordTags(rpt[0]).get('rua')) : [];
}

export class TlsReporter extends PeriodicReports {
  private readonly d: TlsReporterDeps;

  constructor(d: TlsReporterDeps) {
    const c = d.config.queue.tls_reports;
    super({
      name: 'tls-reports',
      enabled: () => c.enabled,
      intervalMs: parseDuration(c.interval, 'queue.tls_reports.interval'),
      store: d.store.tlsReports,
      leases: d.store.leases,
      maxRecords: 10_000,
      send: (p, data, end) => this.send(p, data, end + 1),
      log: d.log,
      now: d.now,
    });
    this.d = d;
  }

  /** Counts one session's result. Never throws: reporting must not cost a delivery. */
  async note(r: TlsSessionResult): Promise<void> {
    if (!this.enabled) return;
    const row: Row = {
      policy: r.dane
        ? { type: 'tlsa', strings: r.dane.records, domain: r.dane.base }
        : r.policy
          ? { type: 'sts', strings: policyStrings(r.policy), mx: r.policy.mx }
          : { type: 'no-policy-found' },
      failure: r.failure,
    };
    await this.count(r.domain.toLowerCase(), '{}', JSON.stringify(row));
  }

  /** The report of RFC 8460 section 4.4 for one domain and period (`end`: the second after it). */
  private reportJson(
    p: ReportPeriod,
    end: number,
    data: ReportData,
    meta: { org: string; contact: string; reportId: string },
  ): object {
    const groups = new Map<string, { policy: Row['policy']; ok: number; failed: number; details: object[] }>();
    for (const { record, count } of data.rows) {
      const row = JSON.parse(record) as Row;
      const k = JSON.stringify(row.policy);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { policy: row.policy, ok: 0, failed: 0, details: [] }));
      if (!row.failure) {
        g.ok += count;
        continue;
      }
      g.failed += count;
      const f = row.failure;
      g.details.push({
        'result-type': f.type,
        ...(f.sendingIp ? { 'sending-mta-ip': f.sendingIp } : {}),
        ...(f.mx ? { 'receiving-mx-hostname': f.mx } : {}),
        ...(f.receivingIp ? { 'receiving-ip': f.receivingIp } : {}),
        'failed-session-count': count,
        ...(f.reason ? { 'failure-reason-code': f.reason.slice(0, 200) } : {}),
      });
    }
    return {
      'organization-name': meta.org,
      'date-range': { 'start-datetime': isoSeconds(p.begin), 'end-datetime': isoSeconds(end) },
      'contact-info': meta.contact,
      'report-id': meta.reportId,
      policies: [...groups.values()].map((g) => ({
        policy: {
          'policy-type': g.policy.type,
          ...(g.policy.type !== 'no-policy-found' ? { 'policy-string': g.policy.strings } : {}),
          // The recipient domain for DANE too (the TLSRPT record's domain, section 3); each MX host's TLSA
          // RRset is its own policy entry.
          'policy-domain': p.policyDomain,
          ...(g.policy.type === 'sts' ? { 'mx-host': g.policy.mx } : {}),
        },
        summary: { 'total-successful-session-count': g.ok, 'total-failure-session-count': g.failed },
        ...(g.details.length ? { 'failure-details': g.details } : {}),
      })),
    };
  }

  /** `end`: the second after the period (RFC 8460 section 4.1: 00:00 to 24:00 UTC). */
  private async send(p: ReportPeriod, data: ReportData, end: number): Promise<boolean> {
    const { config, resolver, outbound, log } = this.d;
    const domain = p.policyDomain;
    let uris: string[];
    try {
      uris = tlsRptUris(await resolver.txt(`_smtp._tls.${domain}`));
    } catch {
      uris = [];
    }
    if (uris.length === 0) return false; // the domain asks for no reports: its data goes
    const c = config.queue.tls_reports;
    const hostname = config.server.hostname;
    const from = c.from || `noreply-tlsrpt@${hostname}`;
    const submitter = from.slice(from.lastIndexOf('@') + 1);
    const reportId = `${p.begin}.${domain}@${submitter}`;
    const json = JSON.stringify(
      this.reportJson(p, end, data, { org: c.org_name || hostname, contact: from, reportId }),
    );
    const gz = gzipSync(Buffer.from(json, 'utf8'));
    const fileName = `${submitter}!${domain}!${p.begin}!${end}.json.gz`;
    let sent = false;
    const mailto = uris.map(parseUri).filter((d) => d !== null);
    if (mailto.length) {
      const raw = reportMail({
        from,
        fromName: 'TLS reports',
        to: mailto.map((d) => d.address),
        policyDomain: domain,
        submitter,
        reportId,
        headers: [`TLS-Report-Domain: ${domain}`, `TLS-Report-Submitter: ${submitter}`, 'TLS-Required: No'],
        multipart: 'multipart/report; report-type="tlsrpt"',
        text: `This is an aggregate TLS report (RFC 8460) from ${submitter} for ${domain}.`,
        attachment: { type: 'application/tlsrpt+gzip', fileName, data: gz },
        now: this.now(),
      });
      await outbound.enqueue({ from, recipients: mailto.map((d) => ({ address: d.address })), raw });
      sent = true;
    }
    const https = uris.filter((u) => /^https:\/\//i.test(u));
    for (const uri of https) {
      try {
        await this.post(uri, gz);
        sent = true;
      } catch (e) {
        log.warn({ domain, uri, err: (e as Error).message }, 'tls reports: HTTPS report not accepted');
      }
    }
    // RFC 8460 section 5.5: a report no endpoint took is tried again (reports/periodic.ts keeps a report
    // whose send throws for the next check, KEEP_PERIODS at most), not dropped at the first refusal.
    if (!sent && https.length) throw new Error('no report endpoint accepted the report');
    if (sent) log.info({ domain, begin: p.begin, rows: data.rows.length }, 'tls reports: report sent');
    return sent;
  }

  /**
   * POSTs a report (section 5.4). Section 3 allows ignoring certificate errors; we verify them anyway: the
   * URI comes from the recipient domain's DNS, which could name an address inside our network, and a
   * verified certificate for its host name is what keeps the POST from reaching a service there.
   */
  private async post(uri: string, body: Buffer): Promise<void> {
    const url = new URL(uri);
    const [address] = await hostAddresses(this.d.resolver, url.hostname);
    await new Promise<void>((resolve, reject) => {
      const req = request(
        {
          host: address,
          port: url.port ? Number(url.port) : 443,
          path: `${url.pathname}${url.search}`,
          method: 'POST',
          servername: url.hostname,
          headers: {
            host: url.host,
            'content-type': 'application/tlsrpt+gzip',
            'content-length': body.length,
            'user-agent': 'Petrel TLS reporting',
          },
          ca: this.d.ca?.length ? [...rootCertificates, ...this.d.ca] : undefined,
          rejectUnauthorized: true,
          agent: false,
          timeout: 30_000,
        },
        (res) => {
          res.resume();
          const ok = (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300;
          if (ok) resolve();
          else reject(new Error(`HTTP ${res.statusCode}`));
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer in 30 s')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
