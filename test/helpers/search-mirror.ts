// Puts the same messages, in the same order, with the same flags and internal dates, into Dovecot (over
// IMAP) and into Petrel (through MailService), so both mailboxes have the same UIDs: the ground for
// comparing SEARCH, SORT and THREAD answers (differential tests, bench/imap-search.ts).
import type { MailService } from '../../src/mailbox/service.ts';
import { type ImapClient, imapDateTime } from './imap-line-client.ts';

export interface MirrorMessage {
  raw: Buffer;
  flags: string[];
  internalDate: number;
  /** Per-recipient lines: a Petrel prefix, plain message text for Dovecot. */
  prefix?: string;
}

/** Appends to Dovecot's INBOX with MULTIAPPEND, `batch` messages per command. */
export async function appendToDovecot(c: ImapClient, msgs: MirrorMessage[], batch = 50): Promise<void> {
  for (let i = 0; i < msgs.length; i += batch) {
    const parts: (string | Buffer)[] = ['APPEND INBOX'];
    for (const m of msgs.slice(i, i + batch)) {
      const flags = m.flags.filter((f) => f !== '\\Recent').join(' ');
      parts.push(` (${flags}) ${imapDateTime(m.internalDate)} `);
      parts.push(m.prefix ? Buffer.concat([Buffer.from(m.prefix), m.raw]) : m.raw);
    }
    await c.ok(...parts);
  }
}

/** Appends to a Petrel mailbox, `batch` messages per group-committed transaction. */
export async function appendToPetrel(
  mail: MailService,
  accountId: number,
  mailboxId: number,
  msgs: MirrorMessage[],
  batch = 200,
): Promise<void> {
  for (let i = 0; i < msgs.length; i += batch) {
    const slice = msgs.slice(i, i + batch);
    // Blob writes (each fsynced) in parallel; the append keeps the order, so UIDs follow it.
    const contents = await Promise.all(slice.map((m) => mail.ingest(m.raw)));
    await mail.appendIngested(
      slice.map((m, j) => ({
        accountId,
        mailboxId,
        content: contents[j],
        flags: m.flags,
        internalDate: m.internalDate,
        prefix: m.prefix,
      })),
    );
  }
}
