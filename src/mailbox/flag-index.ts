// A per-mailbox cache of (UID, flags, MODSEQ) rows, valid exactly while the mailbox's MODSEQ is unchanged
// (every append, flag change and expunge raises it): whole-mailbox flag fetches (IMAP `UID FETCH 1:*
// (FLAGS)`, run by every client on every sync) then cost no database read.
import type { Store } from '../core/ports.ts';

export interface FlagRow {
  uid: number;
  flags: string[];
  modseq: number;
}

export class FlagIndex {
  private readonly map = new Map<number, { modseq: number; rows: FlagRow[] }>();
  private total = 0;
  private readonly maxRows: number;

  constructor(maxRows: number) {
    this.maxRows = maxRows;
  }

  /** Every row of the mailbox, ascending by UID; null when the mailbox is gone. Rows are shared: never mutate. */
  async rows(store: Store, accountId: number, mailboxId: number): Promise<FlagRow[] | null> {
    const mb = await store.getMailbox(accountId, mailboxId);
    if (!mb) return null;
    const hit = this.map.get(mailboxId);
    if (hit && hit.modseq === mb.modseq) {
      this.map.delete(mailboxId);
      this.map.set(mailboxId, hit);
      return hit.rows;
    }
    // Read after the MODSEQ: the rows are at least as new as the MODSEQ they are filed under.
    const rows = await store.listFlags(mailboxId);
    if (hit) this.total -= hit.rows.length;
    this.map.delete(mailboxId);
    if (rows.length <= this.maxRows) {
      this.map.set(mailboxId, { modseq: mb.modseq, rows });
      this.total += rows.length;
      for (const [id, e] of this.map) {
        if (this.total <= this.maxRows) break;
        this.map.delete(id);
        this.total -= e.rows.length;
      }
    }
    return rows;
  }
}
