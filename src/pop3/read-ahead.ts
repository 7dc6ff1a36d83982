// Read-ahead for RETR: clients fetch a maildrop in order (RETR 1, 2, 3...), so while message n is sent the
// next ones are read, many per blob-store round trip (MailService.readMany). Bounded in count and bytes per
// session; a client that stops early wastes only those few reads.
import type { MailService } from '../mailbox/service.ts';
import type { DropMessage, Maildrop } from './maildrop.ts';

/** Messages requested per batch; a new batch starts when fewer than half are left ahead. */
const BATCH = 64;
/** Octets held ahead per session at most. */
const MAX_BYTES = 2 * 1024 * 1024;

export class ReadAhead {
  private readonly mail: MailService;
  private readonly drop: Maildrop;
  /** Largest message read whole (larger ones stream and are never read ahead). */
  private readonly wholeMax: number;
  private readonly pending = new Map<number, { size: number; data: Promise<Buffer> }>();
  private bytes = 0;
  /** Highest message number requested so far. */
  private requested = 0;

  constructor(mail: MailService, drop: Maildrop, wholeMax: number) {
    this.mail = mail;
    this.drop = drop;
    this.wholeMax = wholeMax;
  }

  /** Message n's stored bytes (prefix included); n must be at most wholeMax octets. */
  get(n: number, m: DropMessage): Promise<Buffer> {
    // Anything before n was skipped or is done: out of the budget.
    for (const k of this.pending.keys()) if (k < n) this.forget(k);
    if (!this.pending.has(n)) this.request(n, m);
    else if (this.requested - n < BATCH / 2) this.request(this.requested + 1, null);
    const hit = this.pending.get(n)!;
    this.forget(n);
    return hit.data;
  }

  /** Starts one batch read from message `from` on (the first one always, the others while under budget). */
  private request(from: number, first: DropMessage | null): void {
    const nums: number[] = [];
    const recs: DropMessage[] = [];
    let bytes = this.bytes;
    for (let k = from; k <= this.drop.highest && nums.length < BATCH; k++) {
      const m = k === from && first ? first : this.drop.get(k);
      if (!m || this.pending.has(k)) continue;
      if (m.rec.size > this.wholeMax) break;
      if (nums.length > 0 && bytes + m.rec.size > MAX_BYTES) break;
      nums.push(k);
      recs.push(m);
      bytes += m.rec.size;
    }
    if (nums.length === 0) return;
    const batch = this.mail.readMany(recs.map((m) => m.rec));
    nums.forEach((k, i) => {
      const data = batch.then((r) => {
        const d = r[i];
        if (d instanceof Error) throw d;
        return d;
      });
      // A failed read ahead is reported only if the client asks for that message.
      data.catch(() => {});
      this.pending.set(k, { size: recs[i].rec.size, data });
      this.bytes += recs[i].rec.size;
    });
    this.requested = Math.max(this.requested, nums[nums.length - 1]);
  }

  private forget(k: number): void {
    const e = this.pending.get(k);
    if (!e) return;
    this.bytes -= e.size;
    this.pending.delete(k);
  }
}
