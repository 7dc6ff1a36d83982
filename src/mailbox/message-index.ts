// A per-mailbox cache of message records, kept exact by the MODSEQ: when the mailbox's MODSEQ moved,
// only what changed since (listMessages changedSince) and what was expunged since (tombstones) is read
// and merged, the way a QRESYNC client resynchronises. Whole-mailbox reads (IMAP FETCH 1:*, SEARCH
// snapshots) then cost a mailbox row read and a small delta instead of a full scan.
import type { MessageRecord } from '../core/model.ts';
import type { Store } from '../core/ports.ts';

interface Entry {
  modseq: number;
  uidValidity: number;
  rows: MessageRecord[];
}

export class MessageIndex {
  private readonly map = new Map<number, Entry>();
  private total = 0;
  private readonly maxRows: number;
  /** One refresh at a time per mailbox: concurrent readers share it. */
  private readonly loading = new Map<number, Promise<MessageRecord[] | null>>();

  constructor(maxRows: number) {
    this.maxRows = maxRows;
  }

  /**
   * Every record of the mailbox, ascending by UID, as of now; null when the mailbox is gone. The array
   * and its records are shared: never mutate them.
   */
  records(store: Store, accountId: number, mailboxId: number): Promise<MessageRecord[] | null> {
    const running = this.loading.get(mailboxId);
    if (running) return running.then(() => this.refresh(store, accountId, mailboxId));
    const p = this.refresh(store, accountId, mailboxId).finally(() => this.loading.delete(mailboxId));
    this.loading.set(mailboxId, p);
    return p;
  }

  private async refresh(store: Store, accountId: number, mailboxId: number): Promise<MessageRecord[] | null> {
    const mb = await store.getMailbox(accountId, mailboxId);
    if (!mb) {
      this.drop(mailboxId);
      return null;
    }
    const hit = this.map.get(mailboxId);
    if (hit && hit.modseq === mb.modseq && hit.uidValidity === mb.uidValidity) {
      this.map.delete(mailboxId);
      this.map.set(mailboxId, hit);
      return hit.rows;
    }
    // Reads happen after the MODSEQ was taken: the rows are at least as new as the MODSEQ filed.
    let rows: MessageRecord[] | null = null;
    if (hit && hit.uidValidity === mb.uidValidity) {
      const gone = await store.expungedSince(mailboxId, hit.modseq);
      if (gone.complete) {
        const changed = await store.listMessages(mailboxId, { changedSince: hit.modseq });
        rows = merge(hit.rows, changed, gone.uids);
      }
    }
    rows ??= await store.listMessages(mailboxId);
    this.drop(mailboxId);
    if (rows.length <= this.maxRows) {
      this.map.set(mailboxId, { modseq: mb.modseq, uidValidity: mb.uidValidity, rows });
      this.total += rows.length;
      for (const [id, e] of this.map) {
        if (this.total <= this.maxRows) break;
        this.map.delete(id);
        this.total -= e.rows.length;
      }
    }
    return rows;
  }

  private drop(mailboxId: number) {
    const e = this.map.get(mailboxId);
    if (!e) return;
    this.map.delete(mailboxId);
    this.total -= e.rows.length;
  }
}

/** A new ascending array: old rows, minus expunged UIDs, with changed and new rows put in place. */
function merge(old: MessageRecord[], changed: MessageRecord[], gone: number[]): MessageRecord[] {
  if (changed.length === 0 && gone.length === 0) return old;
  const drop = new Set(gone);
  const byUid = new Map<number, MessageRecord>();
  for (const c of changed) byUid.set(c.uid, c);
  const out: MessageRecord[] = [];
  for (const r of old) {
    if (drop.has(r.uid)) continue;
    const c = byUid.get(r.uid);
    if (c) byUid.delete(r.uid);
    out.push(c ?? r);
  }
  // New messages have higher UIDs than any older one, except rows of a mailbox refilled by COPY later:
  // sort the remainder and merge to stay ascending.
  const rest = [...byUid.values()].filter((c) => !drop.has(c.uid)).sort((a, b) => a.uid - b.uid);
  if (rest.length === 0) return out;
  if (out.length === 0 || rest[0].uid > out[out.length - 1].uid) return out.concat(rest);
  return out.concat(rest).sort((a, b) => a.uid - b.uid);
}
