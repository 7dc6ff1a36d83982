// A POP3 maildrop: the account's INBOX as it stood at login (RFC 1939 section 4: message numbers and sizes
// are fixed for the session), deletion marks, and the UPDATE state that expunges the marked messages.
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

  private constructor(mailbox: Mailbox, messages: DropMessage[]) {
    this.mailbox = mailbox;
    this.messages = messages;
    this.deleted = new Uint8Array(messages.length);
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
    let count = 0;
    let size = 0;
    for (const [, m] of this.live()) {
      count++;
      size += m.size;
    }
    return { count, size };
  }

  get highest(): number {
    return this.messages.length;
  }

  markDeleted(n: number): void {
    this.deleted[n - 1] = 1;
  }

  /** RSET: unmarks everything. */
  reset(): void {
    this.deleted.fill(0);
  }

  /**
   * UPDATE state (RFC 1939 section 6): expunges the marked messages through the mail service, which
   * publishes the expunge to IMAP IDLE and JMAP sessions. Resolves after the commit.
   */
  async commit(mail: MailService): Promise<number> {
    const uids: number[] = [];
    for (let i = 0; i < this.messages.length; i++) if (this.deleted[i]) uids.push(this.messages[i].rec.uid);
    if (uids.length === 0) return 0;
    return (await mail.expunge(this.mailbox, uids)).uids.length;
  }
}
