// Ports: the interfaces services and protocols use; store/ implements them, server/ wires them.

import type { Readable } from 'node:stream';
import type { AuthStore } from './auth-port.ts';
import type { BayesStore } from './bayes-port.ts';
import type { KeyStore } from './key-port.ts';
import type { LeaseStore } from './lease-port.ts';
import type {
  Account,
  AccountRole,
  Alias,
  AliasKind,
  Domain,
  Mailbox,
  MessageRecord,
  SendAsPolicy,
  SpecialUse,
  Tenant,
} from './model.ts';
import type { MtaStsStore } from './mta-sts-port.ts';
import type { OAuthStore } from './oauth-port.ts';
import type { ReceivedReportStore } from './received-reports-port.ts';
import type { PeriodReportStore } from './report-port.ts';
import type { ReputationStore } from './reputation-port.ts';
import type { SpamStore } from './spam-port.ts';

export interface NewAccount {
  address: string;
  localPart: string;
  domainId: number;
  tenantId: number;
  passwordHash: string | null;
  role?: AccountRole;
  displayName?: string | null;
  quotaBytes?: number | null;
  quotaMessages?: number | null;
  sendAs?: SendAsPolicy;
}

export interface AccountPatch {
  passwordHash?: string | null;
  displayName?: string | null;
  role?: AccountRole;
  quotaBytes?: number | null;
  quotaMessages?: number | null;
  disabled?: boolean;
  sendAs?: SendAsPolicy;
}

/** Tenants, domains, accounts and aliases: who exists and where mail for an address goes. */
export interface DirectoryStore {
  createTenant(t: { name: string; quotaBytes?: number | null; quotaMessages?: number | null }): Promise<Tenant>;
  getTenant(idOrName: number | string): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  updateTenantQuota(id: number, quotaBytes: number | null, quotaMessages: number | null): Promise<void>;

  createDomain(d: { name: string; tenantId: number; quotaBytes?: number | null }): Promise<Domain>;
  getDomain(idOrName: number | string): Promise<Domain | undefined>;
  listDomains(tenantId?: number): Promise<Domain[]>;
  updateDomainQuota(id: number, quotaBytes: number | null, quotaMessages: number | null): Promise<void>;
  /** Removes a domain that has no accounts or aliases left. */
  deleteDomain(id: number): Promise<void>;

  createAccount(a: NewAccount): Promise<Account>;
  getAccount(idOrAddress: number | string): Promise<Account | undefined>;
  listAccounts(filter?: { domainId?: number; tenantId?: number }): Promise<Account[]>;
  updateAccount(id: number, patch: AccountPatch): Promise<void>;
  /** Deletes the account and everything it owns (mailboxes, messages). */
  deleteAccount(id: number): Promise<void>;

  createAlias(a: { address: string; domainId: number; kind: AliasKind; targets: string[] }): Promise<Alias>;
  getAlias(address: string): Promise<Alias | undefined>;
  listAliases(filter?: { domainId?: number; target?: string }): Promise<Alias[]>;
  deleteAlias(id: number): Promise<void>;

  /** Usage summed over a domain's or a tenant's accounts. */
  usage(scope: 'domain' | 'tenant', id: number): Promise<{ bytes: number; messages: number }>;
}

/** One message to add to a mailbox. Its body is stored (once per hash) in the same transaction. */
export interface AppendItem {
  accountId: number;
  mailboxId: number;
  body: NewBody;
  /** Per-recipient header lines (CRLF-terminated) placed before the shared body, e.g. Delivered-To. */
  prefix?: string;
  flags: string[];
  internalDate: number;
  /** Thread linking: the message's own id and the ids it refers to (no angle brackets). */
  messageId: string | null;
  references: string[];
  /**
   * Not held to quotas: the server's own mail (DSNs, reports). Any other item that would take its account,
   * domain or tenant past a limit fails the append with OVER_QUOTA (checked inside the transaction).
   */
  skipQuota?: boolean;
}

export interface AppendResult {
  mailboxId: number;
  uid: number;
  uidValidity: number;
  modseq: number;
  id: number;
  emailId: number;
  threadId: number;
}

export type FlagOp = 'add' | 'remove' | 'set';

export interface FlagUpdateResult {
  /** Messages whose flags changed (new flags and modseq; `before`: their flags until this change). */
  updated: { uid: number; flags: string[]; modseq: number; before: string[] }[];
  /** UIDs refused because their modseq was above UNCHANGEDSINCE (RFC 7162 section 3.1.3). */
  modified: number[];
  modseq: number;
}

/** Keywords to change on messages as they are copied or moved (removed first, then added). */
export interface KeywordChange {
  add: string[];
  remove: string[];
}

export interface CopyResult {
  uidValidity: number;
  /** [source uid, destination uid] in source order. */
  pairs: [number, number][];
  modseq: number;
}

/**
 * The version of the full-text rows a body is given (bodies.index_version): the text the parser extracts
 * for search (mailbox/content.ts indexText) and the folding the store applies. Bump it when either changes,
 * so `petrel mail reindex` rebuilds the rows written before and `serve` says how many there are. 0: a row
 * written before versions were recorded (text/plain and text/html only, no part headers, cut at a NUL on
 * SQLite, text_cut never set).
 */
export const SEARCH_INDEX_VERSION = 1;

/** A body whose full-text row an older indexer wrote (`version`, its SEARCH_INDEX_VERSION). */
export interface StaleTextBody {
  id: number;
  version: number;
  hash: string;
  size: number;
}

/** A body's full-text row rebuilt from its blob by the current indexer (`petrel mail reindex`). */
export interface ReindexedBody {
  id: number;
  hash: string;
  headerText: string;
  bodyText: string;
  textCut: boolean;
}

export interface NewBody {
  hash: string;
  size: number;
  /** The parsed structure, envelope and decoded headers: objects, or their JSON text already serialised. */
  structure: unknown;
  envelope: unknown;
  headers: unknown;
  sentDate: number | null;
  subject: string;
  sortSubject: string;
  sortFrom: string;
  sortTo: string;
  sortCc: string;
  messageId: string | null;
  preview: string;
  hasAttachment: boolean;
  /** Full-text index input. */
  headerText: string;
  bodyText: string;
  /** The index input stops short of the message's text (a cap): searchText cannot rule the message out. */
  textCut: boolean;
  /** Octets as CRLF-terminated lines (mime/crlf.ts): what POP3 LIST counts and RETR sends. Absent: computed later. */
  crlfSize?: number;
  /** The raw message, when the blob store lets the metadata store keep it (BlobStore.inlineMax). */
  raw?: Buffer;
}

/** Parsed content of a stored body, as delivery saved it. */
export interface StoredBody {
  id: number;
  hash: string;
  size: number;
  structure: unknown;
  envelope: unknown;
  headers: unknown;
  sentDate: number | null;
  subject: string;
  sortSubject: string;
  sortFrom: string;
  sortTo: string;
  sortCc: string;
  messageId: string | null;
  preview: string;
  hasAttachment: boolean;
  /** Octets as CRLF-terminated lines (mime/crlf.ts); null when not yet computed (bodies stored before it existed). */
  crlfSize: number | null;
}

export type TextField = 'header' | 'body' | 'text';

/** Mailboxes and messages: every mutation bumps the account's MODSEQ once and records what changed. */
export interface MailStore {
  listMailboxes(accountId: number): Promise<Mailbox[]>;
  getMailbox(accountId: number, idOrName: number | string): Promise<Mailbox | undefined>;
  createMailbox(accountId: number, name: string, specialUse?: SpecialUse | null): Promise<Mailbox>;
  /** Renames a mailbox and every mailbox below it; UIDVALIDITY is kept (RFC 9051 section 6.3.6). */
  renameMailbox(accountId: number, id: number, newName: string): Promise<void>;
  /** Deletes the mailbox and its messages; its children remain. */
  deleteMailbox(accountId: number, id: number): Promise<void>;
  setSpecialUse(accountId: number, id: number, specialUse: SpecialUse | null): Promise<void>;
  listSubscriptions(accountId: number): Promise<string[]>;
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;
  /** Mailboxes destroyed after modseq (JMAP Mailbox/changes). */
  mailboxesDestroyedSince(accountId: number, modseq: number): Promise<number[]>;
  /** Takes the \Recent claim: returns the first recent UID for this session and moves the mark to UIDNEXT. */
  claimRecent(mailboxId: number): Promise<number>;

  getBody(id: number): Promise<StoredBody | undefined>;
  getBodies(ids: number[]): Promise<StoredBody[]>;
  /** Records a body's CRLF size once it has been computed from the blob (bodies stored without one). */
  setBodyCrlfSize(id: number, crlfSize: number): Promise<void>;

  /** Adds messages, possibly to many mailboxes of many accounts, in one transaction (group commit). */
  append(items: AppendItem[]): Promise<AppendResult[]>;
  /** Every UID of a mailbox, ascending (SELECT). */
  listUids(mailboxId: number): Promise<number[]>;
  /** The `limit` highest UIDs of a mailbox, descending (the newest messages, without reading every UID). */
  newestUids(mailboxId: number, limit: number): Promise<number[]>;
  /** The lowest UID without \Seen, or null (IMAP rev1 SELECT `UNSEEN`). */
  firstUnseenUid(mailboxId: number): Promise<number | null>;
  /** Messages of a mailbox, ascending by UID, optionally bounded and filtered by modseq > changedSince. */
  listMessages(
    mailboxId: number,
    opts?: { uids?: number[]; fromUid?: number; toUid?: number; changedSince?: number },
  ): Promise<MessageRecord[]>;
  /** UID, flags and MODSEQ only, ascending by UID (IMAP FETCH FLAGS, change announcements): a lean read. */
  listFlags(
    mailboxId: number,
    opts?: { fromUid?: number; toUid?: number; changedSince?: number },
  ): Promise<{ uid: number; flags: string[]; modseq: number }[]>;
  /** UIDs expunged after modseq (QRESYNC VANISHED); `complete` is false when tombstones were pruned. */
  expungedSince(mailboxId: number, modseq: number): Promise<{ uids: number[]; complete: boolean }>;
  updateFlags(
    mailboxId: number,
    uids: number[],
    op: FlagOp,
    flags: string[],
    unchangedSince?: number,
    /** Keywords taken off in the same change (the junk keyword opposite to one being set). */
    alsoRemove?: string[],
  ): Promise<FlagUpdateResult>;
  expunge(mailboxId: number, uids: number[]): Promise<{ uids: number[]; modseq: number }>;
  /**
   * POP3's UPDATE state (RFC 1939 section 6) as one change: adds \Seen to `seen` (those not expunged here
   * and not already seen) and expunges `expunge`, in one transaction under one MODSEQ. Returns the UIDs
   * actually marked and expunged.
   */
  expungeAndMarkSeen(
    mailboxId: number,
    expunge: number[],
    seen: number[],
  ): Promise<{ expunged: number[]; seen: number[]; modseq: number }>;
  /**
   * Messages in mailboxes of one special use (\Junk, \Trash) saved there before `savedBefore` (epoch ms,
   * RFC 8514 SAVEDATE): what retention deletes. At most `limit`, in no particular order.
   */
  retentionCandidates(
    specialUse: string,
    savedBefore: number,
    limit: number,
  ): Promise<{ accountId: number; mailboxId: number; uid: number }[]>;
  /**
   * Messages in mailboxes of one special use saved there in [from, to) (epoch ms, SAVEDATE), by account
   * then id, after the cursor `after` (the last account and id seen), at most `limit`: what the daily Junk
   * report lists, one account after the other.
   */
  savedBetween(
    specialUse: string,
    from: number,
    to: number,
    after: { accountId: number; id: number },
    limit: number,
  ): Promise<MessageRecord[]>;
  /** The copies keep their flags, with `keywords` (if given) added and removed in the same transaction. */
  copy(srcMailboxId: number, uids: number[], dstMailboxId: number, keywords?: KeywordChange): Promise<CopyResult>;
  /** COPY then expunge the sources, atomically (RFC 6851). */
  move(
    srcMailboxId: number,
    uids: number[],
    dstMailboxId: number,
    keywords?: KeywordChange,
  ): Promise<CopyResult & { expungeModseq: number }>;
  /** UIDs in the mailbox whose indexed text contains `needle` (case-insensitive substring). */
  searchText(mailboxId: number, field: TextField, needle: string): Promise<number[]>;
  /** UIDs in the mailbox whose indexed text was cut (NewBody.textCut), ascending: search reads those messages. */
  textCutUids(mailboxId: number): Promise<number[]>;
  /**
   * Bodies whose full-text row is older than SEARCH_INDEX_VERSION: the first `limit` after `after` in
   * (version, id) order (start at { version: 0, id: 0 }; the last row is the next cursor), or those among
   * `ids`, ascending by id.
   */
  staleTextBodies(
    opts: { after: { version: number; id: number }; limit: number } | { ids: number[] },
  ): Promise<StaleTextBody[]>;
  /** How many bodies have a full-text row older than SEARCH_INDEX_VERSION. */
  staleTextCount(): Promise<number>;
  /** The distinct bodies of an account's messages, ascending. */
  accountBodyIds(accountId: number): Promise<number[]>;
  /**
   * Replaces the full-text rows of these bodies and marks them current, in one transaction; a body gone
   * meanwhile (its last message expunged) is skipped. Returns how many were replaced.
   */
  rewriteBodyText(bodies: ReindexedBody[]): Promise<number>;
}

/** Content-addressed storage of raw messages (SHA-256 hex ids). */
export interface BlobStore {
  /**
   * Messages up to this size may be written by the metadata store itself, in the transaction that
   * references them (NewBody.raw); 0 when this store keeps every blob itself.
   */
  readonly inlineMax: number;
  /** Stores bytes durably (on disk before it resolves); returns the hash. Storing existing content is a no-op. */
  put(data: Buffer): Promise<{ hash: string; size: number }>;
  /** The whole blob; `size`, when the caller knows it (bodies record it), saves a stat. */
  get(hash: string, size?: number): Promise<Buffer>;
  /** Many whole blobs at once (read-ahead of a POP3 maildrop); each entry is the blob or its error. */
  getMany(items: { hash: string; size?: number }[]): Promise<(Buffer | Error)[]>;
  /** A byte range [start, end) as a stream (FETCH BODY[]<partial>, POP3 RETR). */
  stream(hash: string, start?: number, end?: number): Promise<Readable>;
  has(hash: string): Promise<boolean>;
  /**
   * Removes the blob; true when it was there. With `touched` (what touchedAt answered), only when no put has
   * stored or reused it since, decided atomically with respect to puts: a put either changes what this sees
   * or stores the blob anew after it. Garbage collection deletes so, or it could take content a delivery
   * reused (content is stored once per SHA-256) between its check and its delete.
   */
  delete(hash: string, touched?: number): Promise<boolean>;
  /** Every stored hash (garbage collection). */
  list(): AsyncIterable<string>;
  /**
   * When the blob was last written or re-put (ms), as stored with it (a file's mtime, a row's column): garbage
   * collection's grace, the same after a restart and on every node; null when there is no such blob.
   */
  touchedAt(hash: string): Promise<number | null>;
  /**
   * Removes what puts a crash cut short left (temporary files) untouched since `before` (ms), and puts back
   * what a delete with `touched` set aside and a crash left there; how many it removed.
   */
  sweepTemporary?(before: number): Promise<number>;
}

/**
 * What changed, published after a commit; IMAP IDLE, JMAP push and POP3 listen. `account`: the account was
 * removed or disabled, or a credential of it changed or was revoked (modseq 0): its sessions ask whether
 * they may go on (AuthService.stillSignedIn).
 */
export interface MailEvent {
  accountId: number;
  mailboxId?: number;
  modseq: number;
  kind: 'append' | 'flags' | 'expunge' | 'mailbox' | 'account';
}

export interface EventBus {
  publish(e: MailEvent): void;
  /** Returns an unsubscribe function. */
  subscribe(accountId: number, fn: (e: MailEvent) => void): () => void;
}

export interface Clock {
  now(): number;
}

/** One MX record (RFC 5321 section 5.1); a null MX (RFC 7505) has exchange ''. */
export interface MxRecord {
  exchange: string;
  priority: number;
}

/**
 * The one DNS resolver every part of the server uses (src/dns). A name that exists without records of the
 * type answers []; a name that does not exist throws a DnsError with code NXDOMAIN; anything else (timeout,
 * SERVFAIL, refused) throws a DnsError with code TEMPFAIL. Names are given as A-labels or U-labels.
 */
export interface Resolver {
  mx(domain: string): Promise<MxRecord[]>;
  a(name: string): Promise<string[]>;
  aaaa(name: string): Promise<string[]>;
  /** Each record as its list of character-strings (join them to read an SPF or DKIM record). */
  txt(name: string): Promise<string[][]>;
  /** Names for an IPv4 or IPv6 address (the in-addr.arpa / ip6.arpa lookup). */
  ptr(ip: string): Promise<string[]>;
}

export interface Store extends DirectoryStore, MailStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** The outbound queue's rows (src/queue runs it). */
  readonly queue: QueueStore;
  /** The spam filter's rows: verdicts, greylisting, rate limits (src/spam). */
  readonly spam: SpamStore;
  /** Sender reputation and Petrel's own spam digest store (src/spam). */
  readonly reputation: ReputationStore;
  /** App passwords, SCRAM verifiers, second factor (src/auth). */
  readonly auth: AuthStore;
  /** The OpenID Provider's models and secrets, TOTP replay marks (src/oauth). */
  readonly oauth: OAuthStore;
  /** The Bayes classifier's token tables (src/spam/bayes). */
  readonly bayes: BayesStore;
  /** Named leases shared by nodes: the POP3 maildrop lock (src/pop3/locks.ts). */
  readonly leases: LeaseStore;
  /** DMARC aggregate report data gathered from inbound mail (src/spam/dmarc-reports). */
  readonly dmarc: PeriodReportStore;
  /** SMTP TLS reporting (RFC 8460) data gathered from outbound sessions (src/queue/tls-reports). */
  readonly tlsReports: PeriodReportStore;
  /** MTA-STS policies of recipient domains, cached (src/queue/mta-sts). */
  readonly mtaSts: MtaStsStore;
  /** DMARC and TLS reports other servers sent about our domains (src/reports/incoming). */
  readonly receivedReports: ReceivedReportStore;
  /** Key material every node shares: DKIM signing keys, ACME account, certificates and challenges (src/dkim, src/acme). */
  readonly keys: KeyStore;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** One recipient of an outbound message, with its DSN parameters (RFC 3461). */
export interface OutboundRecipient {
  address: string;
  /** ORCPT as given (addr-type;xtext-decoded address), if any. */
  orcpt?: string;
  /** NOTIFY: which DSNs the sender wants; undefined means the default (FAILURE, and DELAY at our discretion). */
  notify?: ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER';
}

/** A message to send to other servers; the queue makes it durable, signs it (DKIM), retries, bounces. */
export interface OutboundMessage {
  /** Envelope sender; '' is the null reverse-path (bounces: never bounced themselves). */
  from: string;
  recipients: OutboundRecipient[];
  raw: Buffer;
  envId?: string;
  ret?: 'FULL' | 'HDRS';
  smtpUtf8?: boolean;
  requireTls?: boolean;
  bodyType?: '7BIT' | '8BITMIME' | 'BINARYMIME';
  /** The authenticated submitter, when there is one. */
  accountId?: number;
  /**
   * false: never DKIM-sign (mail from the internet that an alias forwards: its From may claim one of our
   * domains, and our signature must not vouch for it). Default: sign when the author domain is ours.
   */
  dkimSign?: boolean;
}

/** A message local mailboxes take for recipients whose NOTIFY asked for SUCCESS (RFC 3461 section 5.2.3). */
export interface DeliveredNotice {
  /** The envelope sender, to whom the DSN goes ('' gets none). */
  from: string;
  /** The id the 250 names (logged with the notice's queue id). */
  id: string;
  /** The RCPT addresses delivered, with their ORCPT. */
  recipients: { address: string; orcpt?: string }[];
  /** The message as stored (what RET=FULL returns), in the blob store: the notice holds a reference. */
  content: { hash: string; size: number };
  envId?: string;
  ret?: 'FULL' | 'HDRS';
  requireTls?: boolean;
  smtpUtf8?: boolean;
  arrivalDate: number;
}

/** The outbound queue as SMTP submission and alias forwarding see it. */
export interface OutboundQueue {
  /** Durably queues the message (on disk before this resolves); returns its queue id. */
  enqueue(m: OutboundMessage): Promise<string>;
  /**
   * The queue row of the "delivered" DSN a local delivery owes (a notice: reported by the runner, never
   * sent), for the delivery to write in its own transaction (MailService.deliver's `owes`); `kick` after it.
   */
  deliveredNotice?(n: DeliveredNotice): NewQueuedMessage;
  /** New work is due now: the runner looks at once instead of at its next timer. */
  kick?(): void;
}

/** NOTIFY as the queue keeps it: a list, 'NEVER', or null for the default (FAILURE and DELAY). */
export type NotifyValue = ('SUCCESS' | 'FAILURE' | 'DELAY')[] | 'NEVER' | null;

export interface NewQueuedMessage {
  queueId: string;
  from: string;
  /** The content to send (already DKIM-signed), in the blob store; the queue holds one blob reference. */
  blobHash: string;
  size: number;
  envId: string | null;
  ret: 'FULL' | 'HDRS' | null;
  smtpUtf8: boolean;
  requireTls: boolean;
  /**
   * "TLS-Required: No" (RFC 8689 section 3): the recipient domain's TLS policy (MTA-STS) is not applied;
   * STARTTLS is still used when offered. For reports about broken TLS (TLS-RPT) and the like.
   */
  tlsOptional: boolean;
  bodyType: '7BIT' | '8BITMIME' | 'BINARYMIME' | null;
  accountId: number | null;
  createdAt: number;
  /** After this the message is given up (DSN "failed"). */
  expiresAt: number;
  /** When a delay DSN is due, or null for never. */
  warnAt: number | null;
  /**
   * A delivery notice: local mailboxes already took the message for these recipients, and what is owed is
   * the "delivered" DSN (RFC 3461 section 5.2.3), which the runner makes as it records them; nothing is sent.
   */
  notice?: boolean;
  recipients: { address: string; domain: string; orcpt: string | null; notify: NotifyValue }[];
}

export interface QueuedMessage extends Omit<NewQueuedMessage, 'recipients' | 'notice'> {
  id: number;
  notice: boolean;
  /** On hold (`petrel queue hold`, Postfix's postsuper -h): never attempted until released. */
  held: boolean;
}

export type RecipientStatus = 'queued' | 'sent' | 'failed';

export interface QueuedRecipient {
  id: number;
  messageId: number;
  address: string;
  /** A-label, the routing key. */
  domain: string;
  orcpt: string | null;
  notify: NotifyValue;
  status: RecipientStatus;
  attempts: number;
  nextAttempt: number;
  lastAttempt: number | null;
  /** Last reply or error, one line ("451 4.3.0 try later", "connect to ...: ECONNREFUSED"). */
  lastReply: string | null;
  /** Enhanced status code of the last outcome (RFC 3463). */
  lastStatus: string | null;
  /** The server that gave the last reply. */
  remoteMta: string | null;
  /** Whether the delay DSN went out. */
  warned: boolean;
  leaseOwner: string | null;
  leaseUntil: number | null;
}

/** A message and those of its recipients a call is about. */
export interface QueueEntry {
  message: QueuedMessage;
  recipients: QueuedRecipient[];
}

/** The outcome of one attempt for a leased recipient. */
export type RecipientUpdate = Pick<
  QueuedRecipient,
  'id' | 'status' | 'attempts' | 'nextAttempt' | 'lastAttempt' | 'lastReply' | 'lastStatus' | 'remoteMta' | 'warned'
>;

/**
 * A DSN with the outcomes it reports: written in the transaction that records them, and only when at least
 * one of them is recorded, so a crash leaves both or neither.
 */
export interface QueuedDsn {
  /** The recipients (of the reported message) whose outcomes it reports. */
  rcpts: number[];
  /** Its queue row, to a remote sender (or to an alias's outside targets). */
  message?: NewQueuedMessage;
  /** Its mailbox rows, to a local sender (the server's own mail: skipQuota). */
  local?: AppendItem[];
}

/**
 * The outbound queue in the store. Recipients are leased (owner + deadline) so several nodes can share one
 * queue; a lease that is neither updated nor released expires and the work becomes due again.
 */
export interface QueueStore {
  /** Adds a message and its recipients and takes a reference on its blob, in one transaction. */
  insert(m: NewQueuedMessage): Promise<QueuedMessage>;
  /**
   * A local delivery with the notice it owes (`notice` set: the "delivered" DSN), in one transaction: the
   * notice inserted as `insert` does, the mailbox rows appended as MailStore.append does (its results).
   */
  appendWithNotice(local: AppendItem[], notice: NewQueuedMessage): Promise<AppendResult[]>;
  /**
   * Leases up to `limit` due recipients (queued, next attempt reached, no live lease, message not on hold),
   * grouped by message;
   * none of the domains in `skipDomains` (those this node already sends to as much as it may).
   */
  lease(owner: string, now: number, leaseMs: number, limit: number, skipDomains?: string[]): Promise<QueueEntry[]>;
  /**
   * Records outcomes of recipients this owner leased and ends their leases; a message with no queued
   * recipient left is deleted and its blob reference released, and the DSNs reporting recorded outcomes
   * are queued or appended to local mailboxes, all in the same transaction. Returns the queue ids of the
   * messages deleted (done) and of the DSNs queued, and the mailbox rows appended (by index in `dsns`).
   */
  update(
    owner: string,
    updates: RecipientUpdate[],
    dsns?: QueuedDsn[],
  ): Promise<{ done: string[]; queued: string[]; appended: { dsn: number; results: AppendResult[] }[] }>;
  /** Gives leases back unchanged (shutdown); all of the owner's when ids is omitted. */
  release(owner: string, ids?: number[]): Promise<number>;
  /**
   * Extends to `until` the leases of those `ids` this owner still holds (a delivery still running);
   * returns the ids renewed: a recipient another owner took over or that was settled is not among them.
   */
  renew(owner: string, ids: number[], until: number): Promise<number[]>;
  /** The earliest time some queued recipient (not held, not in `skipDomains`) may become due, or null. */
  nextDue(skipDomains?: string[]): Promise<number | null>;
  /** Messages in the queue, oldest first, with all their recipients. */
  list(limit?: number): Promise<QueueEntry[]>;
  /** What waits to be delivered: messages, recipients, and recipients already tried at least once. */
  counts(): Promise<{ messages: number; recipients: number; deferred: number }>;
  get(queueId: string): Promise<QueueEntry | undefined>;
  /** Makes the queued recipients of a message (or of every message) due now; returns how many. */
  retryNow(queueId: string | null, now: number): Promise<number>;
  /**
   * Puts a message (or every message) on hold, or releases it, making its queued recipients due at `now`;
   * returns how many messages changed (one already so is not counted).
   */
  setHeld(queueId: string | null, held: boolean, now: number): Promise<number>;
  /**
   * Leases every queued recipient of a message, held or not and due or not, to `owner` (the administrator's
   * bounce); 'busy' when one of them is under a live lease (a delivery under way), undefined for no message.
   */
  leaseMessage(queueId: string, owner: string, now: number, leaseMs: number): Promise<QueueEntry | 'busy' | undefined>;
  /** Removes a message without a DSN, releasing its blob reference; false when there is none. */
  delete(queueId: string): Promise<boolean>;
}
