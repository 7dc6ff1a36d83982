// The daily Junk report ([spam.junk_report]): once a day, at `hour` (server local time), each account the
// filter filed junk for in the 24 hours before gets a plain-text message in its INBOX listing those
// messages (date, sender, subject, score), least likely spam first, as Proxmox Mail Gateway's spam report
// and mailcow's quarantine notifications do: users rarely look in Junk, and retention empties it. Only
// what the filter put there is listed (a verdict row of action junk for that very copy): what users moved
// or APPENDed there themselves is theirs. One node sends each day's reports: a lease named after the day,
// taken and never given back, so a restart or a second node does not send them twice (a node that dies
// mid-run leaves the rest of that day's reports unsent). A user who said "never" at /account/spam gets none.
import { randomBytes } from 'node:crypto';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { LeaseStore } from '../core/lease-port.ts';
import type { MessageRecord } from '../core/model.ts';
import type { StoredBody } from '../core/ports.ts';
import { rfc5322Date } from '../mime/date.ts';
import type { EnvelopeAddress } from '../mime/types.ts';
import { releaseKey, releaseToken } from '../spam/release-token.ts';
import type { Logger } from '../telemetry/log.ts';
import { Job } from './job.ts';
import type { MailService } from './service.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** How often the schedule is looked at, and how late a day's reports may still go out. */
const TICK_MS = 10 * 60_000;
const LATEST_MS = 12 * HOUR;
const PAGE = 500;
/** Junk messages looked at per account and day at most (listed: max_listed; the rest only counted). */
const PER_ACCOUNT = 2000;

interface Line {
  score: number;
  date: number;
  from: string;
  subject: string;
  /** Its one-click "Not spam" link (spam/release-token.ts), when the server's web address is known. */
  release?: string;
}

export class JunkReport {
  private readonly job: Job<number>;
  private readonly d: { config: Config; mail: MailService; leases: LeaseStore; log: Logger; pageSize?: number };

  /** `pageSize`: messages read per query (tests make it small to cross pages). */
  constructor(d: { config: Config; mail: MailService; leases: LeaseStore; log: Logger; pageSize?: number }) {
    this.d = d;
    this.job = new Job(
      (now) => this.due(now),
      (e) => this.d.log.warn({ err: e }, 'junk report: run failed'),
    );
  }

  private get cfg() {
    return this.d.config.spam.junk_report;
  }

  /** Looks at the schedule a minute after start, then every ten minutes. */
  start(): void {
    if (this.cfg.enabled) this.job.start(60_000, TICK_MS);
  }

  stop(): Promise<void> {
    return this.job.stop();
  }

  /** The latest report time at or before `now`: today's `hour`, else yesterday's. */
  dueAt(now: number): number {
    const d = new Date(now);
    d.setHours(this.cfg.hour, 0, 0, 0);
    if (d.getTime() > now) d.setDate(d.getDate() - 1);
    return d.getTime();
  }

  /** Sends the reports due at `now` unless they went out already (or are over 12 hours late); returns how many. */
  tick(now = Date.now()): Promise<number> {
    return this.job.run(now);
  }

  private async due(now: number): Promise<number> {
    if (!this.cfg.enabled) return 0;
    const at = this.dueAt(now);
    if (now - at > LATEST_MS) return 0;
    // Held for longer than the day it names, never released, by an owner made for this one run (a lease is
    // granted again to its own owner): the day's reports are sent once, by this node or another.
    const owner = randomBytes(8).toString('hex');
    if (!(await this.d.leases.acquire(`junk-report:${at}`, owner, 2 * DAY, now))) return 0;
    const sent = await this.send(at - DAY, at);
    if (sent) this.d.log.info({ reports: sent }, 'junk report: sent');
    return sent;
  }

  /**
   * One report per account for the junk filed in [from, to), read one account after the other (memory for
   * one account's messages at a time, however many accounts there are).
   */
  async send(from: number, to: number): Promise<number> {
    const { mail } = this.d;
    const size = this.d.pageSize ?? PAGE;
    let sent = 0;
    const deliver = async (accountId: number, recs: MessageRecord[]) => {
      try {
        if (await this.report(accountId, recs, from, to)) sent++;
      } catch (e) {
        this.d.log.warn({ err: e, accountId }, 'junk report: not delivered');
      }
    };
    let accountId = 0;
    let recs: MessageRecord[] = [];
    for (let after = { accountId: 0, id: 0 }; ; ) {
      const page = await mail.store.savedBetween('\\Junk', from, to, after, size);
      for (const m of page) {
        if (m.accountId !== accountId) {
          if (recs.length) await deliver(accountId, recs);
          accountId = m.accountId;
          recs = [];
        }
        if (recs.length < PER_ACCOUNT) recs.push(m);
      }
      if (page.length < size) break;
      const last = page[page.length - 1];
      after = { accountId: last.accountId, id: last.id };
    }
    if (recs.length) await deliver(accountId, recs);
    return sent;
  }

  private async report(accountId: number, recs: MessageRecord[], from: number, to: number): Promise<boolean> {
    const { mail } = this.d;
    const account = await mail.store.getAccount(accountId);
    if (!account) return false;
    if ((await mail.store.spam.userJunkReport(accountId)) === false) return false;
    const lines: Line[] = [];
    const bodies = await mail.bodiesFor([...new Set(recs.map((r) => r.bodyId))]);
    // Links live as long as Junk keeps the message (30 days when it keeps it for ever).
    const portal = this.portal();
    const key = portal ? await releaseKey(mail.store.oauth) : null;
    const keepMs = parseDuration(this.d.config.retention.junk, 'retention.junk') || 30 * DAY;
    const verdicts = await mail.store.spam.firstVerdicts(
      accountId,
      recs.map((r) => r.id),
    );
    for (const r of recs) {
      const v = verdicts.get(r.id);
      if (v?.action !== 'junk') continue; // put there by the user, not by the filter
      const b = bodies.get(r.bodyId);
      const claims = { accountId, mailboxId: r.mailboxId, uid: r.uid, expiresAt: r.saveDate + keepMs };
      lines.push({
        score: v.score,
        date: r.internalDate,
        from: senderOf(b),
        subject: b?.subject || '(no subject)',
        ...(key && { release: `${portal}/account/release?t=${releaseToken(key, claims)}` }),
      });
    }
    if (lines.length === 0) return false;
    lines.sort((a, b) => a.score - b.score || a.date - b.date);
    const raw = this.compose(account.address, lines, from, to);
    // The server's own mail, as DSNs are: a full mailbox still gets its report of what went to Junk.
    await mail.deliver(raw, [{ accountId, skipQuota: true }]);
    return true;
  }

  /** The server's web address for links (oauth.issuer), or null when it is not configured. */
  private portal(): string | null {
    const { oauth } = this.d.config;
    return oauth.enabled && oauth.issuer ? oauth.issuer.replace(/\/+$/, '') : null;
  }

  private compose(address: string, lines: Line[], from: number, to: number): Buffer {
    const { config } = this.d;
    const domain = address.slice(address.lastIndexOf('@') + 1);
    const n = lines.length;
    const shown = lines.slice(0, this.cfg.max_listed);
    const keepMs = parseDuration(config.retention.junk, 'retention.junk');
    const text = [
      `${n === 1 ? 'This message was' : `These ${n} messages were`} put in your Junk folder between ${stamp(from)} and ${stamp(to)},`,
      'least likely spam first. If one of them is mail you want, move it to your Inbox: that also',
      'teaches the filter to let such mail through.',
      // Where a user without a client that shows folders (POP3) can release one: its link, the account page.
      ...(this.portal()
        ? [
            'Or open its "Not spam" link below (no sign-in needed),',
            `or press "Not spam" for it at ${this.portal()}/account/spam.`,
          ]
        : []),
      ...(keepMs > 0
        ? [`Messages in Junk are deleted ${Math.round(keepMs / DAY)} days after they were put there.`]
        : []),
      '',
      `${'Score'.padEnd(7)}${'Date'.padEnd(18)}${'From'.padEnd(42)}Subject`,
      ...shown.flatMap((l) => [
        `${l.score.toFixed(1).padEnd(7)}${stamp(l.date).padEnd(18)}${clip(l.from, 40).padEnd(42)}${clip(l.subject, 80)}`,
        ...(l.release ? [`${''.padEnd(7)}Not spam: ${l.release}`] : []),
      ]),
      ...(n > shown.length ? ['', `... and ${n - shown.length} more.`] : []),
      '',
    ].join('\r\n');
    const head = [
      `From: Mail filter <postmaster@${domain}>`,
      `To: <${address}>`,
      `Subject: ${n} ${n === 1 ? 'message' : 'messages'} in your Junk folder`,
      `Date: ${rfc5322Date(Date.now())}`,
      `Message-ID: <junk-report.${to}.${randomBytes(6).toString('hex')}@${config.server.hostname}>`,
      // RFC 3834 section 5: machine-made; nothing should answer it automatically.
      'Auto-Submitted: auto-generated',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
    ].join('\r\n');
    return Buffer.from(`${head}\r\n\r\n${text}`);
  }
}

function addressOf(a: EnvelopeAddress | undefined): string {
  return a?.mailbox && a.host ? `${a.mailbox}@${a.host}` : '';
}

/** Who a stored message is from, as a list shows it: its From field as written, else the address. */
export function senderOf(b: StoredBody | undefined): string {
  const headers = (b?.headers ?? {}) as { from?: string };
  const env = (b?.envelope ?? {}) as { from?: EnvelopeAddress[] | null };
  return headers.from || addressOf(env.from?.[0]) || '(no sender)';
}

/** "2026-12-06 07:00" in server local time. */
function stamp(ms: number): string {
  const d = new Date(ms);
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** What a sender wrote, made safe for one line of the report: no control characters, at most `max`. */
function clip(s: string, max: number): string {
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}
