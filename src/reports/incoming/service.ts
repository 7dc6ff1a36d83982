// Reports other servers send about our domains, read from mail as it is delivered (what Stalwart and
// rspamd's DMARC module do): a message that carries a DMARC aggregate report, a TLS report, a failure
// report or a feedback-loop complaint (ARF) about a domain hosted here is parsed and stored in
// `receivedReports`; the message itself is delivered as any other. Best effort, after the message is
// stored: a broken or hostile report only gets logged.
import type { Store } from '../../core/ports.ts';
import type { ReceivedReportKind } from '../../core/received-reports-port.ts';
import { localDomains } from '../../spam/content/sender.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { AbuseReport } from './parse.ts';
import { headerText } from './read.ts';
import { ReportReader } from './reader.ts';

/** The header section looks like a report's: a Subject or fields the RFCs prescribe (RFC 9990 3.5, RFC 8460 5.3, RFC 5965). */
export function looksLikeReport(raw: Buffer): boolean {
  const head = headerText(raw);
  return /^subject:[^\n]*report/im.test(head) || /report-type\s*=|^tls-report-domain:/im.test(head);
}

/** Received reports are kept this long, then pruned (checked at most once a day, as reports arrive). */
export const KEEP_MS = 400 * 86_400_000;

export class IncomingReports {
  private readonly store: Store;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly reader: ReportReader;
  private lastPrune = 0;

  constructor(d: { store: Store; log: Logger; now?: () => number; reader?: ReportReader }) {
    this.store = d.store;
    this.log = d.log.child({ component: 'incoming-reports' });
    this.now = d.now ?? Date.now;
    this.reader = d.reader ?? new ReportReader();
  }

  /** Stops the reader's worker thread (reports not yet read are not). */
  close(): Promise<void> {
    return this.reader.close();
  }

  /**
   * Reads and stores the report `raw` carries, if it is one about a hosted domain. Resolves to what was
   * stored (null: not a report, not ours, already stored, or unreadable). Never throws.
   */
  async inspect(raw: Buffer): Promise<{ kind: ReceivedReportKind; domain: string; org: string } | null> {
    try {
      if (!looksLikeReport(raw)) return null;
      // Read on the reader's worker thread, within its heap and time limits (reader.ts), never here.
      const found = await this.reader.read(raw, this.now());
      if (!found) return null;
      const { kind, report: r } = found;
      const complaint = kind === 'abuse';
      const ours = await localDomains(this.store, this.now());
      // A report about a hosted domain or one of its subdomains; anyone can send one, so nothing else is taken.
      const hosted = [...ours].some((d) => r.domain === d || r.domain.endsWith(`.${d}`));
      if (!hosted) return null;
      const added = await this.store.receivedReports.add({
        kind,
        domain: r.domain,
        org: r.org,
        reportId: r.reportId,
        begin: r.begin,
        end: r.end,
        receivedAt: this.now(),
        summary: JSON.stringify(r),
      });
      if (!added) return null;
      if (this.now() - this.lastPrune > 86_400_000) {
        this.lastPrune = this.now();
        await this.store.receivedReports.prune(this.now() - KEEP_MS);
      }
      if (complaint) {
        const a = r as AbuseReport;
        // Complaints about one of our senders are worth a warning: a user whose mail draws them may have
        // lost their password (see also spam.outbound and smtp.send_limit_*).
        this.log.warn(
          { domain: a.domain, org: a.org, from: a.originalFrom, subject: a.originalSubject, type: a.feedbackType },
          'abuse complaint received',
        );
      } else this.log.info({ kind, domain: r.domain, org: r.org, reportId: r.reportId }, 'report received');
      return { kind, domain: r.domain, org: r.org };
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'a report could not be read');
      return null;
    }
  }
}
