// Domain types shared by every service and protocol. Plain data; no behaviour.

export interface Tenant {
  id: number;
  name: string;
  quotaBytes: number | null;
  quotaMessages: number | null;
  createdAt: number;
}

export interface Domain {
  id: number;
  tenantId: number;
  /** Lower-case ASCII (A-label for IDNs). */
  name: string;
  quotaBytes: number | null;
  quotaMessages: number | null;
  disabled: boolean;
  createdAt: number;
}

export type AccountRole = 'user' | 'admin';
/** Which envelope/header senders an authenticated submitter may use. */
export type SendAsPolicy = 'own' | 'domain' | 'any';

export interface Account {
  id: number;
  tenantId: number;
  domainId: number;
  localPart: string;
  /** Canonical lower-case address, the login name. */
  address: string;
  displayName: string | null;
  passwordHash: string | null;
  role: AccountRole;
  quotaBytes: number | null;
  quotaMessages: number | null;
  usedBytes: number;
  usedMessages: number;
  /** The account's change counter: the highest MODSEQ handed out (IMAP CONDSTORE, JMAP state). */
  modseq: number;
  disabled: boolean;
  sendAs: SendAsPolicy;
  createdAt: number;
}

export type AliasKind = 'alias' | 'group' | 'catchall';

export interface Alias {
  id: number;
  domainId: number;
  /** `local@domain`, or `@domain` for a catch-all. */
  address: string;
  kind: AliasKind;
  targets: string[];
  createdAt: number;
}

/** RFC 6154 special-use attributes a mailbox may carry. */
export type SpecialUse = '\\Inbox' | '\\Sent' | '\\Drafts' | '\\Junk' | '\\Trash' | '\\Archive' | '\\All' | '\\Flagged';

export interface Mailbox {
  id: number;
  accountId: number;
  /** Full hierarchical name, '/'-separated, UTF-8; the inbox is always 'INBOX'. */
  name: string;
  specialUse: SpecialUse | null;
  uidValidity: number;
  uidNext: number;
  /** Highest MODSEQ of any change in this mailbox (IMAP HIGHESTMODSEQ). */
  modseq: number;
  createdModseq: number;
  messages: number;
  unseen: number;
  deleted: number;
  /** Sum of message sizes in octets (STATUS SIZE). */
  size: number;
  /** First UID not yet announced as \Recent to any session (RFC 3501 section 2.3.2). */
  recentUid: number;
  /** Keywords ever used in this mailbox (IMAP FLAGS / PERMANENTFLAGS). */
  keywords: string[];
  createdAt: number;
}

/** One message in one mailbox. Flags are system flags (with backslash) and keywords. */
export interface MessageRecord {
  id: number;
  accountId: number;
  mailboxId: number;
  uid: number;
  /** Stable across COPY/MOVE: IMAP EMAILID, JMAP Email id. */
  emailId: number;
  threadId: number;
  bodyId: number;
  /** Per-recipient header lines before the shared body ('' mostly); size and offsets include it. */
  prefix: string;
  /** RFC822.SIZE: prefix plus body, in octets. */
  size: number;
  internalDate: number;
  saveDate: number;
  flags: string[];
  modseq: number;
  createdModseq: number;
}

/** Summary of a stored, parsed message content (one per distinct blob). */
export interface BodyRecord {
  id: number;
  hash: string;
  size: number;
}

export const SYSTEM_FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'] as const;
