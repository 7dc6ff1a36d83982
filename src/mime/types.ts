// The parsed shape of a message: what delivery stores once and IMAP/JMAP/search read later.
// Offsets are byte offsets into the raw message exactly as stored (never re-encoded).

/** An address as IMAP ENVELOPE carries it (RFC 9051 section 7.5.2), undecoded. */
export interface EnvelopeAddress {
  /** Display name as it appears in the header (encoded words kept, quotes removed), or null. */
  name: string | null;
  /** Source route (obsolete, normally null). */
  adl: string | null;
  /** Local part; for a group start it is the group name, for a group end null. */
  mailbox: string | null;
  /** Domain; null marks group syntax (RFC 9051 section 7.5.2). */
  host: string | null;
}

/** IMAP ENVELOPE fields (RFC 9051 section 7.5.2); raw header values, unfolded. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: EnvelopeAddress[] | null;
  sender: EnvelopeAddress[] | null;
  replyTo: EnvelopeAddress[] | null;
  to: EnvelopeAddress[] | null;
  cc: EnvelopeAddress[] | null;
  bcc: EnvelopeAddress[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/** A MIME part with byte offsets; the root part is the whole message. */
export interface MimePart {
  /** Start of this part's header block (for the root: 0). */
  headerStart: number;
  /** End of the header block, including the blank line that ends it (== bodyStart). */
  headerEnd: number;
  bodyStart: number;
  /** End of the body (exclusive); excludes the CRLF before the next boundary. */
  bodyEnd: number;
  /** Lower-case media type and subtype; defaults per RFC 2045/2046 (text/plain, or message/rfc822 in multipart/digest). */
  type: string;
  subtype: string;
  /** Content-Type parameters, lower-case names, values decoded (RFC 2231 continuations and charsets joined). */
  params: Record<string, string>;
  /** Content-Type parameters exactly as written (name as written, value unquoted but not 2231-decoded), for IMAP BODYSTRUCTURE. */
  rawParams: [string, string][];
  id: string | null;
  description: string | null;
  /** Content-Transfer-Encoding as written, lower-cased; '7bit' when absent. */
  encoding: string;
  md5: string | null;
  disposition: { type: string; params: Record<string, string>; rawParams: [string, string][]; rawType?: string } | null;
  language: string[] | null;
  location: string | null;
  /** Body size in octets (bodyEnd - bodyStart). */
  size: number;
  /** Number of lines in the body (text/* and message/rfc822), as IMAP counts them. */
  lines: number;
  /** multipart/*: the sub-parts, in order. */
  children: MimePart[];
  /** message/rfc822 (and message/global): the encapsulated message: its envelope and its root part. */
  message: { envelope: Envelope; root: MimePart } | null;
  /**
   * Tokens as the header wrote them, present only when one differs from its lower-cased form above
   * (IMAP BODYSTRUCTURE repeats them as written, as Dovecot does).
   */
  written?: { type?: string; subtype?: string; encoding?: string; disposition?: string };
}

/** What the parser returns for one message. */
export interface ParsedMessage {
  size: number;
  root: MimePart;
  envelope: Envelope;
  /** Decoded, unfolded values of the headers search and sort need (RFC 2047 decoded). */
  headers: {
    subject: string;
    from: string;
    to: string;
    cc: string;
    bcc: string;
    date: number | null; // parsed Date: header, ms since epoch, null if absent or unparseable
    messageId: string | null; // without angle brackets
    inReplyTo: string[]; // message ids without angle brackets
    references: string[];
  };
  /** All header fields of the top-level header, unfolded, decoded, in order (name as written). */
  headerFields: { name: string; value: string }[];
  /**
   * The header fields of every body part and encapsulated message below the top level, as "name: value"
   * lines, decoded; with `text` at most ParseLimits.maxTextLength characters. For SEARCH TEXT.
   */
  partHeaderText: string;
  /** Decoded text of every text/* leaf (HTML stripped to text), joined, capped; for the full-text index. */
  text: string;
  /** The cap (ParseLimits.maxTextLength) left some text or part header out: search must read the message. */
  textCut: boolean;
  /** First ~256 characters of readable body text, whitespace collapsed (IMAP PREVIEW, JMAP preview). */
  preview: string;
  hasAttachment: boolean;
  /** Non-fatal problems met (limits hit, bad encodings); never thrown. */
  problems: string[];
}
