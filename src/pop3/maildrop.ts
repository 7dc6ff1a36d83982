// A POP3 maildrop: the account's INBOX as it stood at login (RFC 1939 section 4: message numbers and sizes
// are fixed for the session), deletion marks, what RETR retrieved, and the UPDATE state that expunges the
// marked messages and sets \Seen on the retrieved ones.
import { PetrelError } from '../core/errors.ts';
import type { Mailbox, MessageRecord } from '../core/model.ts';
import type { MailService } from '../mailbox/service.ts';

export interface DropMessage {
  rec: MessageRecord;
  /** Octets as sent by RETR (CRLF lines, before byte-stuffing): what LIST and STAT count. */
  size: number;
  /**
   * UIDL value: "<uidvalidity>.<uid>" of the message in INBOX, so it is the IMAP identity of the message,
   * unique in the maildrop, never reused (UIDs only grow), and stable across sessions and restarts.
   */
  uidl: string;
}

export class Maildrop {
  readonly mailbox: Mailbox;
  private readonly messages: DropMessage[];
  private readonly deleted: Uint8Array;
  /** Messages sent whole by RETR (TOP does not count, as in Dovecot): \Seen at UPDATE. */
  private readonly retrieved: Uint8Array;
  private retrievedAny = false;
  /**
   * Messages and octets not marked deleted, kept as DELE and RSET change them: STAT and RSET are a few
   * octets each and may be pipelined by the thousand (RFC 2449 section 6.6), so they must not walk the drop.
   */
  private count: number;
  private size: number;
  private readonly allSize: number;

  private constructor(mailbox: Mailbox, messages: DropMessage[]) {
    this.mailbox = mailbox;
    this.messages = messages;
    this.deleted = new Uint8Array(messages.length);
    this.retrieved = new Uint8Array(messages.length);
    this.count = messages.length;
    this.allSize = messages.reduce((n, m) => n + m.size, 0);
    this.size = this.allSize;
  }

  /** Lists INBOX once, with every message's size as sent. */
  static async open(mail: MailService, accountId: number): Promise<Maildrop> {
    const mailbox = await mail.store.getMailbox(accountId, 'INBOX');
    if (!mailbox) throw new PetrelError('NOT_FOUND', 'the account has no INBOX');
    const recs = await mail.store.listMessages(mailbox.id);
    const sizes = await mail.crlfSizes(recs);
    return new Maildrop(
      mailbox,
      recs.map((rec, i) => ({ rec, size: sizes[i], uidl: `${mailbox.uidValidity}.${rec.uid}` })),
    );
  }

  /** Message n (1-based), or undefined when there is none or it is marked deleted. */
  get(n: number): DropMessage | undefined {
    if (n < 1 || n > this.messages.length || this.deleted[n - 1]) return undefined;
    return this.messages[n - 1];
  }

  /** Whether n names a message that is marked deleted (for a precise -ERR). */
  isDeleted(n: number): boolean {
    return n >= 1 && n <= this.messages.length && this.deleted[n - 1] === 1;
  }

  /** Every message not marked deleted, with its number. */
  *live(): Generator<[number, DropMessage]> {
    for (let i = 0; i < this.messages.length; i++) if (!this.deleted[i]) yield [i + 1, this.messages[i]];
  }

  /** Messages and octets not marked deleted (STAT, RFC 1939 section 5). */
  totals(): { count: number; size: number } {
    return { count: this.count, size: this.size };
  }

  get highest(): number {
    return this.messages.length;
  }

  markDeleted(n: number): void {
    if (this.deleted[n - 1]) return;
    this.deleted[n - 1] = 1;
    this.count--;
    this.size -= this.messages[n - 1].size;
  }

  markRetrieved(n: number): void {
    this.retrieved[n - 1] = 1;
    this.retrievedAny = true;
  }

  /**
   * RSET: unmarks everything. What was retrieved is forgotten too, as Dovecot does: RSET undoes the
   * session's changes, and RFC 1939 knows no flags to say otherwise.
   */
  reset(): void {
    if (this.retrievedAny) {
      this.retrieved.fill(0);
      this.retrievedAny = false;
    }
    if (this.count === this.messages.length) return;
    this.deleted.fill(0);
    this.count = this.messages.length;
    this.size = this.allSize;
  }

  /**
   * UPDATE state (RFC 1939 section 6): expunges the marked messages and, with `markSeen`, sets \Seen on the
   * retrieved ones not marked, in one transaction through the mail service, which publishes both to IMAP
   * IDLE and JMAP sessions. Resolves after the commit. Only QUIT gets here: a session that ends otherwise
   * changes nothing, flags included (Dovecot 2.3 does set \Seen then; a client cut off may not have kept
   * what it was sent, so it stays unread).
   */
  async commit(mail: MailService, markSeen: boolean): Promise<{ removed: number; seen: number }> {
    const expunge: number[] = [];
    const seen: number[] = [];
    for (let i = 0; i < this.messages.length; i++) {
      const m = this.messages[i];
      if (this.deleted[i]) expunge.push(m.rec.uid);
      else if (markSeen && this.retrieved[i]) seen.push(m.rec.uid);
    }
    if (expunge.length === 0 && seen.length === 0) return { removed: 0, seen: 0 };
    const r = await mail.expungeAndMarkSeen(this.mailbox, expunge, seen);
    return { removed: r.expunged.length, seen: r.seen.length };
  }
}
