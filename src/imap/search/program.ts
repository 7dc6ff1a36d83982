// The parsed search program: a tree of search keys (RFC 9051 section 6.4.4 and extensions), the
// value behind the opaque SearchQuery.program that the parser builds and the evaluator walks.
import type { SequenceSet } from './sequence-set.ts';

/** The envelope fields that SUBJECT, FROM, TO, CC and BCC search (RFC 9051 section 6.4.4). */
export type EnvelopeField = 'subject' | 'from' | 'to' | 'cc' | 'bcc';

/** Which timestamp a date key compares: INTERNALDATE, the Date: header, or the save date (RFC 8514). */
export type DateField = 'internal' | 'sent' | 'saved';

export type SearchKey =
  | { k: 'all' }
  /** A system flag or keyword, lower-cased; `set` false for UNSEEN, UNKEYWORD and the like. */
  | { k: 'flag'; flag: string; set: boolean }
  /** \Recent (RFC 3501 section 2.3.2): the snapshot's recent UIDs. */
  | { k: 'recent' }
  | { k: 'seq'; set: SequenceSet }
  | { k: 'uid'; set: SequenceSet }
  | { k: 'larger'; n: number }
  | { k: 'smaller'; n: number }
  /** `day` is the UTC midnight (ms) of the date given. */
  | { k: 'date'; field: DateField; op: 'before' | 'on' | 'since'; day: number }
  /** RFC 5032 WITHIN: OLDER/YOUNGER, in seconds. */
  | { k: 'older'; seconds: number }
  | { k: 'younger'; seconds: number }
  /** RFC 7162 section 3.1.5: messages whose mod-sequence is at least `min`. */
  | { k: 'modseq'; min: number }
  /** RFC 8474 objectid as written ('M' + emailId, 'T' + threadId). */
  | { k: 'emailid'; id: string }
  | { k: 'threadid'; id: string }
  /** RFC 8514 SAVEDATESUPPORTED: every message, as every mailbox keeps save dates. */
  | { k: 'savedatesupported' }
  | { k: 'envelope'; field: EnvelopeField; needle: string }
  /** HEADER name value; `name` lower-cased. */
  | { k: 'header'; name: string; needle: string }
  /** BODY (body text only) or TEXT (header and body). */
  | { k: 'text'; field: 'body' | 'text'; needle: string }
  | { k: 'and'; keys: SearchKey[] }
  | { k: 'or'; a: SearchKey; b: SearchKey }
  | { k: 'not'; key: SearchKey };

/** What SearchQuery.program holds. */
export interface Program {
  root: SearchKey;
  /** The program uses MODSEQ: SEARCH then reports the highest mod-sequence (RFC 7162 section 3.1.5). */
  usesModseq: boolean;
}

/** The default charset list sent with [BADCHARSET] (RFC 9051 section 7.1). */
export const SUPPORTED_CHARSETS = ['UTF-8', 'US-ASCII'] as const;

export function isSupportedCharset(name: string): boolean {
  const up = name.toUpperCase();
  // "ASCII" is a registered alias of US-ASCII.
  return up === 'UTF-8' || up === 'US-ASCII' || up === 'ASCII';
}
