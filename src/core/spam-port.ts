// The spam filter's own rows (sender authentication, connection checks, verdicts): the verdict stored
// with each delivered message, greylisting triplets and clients, and rate-limit counters. Shared by every
// node on one store, so a retry that lands on another node still finds its triplet.

/** One verdict as stored: for a delivered copy (account + message) or for a refused message (both null). */
export interface StoredVerdict {
  accountId: number | null;
  /** The message row (messages.id) of the delivered copy. */
  messageId: number | null;
  action: 'accept' | 'junk' | 'reject' | 'greylist';
  score: number;
  /** JSON of the symbols: [{name, score, detail?, force?}]. */
  symbols: string;
  clientIp: string | null;
  mailFrom: string | null;
  createdAt: number;
  /**
   * A refusal (no message): the local accounts it was addressed to, who may see it, each with its own
   * verdict (score, symbols JSON: its own lists and thresholds). Saved, not read back with the row.
   */
  refusedFor?: { accountId: number; score: number; symbols: string }[];
}

export interface GreylistTriplet {
  key: string;
  firstSeen: number;
  lastSeen: number;
  /** When a retry after the delay was let through; null while still waiting. */
  passedAt: number | null;
}

export interface GreylistClient {
  /** The client network: "a.b.c.0/24" or the /64 prefix. */
  net: string;
  /** Triplets this network has passed. */
  passes: number;
  lastSeen: number;
}

/**
 * An allow or block list entry (spam/lists/entry.ts): for every recipient (accountId and domainId null),
 * one account, or every account of one domain.
 */
export interface SenderListEntry {
  id: number;
  kind: 'allow' | 'block';
  accountId: number | null;
  domainId?: number | null;
  /** Normalised: "user@example.com", "example.com" (and its subdomains), "192.0.2.0/24" or an address. */
  entry: string;
  note: string;
  createdAt: number;
}

export interface SpamStore {
  saveVerdicts(rows: StoredVerdict[]): Promise<void>;
  /** Verdicts of one delivered message copy (normally one). */
  verdictsFor(accountId: number, messageId: number): Promise<StoredVerdict[]>;
  /** The first verdict of each of many message copies of one account, by message id (absent: none). */
  firstVerdicts(accountId: number, messageIds: number[]): Promise<Map<number, StoredVerdict>>;
  /** Refused or deferred verdicts (no message), newest first, for the admin. */
  recentRefusals(limit: number): Promise<StoredVerdict[]>;
  /** Refusals of messages addressed to one account, newest first, with that account's own score and symbols. */
  refusalsFor(accountId: number, limit: number): Promise<StoredVerdict[]>;
  /** Verdicts of one account's delivered copies, newest first, for the admin. */
  recentVerdicts(accountId: number, limit: number): Promise<StoredVerdict[]>;
  /**
   * Verdicts matching every filter given, newest first, at most `limit`: delivered copies and refusals
   * alike (`petrel spam verdicts --from/--ip`). `sender`: an address (exact) or a domain (addresses at it).
   */
  findVerdicts(f: { sender?: string; clientIp?: string; accountId?: number }, limit: number): Promise<StoredVerdict[]>;
  /** Every verdict stored since `since` (ms), newest first, at most `limit`: for `petrel spam stats`. */
  verdictsSince(since: number, limit: number): Promise<StoredVerdict[]>;

  getTriplet(key: string): Promise<GreylistTriplet | undefined>;
  /** Records a (new or restarted) triplet first seen now. */
  startTriplet(key: string, now: number): Promise<void>;
  /** A delivery attempt of a known triplet: lastSeen = now. */
  touchTriplet(key: string, now: number): Promise<void>;
  /** The triplet passed: passedAt = now (once), and its client network's pass count grows by one. */
  passTriplet(key: string, net: string, now: number): Promise<void>;
  getClient(net: string): Promise<GreylistClient | undefined>;
  /** An auto-whitelisted network sent again: its lastSeen = now, so `lifetime` counts from its last message. */
  touchClient(net: string, now: number): Promise<void>;

  /**
   * Counts one event for a key in a fixed window starting at windowStart; returns the count in that
   * window including this one (a new window starts at 1).
   */
  countRate(key: string, windowStart: number): Promise<number>;
  /** The count of a key in the window starting at windowStart, without counting (0 when none). */
  rateCount(key: string, windowStart: number): Promise<number>;
  /** Forgets a key's counts (every window): an admin lifting what they made happen. */
  clearRate(key: string): Promise<void>;

  /** Adds an entry; null when the same kind, scope and entry is already there. */
  addListEntry(e: Omit<SenderListEntry, 'id'>): Promise<SenderListEntry | null>;
  /**
   * Adds an entry to an account's own lists unless it is there already ('exists') or the account's lists
   * hold `max` entries in all ('full'). Counting and adding are one step: concurrent adds for one account
   * cannot take it past `max`.
   */
  addOwnListEntry(
    e: Omit<SenderListEntry, 'id' | 'accountId' | 'domainId'> & { accountId: number },
    max: number,
  ): Promise<SenderListEntry | 'exists' | 'full'>;
  /** Removes an entry (of the domain when domainId is given); false when there was none. */
  removeListEntry(
    kind: SenderListEntry['kind'],
    accountId: number | null,
    entry: string,
    domainId?: number,
  ): Promise<boolean>;
  /** Changes whenever an entry is added or removed: for caches of the lists. */
  listVersion(): Promise<string>;
  /** For the admin: every entry (no argument), the global ones (null), one account's, or one domain's. */
  listEntries(accountId?: number | null, domainId?: number): Promise<SenderListEntry[]>;
  /** The junk thresholds users chose for themselves (/account/spam), for those of these accounts that did. */
  userJunkScores(accountIds: number[]): Promise<Map<number, number>>;
  /** Sets (or with null, forgets) an account's own junk threshold. */
  setUserJunkScore(accountId: number, score: number | null, now: number): Promise<void>;
  /** Whether the account wants the daily Junk report: true, false, or null (never said: the server's way). */
  userJunkReport(accountId: number): Promise<boolean | null>;
  /** Sets (or with null, forgets) whether the account wants the daily Junk report. */
  setUserJunkReport(accountId: number, wanted: boolean | null, now: number): Promise<void>;

  /**
   * Deletes greylist rows last seen before `before`, rate windows before `rateBefore`, when given
   * verdicts made before `verdictsBefore` (in batches: a first prune of a long history does not hold the
   * writer for long) and triplets that never passed, last seen before `waitingBefore` (past the retry
   * window they are dead: the next attempt starts over). Returns rows removed.
   */
  prune(before: number, rateBefore: number, verdictsBefore?: number, waitingBefore?: number): Promise<number>;
  /**
   * Records a user's judgement of a message (by digest) for an account: 'new' when the account had not
   * judged it, 'changed' when it replaces the other class (the account changed its mind: what learned the
   * first judgement takes it back), 'same' when that judgement was recorded already (by any node).
   * Judgements older than `forgetBefore` are dropped now and then.
   */
  noteJudgement(
    accountId: number,
    digest: string,
    cls: 'spam' | 'ham',
    now: number,
    forgetBefore: number,
  ): Promise<'new' | 'changed' | 'same'>;
}
