// The selected mailbox as one session sees it: the sequence-number map (seq = index + 1 into `uids`),
// \Recent UIDs, and what has been announced. Changes by others become untagged responses only at sync
// points the RFC allows: EXISTS and FETCH FLAGS after any command, EXPUNGE/VANISHED only after commands
// that permit renumbering (RFC 9051 sections 5.5 and 7.5.1; RFC 7162 section 3.2.10 for VANISHED).
import type { Mailbox } from '../core/model.ts';
import type { MailService } from '../mailbox/service.ts';
import { formatSet, lowerBound } from '../protocol/imap/sequence.ts';

export interface SyncOptions {
  /** Announce expunges (false while answering FETCH, STORE, SEARCH by sequence number). */
  expunges: boolean;
  /** CONDSTORE is on: FETCH responses carry MODSEQ. */
  condstore: boolean;
  /** QRESYNC is on: expunges go out as VANISHED and FETCH responses carry UID. */
  qresync: boolean;
  /** IMAP4rev1 client (no ENABLE IMAP4rev2): RECENT responses are sent. */
  rev1: boolean;
}

export const SYSTEM_FLAGS_LIST = '\\Answered \\Flagged \\Deleted \\Seen \\Draft';

export class Selected {
  mailbox: Mailbox;
  readonly readOnly: boolean;
  /** UIDs in sequence order; seq n is uids[n - 1]. */
  uids: number[];
  /** UIDs that are \Recent in this session (RFC 3501 section 2.3.2). */
  recent: Set<number>;
  /** Every change up to this MODSEQ has been announced (flags) or taken into the map (new messages). */
  flagsModseq: number;
  /** Every expunge up to this MODSEQ has been announced. */
  expungeModseq: number;
  /** Keywords announced in FLAGS. */
  keywords: string[];
  /** A full look at the store is due at the next sync (NOOP, own APPEND, pending expunges...). */
  dirty = false;
  /** Change events for this mailbox since the last sync (from the account's event hub). */
  events: { modseq: number; kind: string }[] = [];
  /** Another session may have expunged: look at the tombstones when expunges may be announced. */
  expungesPending = false;
  /** MODSEQs of this session's own flag changes: already reported to it, never echoed. */
  ownModseqs = new Set<number>();
  /** The recent count last announced. */
  announcedRecent: number;
  /** The mailbox was found deleted (by another session): the session must end (RFC 2180 section 3.3). */
  gone = false;

  /** This session sees \Recent at all: IMAP4rev1 (RFC 9051 dropped \Recent). */
  readonly seesRecent: boolean;
  /** It also takes \Recent for new messages: read-write (RFC 3501 section 2.3.2). */
  readonly claimsRecent: boolean;

  /**
   * `recent`: null for a session without \Recent (IMAP4rev2); else the first UID that is \Recent for it and
   * whether it took them (SELECT) or only looks (EXAMINE: RFC 3501 section 6.3.2, the next SELECT still
   * sees them as \Recent).
   */
  constructor(
    mailbox: Mailbox,
    readOnly: boolean,
    uids: number[],
    recent: { firstUid: number; claimed: boolean } | null,
  ) {
    this.mailbox = mailbox;
    this.readOnly = readOnly;
    this.seesRecent = recent !== null;
    this.claimsRecent = recent?.claimed ?? false;
    this.uids = uids;
    this.recent = new Set();
    if (recent) for (let i = lowerBound(uids, recent.firstUid); i < uids.length; i++) this.recent.add(uids[i]);
    this.flagsModseq = mailbox.modseq;
    this.expungeModseq = mailbox.modseq;
    this.keywords = [...mailbox.keywords];
    this.announcedRecent = this.recent.size;
  }

  get exists(): number {
    return this.uids.length;
  }

  /** Sequence number of a UID in the map, or 0. */
  seqOf(uid: number): number {
    const i = lowerBound(this.uids, uid);
    return i < this.uids.length && this.uids[i] === uid ? i + 1 : 0;
  }

  get maxUid(): number {
    return this.uids.length ? this.uids[this.uids.length - 1] : 0;
  }

  /**
   * The HIGHESTMODSEQ this session may report between syncs: up to its own latest change when nothing
   * of another session's is waiting to be looked at; else only what was announced, never past an
   * expunge held back (RFC 7162 section 3.2).
   */
  knownModseq(): number {
    const waiting = this.dirty || this.expungesPending || this.events.some((e) => !this.ownModseqs.has(e.modseq));
    if (waiting) return Math.min(this.flagsModseq, this.expungeModseq);
    let top = this.flagsModseq;
    for (const m of this.ownModseqs) if (m > top) top = m;
    return top;
  }

  /** `FLAGS (...)` line for the mailbox's flags and keywords. */
  flagsLine(): string {
    return `* FLAGS (${SYSTEM_FLAGS_LIST}${this.keywords.length ? ` ${this.keywords.join(' ')}` : ''})\r\n`;
  }

  permanentFlagsLine(): string {
    if (this.readOnly) return '* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n';
    return `* OK [PERMANENTFLAGS (${SYSTEM_FLAGS_LIST}${this.keywords.length ? ` ${this.keywords.join(' ')}` : ''} \\*)] Flags permitted\r\n`;
  }

  /** Removes UIDs from the map; returns the lines announcing it (EXPUNGE per message, or VANISHED). */
  removeUids(gone: number[], qresync: boolean): string {
    if (gone.length === 0) return '';
    const set = new Set(gone);
    let out = '';
    if (qresync) {
      const present = this.uids.filter((u) => set.has(u));
      if (present.length) out = `* VANISHED ${formatSet(present)}\r\n`;
    } else {
      // Highest first, so each number is still right when the client applies it.
      for (let i = this.uids.length - 1; i >= 0; i--) if (set.has(this.uids[i])) out += `* ${i + 1} EXPUNGE\r\n`;
    }
    this.uids = this.uids.filter((u) => !set.has(u));
    for (const u of gone) this.recent.delete(u);
    return out;
  }

  /**
   * Brings the map up to date with the store and returns the untagged responses to send. New messages
   * and flag changes always; expunges only when allowed.
   */
  async sync(mail: MailService, opts: SyncOptions): Promise<string> {
    if (!this.dirty && this.events.length === 0 && !this.expungesPending) return '';
    if (
      this.dirty ||
      this.events.some((e) => (e.kind === 'expunge' || e.kind === 'mailbox') && !this.ownModseqs.has(e.modseq))
    )
      this.expungesPending = true;
    // Only our own flag changes and expunges happened: they are already reported, nothing to look up.
    if (
      !this.dirty &&
      !this.expungesPending &&
      this.events.every((e) => e.kind !== 'append' && e.kind !== 'mailbox' && this.ownModseqs.has(e.modseq))
    ) {
      this.events = [];
      return '';
    }
    this.dirty = false;
    this.events = [];
    const mb = await mail.store.getMailbox(this.mailbox.accountId, this.mailbox.id);
    if (!mb) {
      // Deleted under us (by another session): nothing to announce, the session says BYE instead.
      this.gone = true;
      return '';
    }
    let out = '';
    const before = this.flagsModseq;
    // New keywords first: FETCH FLAGS may carry them.
    if (mb.keywords.length !== this.keywords.length) {
      this.keywords = [...mb.keywords];
      out += this.flagsLine();
      if (!this.readOnly) out += this.permanentFlagsLine();
    }
    // Expunges before EXISTS, so the count we announce is the count the client has.
    if (this.expungesPending && mb.modseq <= this.expungeModseq) this.expungesPending = false;
    else if (this.expungesPending && opts.expunges) {
      const { uids } = await mail.store.expungedSince(mb.id, this.expungeModseq);
      out += this.removeUids(uids, opts.qresync);
      this.expungeModseq = mb.modseq;
      this.expungesPending = false;
    } // else: kept pending until a command that may announce them
    const changed = mb.modseq > before ? await mail.store.listFlags(mb.id, { changedSince: before }) : [];
    const known = this.maxUid;
    const added: { uid: number }[] = [];
    for (const m of changed) if (m.uid > known) added.push(m);
    if (added.length) {
      for (const m of added) this.uids.push(m.uid);
      // The claim is a write: skip it when another session already claimed past these messages.
      if (this.claimsRecent && mb.recentUid <= added[added.length - 1].uid) {
        const first = await mail.store.claimRecent(mb.id);
        for (const m of added) if (m.uid >= first) this.recent.add(m.uid);
      } else if (this.seesRecent && !this.claimsRecent) {
        // Read-only: \Recent for what no read-write session has taken, and nothing taken.
        for (const m of added) if (m.uid >= mb.recentUid) this.recent.add(m.uid);
      }
      out += `* ${this.uids.length} EXISTS\r\n`;
    }
    if (opts.rev1 && added.length) {
      out += `* ${this.recent.size} RECENT\r\n`;
      this.announcedRecent = this.recent.size;
    }
    let top = mb.modseq;
    for (const m of changed) {
      if (m.modseq > top) top = m.modseq;
      if (m.uid > known || this.ownModseqs.has(m.modseq)) continue;
      const seq = this.seqOf(m.uid);
      if (!seq) continue;
      out += `* ${seq} FETCH (${this.fetchFlagsBody(m, opts)})\r\n`;
    }
    this.flagsModseq = top;
    this.mailbox = mb;
    for (const m of this.ownModseqs) if (m <= top) this.ownModseqs.delete(m);
    return out;
  }

  /**
   * False when the mailbox was deleted: looked up only after an event said it was deleted or renamed (a
   * 'mailbox' event for it), so a command does not run on a mailbox that is no longer there.
   */
  async stillExists(mail: MailService): Promise<boolean> {
    if (!this.gone && this.events.some((e) => e.kind === 'mailbox'))
      this.gone = !(await mail.store.getMailbox(this.mailbox.accountId, this.mailbox.id));
    return !this.gone;
  }

  /** `UID n FLAGS (...) MODSEQ (m)` as unsolicited FETCH responses carry them. */
  fetchFlagsBody(
    m: { uid: number; flags: string[]; modseq: number },
    opts: { condstore: boolean; qresync: boolean },
  ): string {
    let s = '';
    if (opts.qresync) s += `UID ${m.uid} `;
    s += `FLAGS (${this.flagsWithRecent(m.uid, m.flags)})`;
    if (opts.condstore) s += ` MODSEQ (${m.modseq})`;
    return s;
  }

  flagsWithRecent(uid: number, flags: string[]): string {
    return this.recent.has(uid) ? (flags.length ? `${flags.join(' ')} \\Recent` : '\\Recent') : flags.join(' ');
  }
}
