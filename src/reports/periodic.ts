// Periodic aggregate reports (DMARC, RFC 9990; SMTP TLS reporting, RFC 8460): periods of a fixed length
// counted from 1970-01-01 UTC (24h: UTC days). Once a period is over, one node (a lease in the store) turns
// each policy domain's data into a report and queues it; the data goes once queued, or when nobody may
// receive it. A report that cannot be queued is retried at the next check and dropped KEEP_PERIODS later.
import { createHash, randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import type { LeaseStore } from '../core/lease-port.ts';
import type { OutboundQueue, Resolver, Store } from '../core/ports.ts';
import type { PeriodReportStore, ReportData, ReportPeriod } from '../core/report-port.ts';
import type { Logger } from '../telemetry/log.ts';

/** What a reporter built on PeriodicReports needs from the server. */
export interface ReporterDeps {
  config: Config;
  store: Store;
  resolver: Resolver;
  outbound: Pick<OutboundQueue, 'enqueue'>;
  log: Logger;
  now?: () => number;
}

export interface PeriodicReportsOptions {
  /** Name of the lease and of the reports in logs ("dmarc-reports", "tls-reports"). */
  name: string;
  /** Whether outcomes are counted and reports sent (read on every call: config may say no). */
  enabled: () => boolean;
  intervalMs: number;
  store: PeriodReportStore;
  leases: LeaseStore;
  /** Most rows read into one report. */
  maxRecords: number;
  /** Builds and queues one period's report; false when it went to nobody. `end`: its last second. */
  send(period: ReportPeriod, data: ReportData, end: number): Promise<boolean>;
  log: Logger;
  now?: () => number;
}

/** RFC 3339 UTC time of a second since the epoch, without fractions (report date ranges). */
export const isoSeconds = (s: number) => new Date(s * 1000).toISOString().replace('.000Z', 'Z');

const LEASE_MS = 10 * 60_000;
const KEEP_PERIODS = 3;

export class PeriodicReports {
  private readonly o: PeriodicReportsOptions;
  private readonly owner = randomBytes(8).toString('hex');
  readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(o: PeriodicReportsOptions) {
    this.o = { ...o, intervalMs: Math.max(1000, o.intervalMs) };
    this.now = o.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.o.enabled();
  }

  /** Counts one outcome of `domain` in the current period. Never throws: reports must not cost mail. */
  protected async count(domain: string, policy: string, record: string): Promise<void> {
    const key = createHash('sha256').update(record).digest('base64url');
    try {
      await this.o.store.add({ begin: this.periodOf(this.now()), policyDomain: domain }, policy, key, record);
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, `${this.o.name}: outcome not recorded`);
    }
  }

  /** The period a time falls in: its first second. */
  periodOf(ms: number): number {
    return (Math.floor(ms / this.o.intervalMs) * this.o.intervalMs) / 1000;
  }

  /** Checks for ended periods now and then (a quarter of the period, between 1 s and 10 min). */
  start(): void {
    if (this.timer || !this.enabled) return;
    const every = Math.min(Math.max(this.o.intervalMs / 4, 1000), 600_000);
    this.timer = setInterval(() => {
      this.runOnce().catch((e) => this.o.log.warn({ err: (e as Error).message }, `${this.o.name}: run failed`));
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
    const { store, leases, log, name } = this.o;
    if (!(await leases.acquire(name, this.owner, LEASE_MS, at))) return 0;
    let sent = 0;
    try {
      const current = this.periodOf(at);
      const skipped = new Set<string>();
      for (;;) {
        const due = (await store.due(current, 50 + skipped.size)).filter(
          (p) => !skipped.has(`${p.begin} ${p.policyDomain}`),
        );
        if (due.length === 0) break;
        for (const p of due) {
          try {
            const data = await store.report(p, this.o.maxRecords);
            if (data && data.rows.length > 0 && (await this.o.send(p, data, p.begin + this.o.intervalMs / 1000 - 1)))
              sent++;
            await store.remove(p);
          } catch (e) {
            const stale = current - p.begin >= (KEEP_PERIODS * this.o.intervalMs) / 1000;
            log.warn(
              { err: (e as Error).message, domain: p.policyDomain, begin: p.begin, dropped: stale },
              `${name}: report not queued`,
            );
            if (stale) await store.remove(p);
            else skipped.add(`${p.begin} ${p.policyDomain}`);
          }
          await leases.renew([name], this.owner, LEASE_MS, this.now());
        }
      }
    } finally {
      await leases.release(name, this.owner);
    }
    return sent;
  }
}
