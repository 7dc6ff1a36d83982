// DMARC aggregate reporting (RFC 9990): each message from the internet whose author domain publishes a
// DMARC record with rua= adds its outcome to the current period's counts (store.dmarc); once a period is
// over, one node (the "dmarc-reports" lease) builds each policy domain's report, gzips it, and queues it
// to the confirmed destinations through the outbound queue (DKIM-signed when the From domain is ours).
// Report-ID, Message-ID and file name derive from the period and domain, so a report re-sent after a
// crash between queueing and forgetting it carries the same identifiers (RFC 9990 section 3.5.4).
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { parseDuration } from '../../config/duration.ts';
import type { Config } from '../../config/schema.ts';
import type { DmarcPeriod } from '../../core/dmarc-port.ts';
import type { OutboundQueue, Resolver, Store } from '../../core/ports.ts';
import { rfc5322Date } from '../../queue/dsn.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { AuthFacts } from '../checks/auth.ts';
import type { SpamAction } from '../types.ts';
import { destinations } from './destinations.ts';
import { type DmarcOutcome, outcomeOf, type PublishedPolicy, publishedPolicy } from './outcome.ts';
import { reportXml } from './xml.ts';

export interface DmarcReporterDeps {
  config: Config;
  store: Store;
  resolver: Resolver;
  outbound: Pick<OutboundQueue, 'enqueue'>;
  log: Logger;
  now?: () => number;
}

const LEASE = 'dmarc-reports';
const LEASE_MS = 10 * 60_000;
/** Periods a failing report is retried before its data is dropped. */
const KEEP_PERIODS = 3;

export class DmarcReporter {
  private readonly d: DmarcReporterDeps;
  private readonly intervalMs: number;
  private readonly owner = randomBytes(8).toString('hex');
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(d: DmarcReporterDeps) {
    this.d = d;
    this.now = d.now ?? Date.now;
    this.intervalMs = Math.max(
      1000,
      parseDuration(d.config.spam.dmarc_reports.interval, 'spam.dmarc_reports.interval'),
    );
  }

  get enabled(): boolean {
    return this.d.config.spam.enabled && this.d.config.spam.dmarc_reports.enabled;
  }

  /** The period a time falls in: its first second. */
  periodOf(ms: number): number {
    return (Math.floor(ms / this.intervalMs) * this.intervalMs) / 1000;
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
    const record = JSON.stringify(outcome);
    const key = createHash('sha256').update(record).digest('base64url');
    try {
      await this.d.store.dmarc.add(
        { begin: this.periodOf(this.now()), policyDomain: ev.policyDomain },
        JSON.stringify(policy),
        key,
        record,
      );
    } catch (e) {
      this.d.log.warn({ err: (e as Error).message }, 'dmarc reports: outcome not recorded');
    }
  }

  /** Checks for ended periods now and then (a quarter of the period, between 1 s and 10 min). */
  start(): void {
    if (!this.enabled || this.timer) return;
    const every = Math.min(Math.max(this.intervalMs / 4, 1000), 600_000);
    this.timer = setInterval(() => {
      this.runOnce().catch((e) => this.d.log.warn({ err: (e as Error).message }, 'dmarc reports: run failed'));
    }, every);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** Sends the reports of every ended period (if this node holds the lease); returns how many were queued. */
  runOnce(at?: number): Promise<number> {
    this.running ??= this.sendDue(at ?? this.now()).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async sendDue(at: number): Promise<number> {
    const { store, log } = this.d;
    if (!(await store.leases.acquire(LEASE, this.owner, LEASE_MS, at))) return 0;
    let sent = 0;
    try {
      const current = this.periodOf(at);
      const skipped = new Set<string>();
      for (;;) {
        const due = (await store.dmarc.due(current, 50 + skipped.size)).filter(
          (p) => !skipped.has(`${p.begin} ${p.policyDomain}`),
        );
        if (due.length === 0) break;
        for (const p of due) {
          try {
            if (await this.send(p)) sent++;
            await store.dmarc.remove(p);
          } catch (e) {
            const stale = current - p.begin >= (KEEP_PERIODS * this.intervalMs) / 1000;
            log.warn(
              { err: (e as Error).message, domain: p.policyDomain, begin: p.begin, dropped: stale },
              'dmarc reports: report not queued',
            );
            if (stale) await store.dmarc.remove(p);
            else skipped.add(`${p.begin} ${p.policyDomain}`);
          }
          await store.leases.renew([LEASE], this.owner, LEASE_MS, this.now());
        }
      }
    } finally {
      await store.leases.release(LEASE, this.owner);
    }
    return sent;
  }

  /** Builds and queues one report; false when nobody may receive it (nothing to queue). */
  private async send(p: DmarcPeriod): Promise<boolean> {
    const { config, store, resolver, outbound, log } = this.d;
    const c = config.spam.dmarc_reports;
    const data = await store.dmarc.report(p, c.max_records);
    if (!data || data.rows.length === 0) return false;
    const policy = JSON.parse(data.policy) as PublishedPolicy;
    const to = await destinations(resolver, policy.domain, policy.rua);
    if (to.length === 0) {
      log.info({ domain: policy.domain, rua: policy.rua }, 'dmarc reports: no confirmed destination; report dropped');
      return false;
    }
    const hostname = config.server.hostname;
    const from = c.from || `noreply-dmarc@${hostname}`;
    const begin = p.begin;
    const end = begin + this.intervalMs / 1000 - 1;
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
    const raw = reportMessage({
      from,
      to: to.map((d) => d.address),
      hostname,
      policyDomain: policy.domain,
      reportId,
      fileName: `${hostname}!${policy.domain}!${begin}!${end}.xml.gz`,
      gzip: gzipSync(Buffer.from(xml, 'utf8')),
      summary: `${rows.reduce((n, r) => n + r.count, 0)} messages in ${rows.length} records`,
      begin,
      end,
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

/** The report as a message (RFC 9990 section 3.5.2): a short text part and the gzipped XML. */
export function reportMessage(m: {
  from: string;
  to: string[];
  hostname: string;
  policyDomain: string;
  reportId: string;
  fileName: string;
  gzip: Buffer;
  summary: string;
  begin: number;
  end: number;
  now: number;
}): Buffer {
  const boundary = `=_petrel_${randomBytes(9).toString('base64url')}`;
  const iso = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');
  const b64 = m.gzip.toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.from(
    [
      `From: DMARC aggregate reports <${m.from}>`,
      `To: ${m.to.map((a) => `<${a}>`).join(', ')}`,
      `Subject: Report Domain: ${m.policyDomain} Submitter: ${m.hostname} Report-ID: <${m.reportId}>`,
      `Date: ${rfc5322Date(m.now)}`,
      `Message-ID: <${m.reportId}>`,
      // RFC 3834 section 5: generated by a machine; auto-responders leave it alone.
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      `DMARC aggregate report (RFC 9990) from ${m.hostname} for ${m.policyDomain},`,
      `${iso(m.begin)} to ${iso(m.end + 1)}: ${m.summary}.`,
      '',
      `--${boundary}`,
      `Content-Type: application/gzip; name="${m.fileName}"`,
      `Content-Disposition: attachment; filename="${m.fileName}"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64.replace(/\r\n$/, ''),
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}
