// The interface between the IMAP command handlers and the SEARCH/SORT/THREAD criteria engine.
import type { Mailbox, MessageRecord } from '../../core/model.ts';
import type { MailService } from '../../mailbox/service.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';

export interface SearchSnapshot {
  mailbox: Mailbox;
  messages: MessageRecord[] /* seq = index + 1 */;
  recent: Set<number> /* uids */;
  saved: number[] | null /* SEARCHRES $ uids */;
}
export interface SearchQuery {
  charset: string | null;
  program: unknown /* opaque to the caller */;
}
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string; code?: 'BADCHARSET' };
export interface SearchEngine {
  parseSearch(args: ImapValue[], opts: { utf8: boolean }): ParseResult<SearchQuery>;
  /** The query has a MODSEQ key: SEARCH and SORT then report a mod-sequence (RFC 7162 section 3.1.5). */
  usesModseq(q: SearchQuery): boolean;
  search(mail: MailService, snap: SearchSnapshot, q: SearchQuery): Promise<number[]>; // matching UIDs ascending
  parseSort(args: ImapValue[], opts: { utf8: boolean }): ParseResult<{ keys: unknown; query: SearchQuery }>;
  sort(mail: MailService, snap: SearchSnapshot, keys: unknown, q: SearchQuery): Promise<number[]>; // UIDs in sort order
  parseThread(
    args: ImapValue[],
    opts: { utf8: boolean },
  ): ParseResult<{ algorithm: 'REFERENCES' | 'ORDEREDSUBJECT'; query: SearchQuery }>;
  thread(
    mail: MailService,
    snap: SearchSnapshot,
    algorithm: 'REFERENCES' | 'ORDEREDSUBJECT',
    q: SearchQuery,
  ): Promise<ThreadNode[]>;
}
export interface ThreadNode {
  uid: number | null;
  children: ThreadNode[];
}
