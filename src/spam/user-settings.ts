// A user's own spam settings, edited on the /account/spam pages. Allow and block lists: the account's scope
// of the same lists the admin edits with `petrel spam allow|block --account` (so both see one list),
// limited to what a user may decide for their own mail: sender addresses and domains (not IP addresses or
// networks, which concern everyone a server sends for), at most spam.lists.user_max_entries of them. And
// the junk threshold (spam.user_junk_score): stricter or more lenient than the admin's for them, from 1 up
// to their refusal threshold, which stays the admin's (SpamAssassin's per-user required_score). And what
// the filter refused for them: no copy of a refused message exists, so this is how a user learns that a
// sender's mail never arrived, and why, and can allow that sender. And what is in their Junk mailbox, with
// "Not spam" to move a message to the INBOX (a quarantine release, as Proxmox Mail Gateway and mailcow
// offer), and their newest INBOX mail with "Spam" to move one into Junk: a POP3 user sees only the INBOX,
// and without these could neither get a wrongly junked message back nor teach the filter anything. Each is
// a move like an IMAP client's, so it teaches the filter the same way.
import { domainToASCII } from 'node:url';
import type { Config } from '../config/schema.ts';
import type { Store } from '../core/ports.ts';
import type { SenderListEntry } from '../core/spam-port.ts';
import { senderOf } from '../mailbox/junk-report.ts';
import type { MailService } from '../mailbox/service.ts';
import { thresholdsLookup } from './inbound.ts';
import { parseEntry } from './lists/entry.ts';
import type { Thresholds } from './pipeline.ts';
import { releaseKey, verifyReleaseToken } from './release-token.ts';

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
  /** The admin locked this user's lists and threshold (spam.user_settings_locked): shown, not editable. */
  locked?: true;
  /** Mail for this user the filter refused (550 during DATA), newest first: the answer to "X never arrived". */
  refused: RefusedForUser[];
  /** The newest messages in the user's Junk mailbox, newest first (absent: no mail service to read it). */
  junk?: MailItem[];
  /** The newest messages in their INBOX, newest first, to report one as spam (a POP3 user cannot otherwise). */
  inbox?: MailItem[];
}

export interface MailItem {
  /** Its UID in its mailbox: what "Not spam" or "Spam" (POST /account/spam/release, /report) names. */
  uid: number;
  date: number;
  from: string;
  subject: string;
  /** The filter's score for it (in Junk: only when the filter filed it there); null for what it never judged. */
  score: number | null;
}

type Box = 'junk' | 'inbox';

/** Messages listed per mailbox (the newest). */
const LISTED = 50;

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

/**
 * An entry of spam.user_settings_locked in the form account addresses are kept in: lower case, the domain
 * as its A-label (an admin may write "grundschüle.example"; the account is kid@xn--grundschle-xhb.example).
 */
function lockedForm(entry: string): string {
  const e = entry.trim().toLowerCase().replace(/^@/, '').replace(/\.$/, '');
  const at = e.lastIndexOf('@');
  const domain = e.slice(at + 1);
  return `${e.slice(0, at + 1)}${domainToASCII(domain) || domain}`;
}

export class AccountSpamSettings {
  private readonly store: Store;
  private readonly max: number;
  /** The admin's thresholds for an address; absent: users may not choose their junk threshold. */
  private readonly thresholds: ((address: string) => Thresholds) | undefined;
  /** The server sends the daily Junk report (spam.junk_report): the user may say no. */
  private readonly junkReport: boolean;
  /** Reads and moves the user's mail (the Junk list, "Not spam"); absent in tests of the settings alone. */
  private readonly mail: MailService | undefined;
  /** Addresses and domains whose lists and threshold the admin keeps (spam.user_settings_locked). */
  private readonly locked: Set<string>;
  constructor(
    store: Store,
    opts: {
      maxEntries: number;
      thresholds?: (address: string) => Thresholds;
      junkReport?: boolean;
      mail?: MailService;
      locked?: string[];
    },
  ) {
    this.store = store;
    this.max = opts.maxEntries;
    this.thresholds = opts.thresholds;
    this.junkReport = opts.junkReport ?? false;
    this.mail = opts.mail;
    this.locked = new Set((opts.locked ?? []).map(lockedForm));
  }

  /** Whether the admin keeps this user's lists and threshold: their address or its domain is locked. */
  isLocked(address: string): boolean {
    const a = address.toLowerCase();
    return this.locked.has(a) || this.locked.has(a.slice(a.lastIndexOf('@') + 1));
  }

  private refuseIfLocked(address: string): void {
    if (this.isLocked(address))
      throw new SettingError(
        409,
        `the administrator manages these settings for ${address.slice(address.lastIndexOf('@') + 1)}`,
      );
  }

  get listsEditable(): boolean {
    return this.max > 0;
  }

  get junkScoreEditable(): boolean {
    return this.thresholds !== undefined;
  }

  async show(account: { id: number; address: string }): Promise<OwnSpamSettings> {
    const out: OwnSpamSettings = { allow: [], block: [], max: this.max, refused: [] };
    if (this.isLocked(account.address)) out.locked = true;
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
    if (this.mail) {
      out.junk = await this.listed(account.id, 'junk', this.mail);
      out.inbox = await this.listed(account.id, 'inbox', this.mail);
    }
    return out;
  }

  /** The newest messages of the account's Junk mailbox or INBOX, newest first. */
  private async listed(accountId: number, box: Box, mail: MailService): Promise<MailItem[]> {
    const mb = await this.mailbox(accountId, box);
    if (!mb) return [];
    const uids = await this.store.newestUids(mb.id, LISTED);
    const recs = uids.length ? await this.store.listMessages(mb.id, { uids }) : [];
    const bodies = await mail.bodiesFor([...new Set(recs.map((r) => r.bodyId))]);
    // The verdict was stored for the copy the filter filed; a moved copy is another row with the same
    // email id (stable across COPY and MOVE), which is that first copy's id. One query for the page.
    const verdicts = await this.store.spam.firstVerdicts(
      accountId,
      recs.flatMap((r) => [r.id, r.emailId]),
    );
    const out: MailItem[] = [];
    for (const r of recs.reverse()) {
      const v = verdicts.get(r.id) ?? verdicts.get(r.emailId);
      const b = bodies.get(r.bodyId);
      // In Junk, a score only when the filter put it there; in the INBOX, the score it was judged with.
      const score = v && (box === 'inbox' || v.action === 'junk') ? v.score : null;
      out.push({ uid: r.uid, date: r.internalDate, from: senderOf(b), subject: b?.subject || '(no subject)', score });
    }
    return out;
  }

  private async mailbox(accountId: number, box: Box) {
    const boxes = await this.store.listMailboxes(accountId);
    return box === 'junk'
      ? boxes.find((m) => m.specialUse === '\\Junk')
      : boxes.find((m) => m.name.toUpperCase() === 'INBOX');
  }

  /**
   * "Not spam": moves a message from the user's Junk mailbox to their INBOX, as a client's MOVE would (the
   * filter learns ham from it). False when no such message is in their Junk (moved or deleted meanwhile).
   */
  async release(accountId: number, input: string): Promise<{ uid: number; released: boolean }> {
    const r = await this.moveOne(accountId, input, 'junk', 'inbox');
    return { uid: r.uid, released: r.moved };
  }

  /** "Spam": moves a message from the user's INBOX to their Junk mailbox (the filter learns spam from it). */
  async report(accountId: number, input: string): Promise<{ uid: number; reported: boolean }> {
    const r = await this.moveOne(accountId, input, 'inbox', 'junk');
    return { uid: r.uid, reported: r.moved };
  }

  private async moveOne(
    accountId: number,
    input: string,
    from: Box,
    to: Box,
  ): Promise<{ uid: number; moved: boolean }> {
    if (!this.mail) throw new SettingError(409, 'moving mail is not available here');
    const uid = Number(input);
    if (!/^\d{1,10}$/.test(input.trim()) || !Number.isSafeInteger(uid) || uid < 1)
      throw new SettingError(400, 'name the message by its uid (a number)');
    const src = await this.mailbox(accountId, from);
    const dst = await this.mailbox(accountId, to);
    if (!src || !dst || (await this.store.listMessages(src.id, { uids: [uid] })).length === 0)
      return { uid, moved: false };
    const r = await this.mail.move(src, [uid], dst);
    return { uid, moved: r.pairs.length > 0 };
  }

  /**
   * The message a one-click "Not spam" link of the Junk report names (spam/release-token.ts), for the page
   * it opens: null for a link that is forged, expired or not for a Junk mailbox; `inJunk` false when the
   * message has left Junk meanwhile.
   */
  async linkTarget(token: string): Promise<{ subject: string; from: string; inJunk: boolean } | null> {
    const t = await this.linked(token);
    if (!t || !this.mail) return null;
    const [rec] = await this.store.listMessages(t.junk.id, { uids: [t.uid] });
    if (!rec) return { subject: '', from: '', inJunk: false };
    const b = (await this.mail.bodiesFor([rec.bodyId])).get(rec.bodyId);
    return { subject: b?.subject || '(no subject)', from: senderOf(b), inJunk: true };
  }

  /** Follows a "Not spam" link: the message to the INBOX of the account it names (a move, as release). */
  async releaseByLink(token: string): Promise<'released' | 'gone' | 'invalid'> {
    const t = await this.linked(token);
    if (!t || !this.mail) return 'invalid';
    const inbox = await this.mailbox(t.accountId, 'inbox');
    if (!inbox || (await this.store.listMessages(t.junk.id, { uids: [t.uid] })).length === 0) return 'gone';
    const r = await this.mail.move(t.junk, [t.uid], inbox);
    return r.pairs.length > 0 ? 'released' : 'gone';
  }

  private async linked(token: string) {
    const claims = verifyReleaseToken(await releaseKey(this.store.oauth), token, Date.now());
    if (!claims) return null;
    // A disabled account's links stop working as its sessions do: they neither show its mail nor move it.
    const account = await this.store.getAccount(claims.accountId);
    if (!account || account.disabled) return null;
    const junk = await this.store.getMailbox(claims.accountId, claims.mailboxId);
    if (junk?.accountId !== claims.accountId || junk.specialUse !== '\\Junk') return null;
    return { accountId: claims.accountId, uid: claims.uid, junk };
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
    this.refuseIfLocked(account.address);
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
  async add(
    account: { id: number; address: string },
    kind: ListKind,
    input: string,
  ): Promise<{ entry: string; added: boolean }> {
    if (this.max === 0) throw new SettingError(409, 'editing your own lists is turned off on this server');
    this.refuseIfLocked(account.address);
    const accountId = account.id;
    const entry = this.parse(input);
    // The store counts and adds in one step: concurrent adds cannot take the lists past the limit.
    const added = await this.store.spam.addOwnListEntry(
      { kind, accountId, entry, note: NOTE, createdAt: Date.now() },
      this.max,
    );
    if (added === 'full') throw new SettingError(409, `your lists are full (${this.max} entries): remove one first`);
    return { entry, added: added !== 'exists' };
  }

  /** Removes an entry; false when it was not on the list. */
  async remove(
    account: { id: number; address: string },
    kind: ListKind,
    input: string,
  ): Promise<{ entry: string; removed: boolean }> {
    this.refuseIfLocked(account.address);
    const accountId = account.id;
    const p = parseEntry(input);
    // Whatever is on the account's own list can go, also an address the user could not add (an admin's IP).
    const typed = input.trim().toLowerCase();
    const entry = 'error' in p ? typed : p.value;
    if (await this.store.spam.removeListEntry(kind, accountId, entry)) return { entry, removed: true };
    // An entry kept before its normal form changed ("*@example.com", now example.com): the spelling shown.
    const removed = typed !== entry && (await this.store.spam.removeListEntry(kind, accountId, typed));
    return { entry: removed ? typed : entry, removed };
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

/**
 * What users may see and change of their spam filtering, by the config; undefined when nothing (no
 * /account/spam). With the mail service, their Junk mailbox and "Not spam" are always theirs.
 */
export function userSpamSettings(config: Config, store: Store, mail?: MailService): AccountSpamSettings | undefined {
  const spam = config.spam;
  if (!spam.enabled) return undefined;
  const maxEntries = spam.lists.enabled ? spam.lists.user_max_entries : 0;
  const thresholds = spam.user_junk_score ? thresholdsLookup(spam) : undefined;
  const junkReport = spam.junk_report.enabled;
  const locked = spam.user_settings_locked;
  return maxEntries > 0 || thresholds || junkReport || mail
    ? new AccountSpamSettings(store, { maxEntries, thresholds, junkReport, mail, locked })
    : undefined;
}
