// The reputation sub-store's contract: decaying spam/ham evidence per sender key (IP, network, domain,
// address) and Petrel's own digest store (decaying spam/ham report counts per body digest), shared by every node
// on the same database. Implemented once in SQL (store/sql/reputation.ts).

/** What a reputation row is about; the key is normalised by the caller (lower case, network prefix). */
/**
 * reply: a Message-ID our users sent; contact: an address our users wrote to (spam/checks/replies.ts);
 * trap: a client IP that sent to a spam trap (spam/checks/traps.ts).
 */
export type ReputationKind = 'ip' | 'net' | 'domain' | 'dkim' | 'from' | 'reply' | 'contact' | 'trap';

export interface ReputationKey {
  kind: ReputationKind;
  key: string;
}

/** The evidence for one key, decayed to the time asked for. */
export interface ReputationEntry extends ReputationKey {
  /** Weighted, decayed amounts of spam and ham evidence. */
  spam: number;
  ham: number;
  /**
   * The weighted, decayed amount of all evidence: spam and ham, and the part of verdicts that said
   * neither (a clean message that scored nothing). At least spam + ham.
   */
  total: number;
  /**
   * Observations, decayed as the evidence is (one a half-life ago counts 0.5): below a minimum, a sender is
   * neither trusted nor condemned, and one unseen for long is new again.
   */
  count: number;
  /** When the row was last updated (ms since epoch). */
  updatedAt: number;
}

export interface DigestCounts {
  digest: string;
  /** Reports, each decayed as reputation evidence is (one a half-life old counts 0.5). */
  spam: number;
  ham: number;
  /** When the counts last changed (ms since epoch). */
  lastSeen: number;
}

export interface ReputationStore {
  /**
   * Adds evidence to every key: the stored amounts are first decayed to `now` (half-life `halfLifeMs`),
   * then `spam` and `ham` are added (a negative amount takes evidence back; amounts never go below zero),
   * `total` to the total (spam + ham when not given) and the count, decayed too, incremented by
   * `observations` (1; 0 when a judgement replaces an earlier one). One transaction for all keys.
   */
  record(
    keys: ReputationKey[],
    delta: { spam: number; ham: number; total?: number },
    now: number,
    halfLifeMs: number,
    observations?: number,
  ): Promise<void>;
  /**
   * A user's judgement of the sender under `keys`, `weight` strong: each account counts once per key, as
   * in the digest store. A first judgement is recorded as `record` would; the same class again changes
   * nothing (unless the account's judgement is older than a half-life: then it is renewed to its full
   * weight); the other class takes back what is left of the account's earlier judgement (decayed since it
   * was given) and puts its full weight on the other side.
   */
  vote(
    keys: ReputationKey[],
    accountId: number,
    cls: 'spam' | 'ham',
    weight: number,
    now: number,
    halfLifeMs: number,
  ): Promise<void>;
  /** The rows that exist among `keys`, decayed to `now` (decay on read; nothing is written). */
  lookup(keys: ReputationKey[], now: number, halfLifeMs: number): Promise<ReputationEntry[]>;
  /**
   * Counts one spam or ham report for each digest (Petrel's own digest store), after decaying the stored
   * counts to `now` (half-life `halfLifeMs`). With `reporter` (an account), each account counts once per
   * digest, as `vote` counts a judgement: the same class again changes nothing unless the account's report
   * is older than a half-life (then it is renewed to a whole one); the other class takes back what is left
   * of the earlier report. Without (spam traps), every report counts.
   */
  reportDigests(
    digests: string[],
    cls: 'spam' | 'ham',
    now: number,
    halfLifeMs: number,
    reporter?: number | null,
  ): Promise<void>;
  /** The report counts of the digests that have any, decayed to `now` (nothing is written). */
  digestCounts(digests: string[], now: number, halfLifeMs: number): Promise<DigestCounts[]>;
  /** Deletes these digests' counts and the accounts' votes on them (an admin clears a wrongly condemned message); returns digests removed. */
  forgetDigests(digests: string[]): Promise<number>;
  /** Deletes these keys' rows and accounts' judgements of them (an admin forgives or forgets a sender); returns rows removed. */
  forget(keys: ReputationKey[]): Promise<number>;
  /**
   * Takes back every judgement of a removed account: what is left of each reputation vote (its `weight`
   * and one observation, decayed with `halfLifeMs` since it was given) and of each digest report (decayed
   * with `digestHalfLifeMs`); deletes the account's votes. Returns the votes taken back.
   */
  forgetAccount(
    accountId: number,
    now: number,
    opts: { halfLifeMs: number; weight: number; digestHalfLifeMs: number },
  ): Promise<number>;
  /**
   * Deletes reputation rows and judgements not updated since `before` (ms), rows of the kinds in `kinds`
   * (which keep their own half-life: replies, contacts, trap clients) since the time given for each
   * instead, and digests and the reports on them not updated since `digestsBefore` (`before` when not
   * given); returns rows removed.
   */
  prune(before: number, kinds?: Partial<Record<ReputationKind, number>>, digestsBefore?: number): Promise<number>;
}
