// A user's own spam settings, edited on the /account/spam pages. Allow and block lists: the account's scope
// of the same lists the admin edits with `petrel spam allow|block --account` (so both see one list),
// limited to what a user may decide for their own mail: sender addresses and domains (not IP addresses or
// networks, which concern everyone a server sends for), at most spam.lists.user_max_entries of them. And
// the junk threshold (spam.user_junk_score): stricter or more lenient than the admin's for them, from 1 up
// to their refusal threshold, which stays the admin's (SpamAssassin's per-user required_score). And what
// the filter refused for them: no copy of a refused message exists, so this is how a user learns that a
// sender's mail never arrived, and why, and can allow that sender.
import type { Config } from '../config/schema.ts';
import type { Store } from '../core/ports.ts';
import type { SenderListEntry } from '../core/spam-port.ts';
import { thresholdsLookup } from './inbound.ts';
import { parseEntry } from './lists/entry.ts';
import type { Thresholds } from './pipeline.ts';

export type ListKind = SenderListEntry['kind'];

export interface OwnSpamSettings {
  allow: { entry: string; createdAt: number }[];
  block: { entry: string; createdAt: number }[];
  /** Entries the user may keep in all (both lists); 0: the lists are not the user's to edit. */
  max: number;
  /** The junk threshold: the user's own (null: none chosen), the admin's, and the refusal threshold. */
  junkScore?: { own: number | null; default: number; reject: number };
  /** The daily Junk report, when the server sends one: "daily" or "never" for this user. */
  junkReport?: 'daily' | 'never';
  /** Mail for this user the filter refused (550 during DATA), newest first: the answer to "X never arrived". */
  refused: RefusedForUser[];
}

export interface RefusedForUser {
  at: number;
  /** The envelope sender ('' for a bounce). */
  from: string;
  score: number;
  /** The names of the symbols that scored, highest first (not their details: a local rule's pattern stays the admin's). */
  reasons: string[];
}

/** Refusals shown (spam.verdicts_keep prunes them after as many days as the other verdicts). */
const REFUSED_SHOWN = 20;

/** The smallest junk threshold a user may choose: below it, ordinary mail (score 0) would go to Junk. */
const MIN_JUNK = 1;

/** A refusal to say to the user: 400 for a value that is not one (an entry, a threshold), 409 for a full list. */
export class SettingError extends Error {
  readonly status: 400 | 409;
  constructor(status: 400 | 409, message: string) {
    super(message);
    this.status = status;
  }
}

const NOTE = 'added by the user';

export class AccountSpamSettings {
  private readonly store: Store;
  private readonly max: number;
  /** The admin's thresholds for an address; absent: users may not choose their junk threshold. */
  private readonly thresholds: ((address: string) => Thresholds) | undefined;
  /** The server sends the daily Junk report (spam.junk_report): the user may say no. */
  private readonly junkReport: boolean;
  constructor(
    store: Store,
    opts: { maxEntries: number; thresholds?: (address: string) => Thresholds; junkReport?: boolean },
  ) {
    this.store = store;
    this.max = opts.maxEntries;
    this.thresholds = opts.thresholds;
    this.junkReport = opts.junkReport ?? false;
  }

  get listsEditable(): boolean {
    return this.max > 0;
  }

  get junkScoreEditable(): boolean {
    return this.thresholds !== undefined;
  }

  async show(account: { id: number; address: string }): Promise<OwnSpamSettings> {
    const out: OwnSpamSettings = { allow: [], block: [], max: this.max, refused: [] };
    for (const e of await this.store.spam.listEntries(account.id))
      out[e.kind].push({ entry: e.entry, createdAt: e.createdAt });
    if (this.thresholds) {
      const t = this.thresholds(account.address);
      const own = (await this.store.spam.userJunkScores([account.id])).get(account.id) ?? null;
      out.junkScore = { own, default: t.junk, reject: t.reject };
    }
    if (this.junkReport)
      out.junkReport = (await this.store.spam.userJunkReport(account.id)) === false ? 'never' : 'daily';
    for (const v of await this.store.spam.refusalsFor(account.id, REFUSED_SHOWN)) {
      const symbols = JSON.parse(v.symbols) as { name: string; score: number; force?: string }[];
      const reasons = symbols
        .filter((x) => x.score > 0 || x.force === 'reject')
        .sort((a, b) => b.score - a.score)
        .map((x) => x.name);
      out.refused.push({ at: v.createdAt, from: v.mailFrom ?? '', score: v.score, reasons });
    }
    return out;
  }

  /** "daily" or "never": whether the user gets the daily Junk report. */
  async setJunkReport(accountId: number, input: string): Promise<'daily' | 'never'> {
    if (!this.junkReport) throw new SettingError(409, 'this server sends no Junk report');
    const v = input.trim().toLowerCase();
    if (v !== 'daily' && v !== 'never') throw new SettingError(400, 'the Junk report is "daily" or "never"');
    await this.store.spam.setUserJunkReport(accountId, v === 'daily', Date.now());
    return v;
  }

  /** Sets the account's own junk threshold, or with an empty input goes back to the admin's. */
  async setJunkScore(account: { id: number; address: string }, input: string): Promise<number | null> {
    if (!this.thresholds) throw new SettingError(409, 'choosing your own junk threshold is turned off on this server');
    const text = input.trim();
    if (text === '') {
      await this.store.spam.setUserJunkScore(account.id, null, Date.now());
      return null;
    }
    const { reject } = this.thresholds(account.address);
    const score = Number(text);
    if (!/^-?\d+(\.\d+)?$/.test(text) || !Number.isFinite(score) || score < MIN_JUNK || score > reject)
      throw new SettingError(400, `the junk threshold is a number from ${MIN_JUNK} to ${reject}`);
    const rounded = Math.round(score * 10) / 10;
    await this.store.spam.setUserJunkScore(account.id, rounded, Date.now());
    return rounded;
  }

  /** Adds an entry; false when it was there already. Throws SettingError for what the user must change. */
  async add(accountId: number, kind: ListKind, input: string): Promise<{ entry: string; added: boolean }> {
    if (this.max === 0) throw new SettingError(409, 'editing your own lists is turned off on this server');
    const entry = this.parse(input);
    const have = await this.store.spam.listEntries(accountId);
    if (have.some((e) => e.kind === kind && e.entry === entry)) return { entry, added: false };
    if (have.length >= this.max)
      throw new SettingError(409, `your lists are full (${this.max} entries): remove one first`);
    const added = await this.store.spam.addListEntry({
      kind,
      accountId,
      domainId: null,
      entry,
      note: NOTE,
      createdAt: Date.now(),
    });
    return { entry, added: added !== null };
  }

  /** Removes an entry; false when it was not on the list. */
  async remove(accountId: number, kind: ListKind, input: string): Promise<{ entry: string; removed: boolean }> {
    const p = parseEntry(input);
    // Whatever is on the account's own list can go, also an address the user could not add (an admin's IP).
    const entry = 'error' in p ? input.trim().toLowerCase() : p.value;
    return { entry, removed: await this.store.spam.removeListEntry(kind, accountId, entry) };
  }

  private parse(input: string): string {
    if (input.length > 320) throw new SettingError(400, 'too long for an address or a domain');
    const p = parseEntry(input);
    if ('error' in p) throw new SettingError(400, p.error);
    if (p.type === 'network')
      throw new SettingError(400, 'IP addresses and networks are for the administrator; give an address or a domain');
    return p.value;
  }
}

/** What users may change of their spam filtering, by the config; undefined when nothing (no /account/spam). */
export function userSpamSettings(config: Config, store: Store): AccountSpamSettings | undefined {
  const spam = config.spam;
  if (!spam.enabled) return undefined;
  const maxEntries = spam.lists.enabled ? spam.lists.user_max_entries : 0;
  const thresholds = spam.user_junk_score ? thresholdsLookup(spam) : undefined;
  const junkReport = spam.junk_report.enabled;
  return maxEntries > 0 || thresholds || junkReport
    ? new AccountSpamSettings(store, { maxEntries, thresholds, junkReport })
    : undefined;
}
