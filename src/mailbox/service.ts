// The mail service every protocol shares: append and delivery (parse once, group commit), quotas,
// flags, expunge, copy/move, mailbox management, reading messages back, change events.
import { isStorageFull, PetrelError } from '../core/errors.ts';
import type { Account, Mailbox, MessageRecord, SpecialUse } from '../core/model.ts';
import type {
  AppendItem,
  AppendResult,
  BlobStore,
  CopyResult,
  EventBus,
  FlagOp,
  FlagUpdateResult,
  KeywordChange,
  NewQueuedMessage,
  Store,
  StoredBody,
} from '../core/ports.ts';
import { CrlfCounter, crlfSize } from '../mime/crlf.ts';
import type { Logger } from '../telemetry/log.ts';
import { instruments, withSpan } from '../telemetry/metrics.ts';
import { CommitBatcher } from './batcher.ts';
import { type Ingested, ingest, type MessageSource, messageSource } from './content.ts';
import { MessageIndex } from './message-index.ts';

/** Ingested content bound for one mailbox. */
interface IngestedItem {
  accountId: number;
  mailboxId: number;
  content: Ingested;
  flags?: string[];
  internalDate?: number;
  prefix?: string;
  skipQuota?: boolean;
}

/** The store's rows for ingested items (internal date `now` where none is given). */
function toRows(items: IngestedItem[], now: number): AppendItem[] {
  return items.map((it) => ({
    accountId: it.accountId,
    mailboxId: it.mailboxId,
    body: it.content.body,
    prefix: it.prefix,
    flags: it.flags ?? [],
    internalDate: it.internalDate ?? now,
    messageId: it.content.parsed.headers.messageId,
    references: [...it.content.parsed.headers.inReplyTo, ...it.content.parsed.headers.references],
    skipQuota: it.skipQuota,
  }));
}

export interface QuotaFigures {
  usedBytes: number;
  usedMessages: number;
  limitBytes: number | null;
  limitMessages: number | null;
}

export interface QuotaInfo {
  account: QuotaFigures;
  domain: QuotaFigures;
  tenant: QuotaFigures;
}

/** A quota level that a change would overrun, or null. */
export function overQuota(q: QuotaInfo, addBytes: number, addMessages: number): keyof QuotaInfo | null {
  for (const level of ['account', 'domain', 'tenant'] as const) {
    const f = q[level];
    if (f.limitBytes !== null && f.usedBytes + addBytes > f.limitBytes) return level;
    if (f.limitMessages !== null && f.usedMessages + addMessages > f.limitMessages) return level;
  }
  return null;
}

export interface DeliveryTarget {
  accountId: number;
  /** Mailbox name; INBOX by default. */
  mailbox?: string;
  /** Deliver to the account's mailbox with this special use (e.g. \\Junk for spam); INBOX when it has none. */
  specialUse?: SpecialUse;
  flags?: string[];
  /** Per-recipient header lines (e.g. Delivered-To), CRLF-terminated. */
  prefix?: string;
  /** The server's own mail (DSNs, reports): stored even over quota. */
  skipQuota?: boolean;
}

export interface MailServiceDeps {
  store: Store;
  blobs: BlobStore;
  events: EventBus;
  log: Logger;
  /** Keep $Junk / $NotJunk in step with moves into and out of Junk (spam.junk_keywords; on by default). */
  junkKeywords?: boolean;
}

/**
 * A user filing messages into a mailbox, committed: COPY or MOVE from another mailbox, or a client's APPEND
 * (src null). What spam feedback watches for Junk. Delivery (SMTP, LMTP, Sieve later) is never a filing:
 * the filter's own Junk verdicts must not teach it.
 */
export interface Filing {
  /** keyword: the user flagged messages in place with a junk or not-junk keyword (see junkKeyword). */
  kind: 'copy' | 'move' | 'append' | 'keyword';
  src: Mailbox | null;
  dst: Mailbox;
  /** The messages' uids in dst. */
  uids: number[];
  /** For kind keyword: what the keyword says. */
  keyword?: 'spam' | 'ham';
}

/**
 * What filing a message from a mailbox of one special use into another says of it: into Junk from
 * anywhere else, spam (as Dovecot's IMAPSieve training reads COPY and APPEND); out of Junk into anything
 * but Trash, ham (deleting junk says nothing); otherwise nothing.
 */
export function filingJudgement(from: SpecialUse | null, to: SpecialUse | null): 'spam' | 'ham' | null {
  if (to === '\\Junk' && from !== '\\Junk') return 'spam';
  if (from === '\\Junk' && to !== '\\Junk' && to !== '\\Trash') return 'ham';
  return null;
}

/**
 * The keywords a judgement leaves on a message: $Junk or $NotJunk (RFC 9051 section 2.3.2: "a delivery
 * agent on behalf of the user" may set them; they are mutually exclusive), the other one removed in each of
 * the spellings junkKeyword reads, so a client that shows junk status by keyword (Thunderbird) agrees with
 * the mailbox a message was moved to by another client (a phone).
 */
export const JUNK_KEYWORDS: Record<'spam' | 'ham', KeywordChange> = {
  spam: { add: ['$Junk'], remove: ['$NotJunk', 'NotJunk', 'NonJunk'] },
  ham: { add: ['$NotJunk'], remove: ['$Junk', 'Junk'] },
};

/**
 * What a keyword a client sets says of a message: $Junk / $NotJunk (RFC 9051 section 2.3.2, the IANA
 * registry of RFC 5788), and the Junk / NonJunk / NotJunk that Thunderbird and others set.
 */
export function junkKeyword(flags: string[]): 'spam' | 'ham' | null {
  const f = new Set(flags.map((x) => x.toLowerCase()));
  const spam = f.has('$junk') || f.has('junk');
  const ham = f.has('$notjunk') || f.has('notjunk') || f.has('nonjunk');
  return spam === ham ? null : spam ? 'spam' : 'ham';
}

/**
 * Whether a flag change says `said` of a message: it gained a keyword saying so and did not say so before.
 * A keyword sent again is no judgement: a client marking a message read by storing its whole flag list
 * (mutt: FLAGS.SILENT (\\Seen $Junk)) would otherwise teach the filter its own $Junk verdict.
 */
function newlySays(before: string[], after: string[], said: 'spam' | 'ham'): boolean {
  if (junkKeyword(before) === said) return false;
  const had = new Set(before.map((f) => f.toLowerCase()));
  return after.some((f) => !had.has(f.toLowerCase()) && junkKeyword([f]) === said);
}

/** Parsed bodies are immutable, so a bounded cache of them is always correct. */
class BodyCache {
  private map = new Map<number, StoredBody>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(id: number): StoredBody | undefined {
    const b = this.map.get(id);
    if (b) {
      this.map.delete(id);
      this.map.set(id, b);
    }
    return b;
  }
  set(b: StoredBody) {
    this.map.set(b.id, b);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }
}

export class MailService {
  readonly store: Store;
  readonly blobs: BlobStore;
  readonly events: EventBus;
  private readonly log: Logger;
  private readonly batcher: CommitBatcher;
  private readonly bodies = new BodyCache(5000);
  private readonly index = new MessageIndex(500_000);
  private readonly filingObservers = new Set<(f: Filing) => void | Promise<void>>();
  private readonly junkKeywords: boolean;

  constructor(deps: MailServiceDeps) {
    this.junkKeywords = deps.junkKeywords ?? true;
    this.store = deps.store;
    this.blobs = deps.blobs;
    this.events = deps.events;
    this.log = deps.log;
    this.batcher = new CommitBatcher((items) => this.store.append(items));
  }

  // ---- quotas (account, domain, tenant; RFC 9208 STORAGE and MESSAGE) ----

  async quota(account: Account | number): Promise<QuotaInfo> {
    const acc = typeof account === 'number' ? await this.store.getAccount(account) : account;
    if (!acc) throw new PetrelError('NOT_FOUND', 'no such account');
    const [domain, tenant, d, t] = await Promise.all([
      this.store.getDomain(acc.domainId),
      this.store.getTenant(acc.tenantId),
      this.store.usage('domain', acc.domainId),
      this.store.usage('tenant', acc.tenantId),
    ]);
    return {
      account: {
        usedBytes: acc.usedBytes,
        usedMessages: acc.usedMessages,
        limitBytes: acc.quotaBytes,
        limitMessages: acc.quotaMessages,
      },
      domain: {
        usedBytes: d.bytes,
        usedMessages: d.messages,
        limitBytes: domain?.quotaBytes ?? null,
        limitMessages: domain?.quotaMessages ?? null,
      },
      tenant: {
        usedBytes: t.bytes,
        usedMessages: t.messages,
        limitBytes: tenant?.quotaBytes ?? null,
        limitMessages: tenant?.quotaMessages ?? null,
      },
    };
  }

  /**
   * The quota level (account, domain, tenant) that adding this much would overrun, or null. Cheaper than
   * quota(): domain and tenant usage (sums over their accounts) are computed only where a limit is set,
   * which matters on the delivery path (checked at RCPT and again after DATA).
   */
  async exceeded(account: Account | number, addBytes: number, addMessages: number): Promise<keyof QuotaInfo | null> {
    const [level] = await this.exceededTogether([{ account, bytes: addBytes, messages: addMessages }]);
    return level;
  }

  /**
   * exceeded() for the copies of one message to several accounts, checked together: a domain or tenant
   * limit counts the copies of the others in it too (each fits alone, two may not). In order, each copy
   * is checked against the usage plus the copies before it that fit; the answer is one level (or null)
   * per copy. Usage is read once per domain or tenant, and only where a limit is set.
   */
  async exceededTogether(
    copies: { account: Account | number; bytes: number; messages?: number }[],
  ): Promise<(keyof QuotaInfo | null)[]> {
    type Room = { limitBytes: number | null; limitMessages: number | null; bytes: number; messages: number };
    const over = (r: Room, bytes: number, messages: number) =>
      (r.limitBytes !== null && r.bytes + bytes > r.limitBytes) ||
      (r.limitMessages !== null && r.messages + messages > r.limitMessages);
    // A domain's or tenant's room (null: no limit), read once and shared by its copies.
    const rooms = new Map<string, Promise<Room | null>>();
    const room = (kind: 'domain' | 'tenant', id: number) => {
      const key = `${kind}:${id}`;
      if (!rooms.has(key))
        rooms.set(
          key,
          (async () => {
            const row = kind === 'domain' ? await this.store.getDomain(id) : await this.store.getTenant(id);
            if (!row || (row.quotaBytes === null && row.quotaMessages === null)) return null;
            return {
              limitBytes: row.quotaBytes,
              limitMessages: row.quotaMessages,
              ...(await this.store.usage(kind, id)),
            };
          })(),
        );
      return rooms.get(key)!;
    };
    const out: (keyof QuotaInfo | null)[] = [];
    for (const c of copies) {
      const messages = c.messages ?? 1;
      const acc = typeof c.account === 'number' ? await this.store.getAccount(c.account) : c.account;
      if (!acc) throw new PetrelError('NOT_FOUND', 'no such account');
      const own = {
        limitBytes: acc.quotaBytes,
        limitMessages: acc.quotaMessages,
        bytes: acc.usedBytes,
        messages: acc.usedMessages,
      };
      const shared = [
        ['domain', await room('domain', acc.domainId)],
        ['tenant', await room('tenant', acc.tenantId)],
      ] as const;
      const verdict = over(own, c.bytes, messages)
        ? 'account'
        : (shared.find(([, r]) => r && over(r, c.bytes, messages))?.[0] ?? null);
      // A copy that fits takes its room from the copies after it.
      if (!verdict)
        for (const [, r] of shared)
          if (r) {
            r.bytes += c.bytes;
            r.messages += messages;
          }
      out.push(verdict);
    }
    return out;
  }

  /**
   * Throws OVER_QUOTA if adding this much would overrun any level. The fast path only: the store checks again
   * inside the write transaction, where concurrent writers cannot both take the last room.
   */
  async checkQuota(accountId: number, addBytes: number, addMessages: number): Promise<void> {
    const level = overQuota(await this.quota(accountId), addBytes, addMessages);
    if (level) throw new PetrelError('OVER_QUOTA', `${level} quota exceeded`);
  }

  // ---- adding messages ----

  /** Stores and parses raw bytes once (blob on disk before this resolves). */
  ingest(raw: Buffer): Promise<Ingested> {
    return ingest(this.blobs, raw);
  }

  /** IMAP APPEND / JMAP import: one message into one mailbox, durable before it resolves. */
  async append(
    accountId: number,
    mailboxId: number,
    raw: Buffer,
    opts: { flags?: string[]; internalDate?: number } = {},
  ): Promise<AppendResult> {
    await this.checkQuota(accountId, raw.length, 1);
    const content = await this.ingest(raw);
    return (await this.appendIngested([{ accountId, mailboxId, content, ...opts }]))[0];
  }

  /** Appends already-ingested content to several mailboxes in one group-committed transaction. */
  async appendIngested(items: IngestedItem[]): Promise<AppendResult[]> {
    const rows = toRows(items, Date.now());
    const results = await this.batcher.append(rows);
    this.announce(rows, results);
    return results;
  }

  /** As appendIngested, with a queue notice in the same transaction (rare: NOTIFY=SUCCESS; no group commit). */
  private async appendWithNotice(items: IngestedItem[], notice: NewQueuedMessage): Promise<AppendResult[]> {
    const rows = toRows(items, Date.now());
    const results = await this.store.queue.appendWithNotice(rows, notice);
    this.announce(rows, results);
    return results;
  }

  /** Tells the mailboxes' watchers of rows committed (store.append answers in item order). */
  announce(rows: AppendItem[], results: AppendResult[]): void {
    results.forEach((r, i) => {
      this.events.publish({ accountId: rows[i].accountId, mailboxId: r.mailboxId, modseq: r.modseq, kind: 'append' });
    });
  }

  /**
   * Local delivery (SMTP, LMTP): one message to many accounts, parsed once, stored once, committed in one
   * transaction with whatever else is being delivered now. Resolves only when it is on disk. `owes`: the
   * queue row of a notice the delivery owes (the "delivered" DSN, made from the stored content), committed
   * in the delivery's own transaction, outside the group commit: both or neither.
   */
  deliver(
    raw: Buffer,
    targets: DeliveryTarget[],
    content?: Ingested,
    owes?: (content: { hash: string; size: number }) => NewQueuedMessage,
  ): Promise<AppendResult[]> {
    return withSpan('petrel.deliver', { 'petrel.recipients': targets.length, 'petrel.size': raw.length }, () =>
      this.deliverNow(raw, targets, content, owes),
    );
  }

  /**
   * The rows a delivery appends (its content stored and parsed), for a caller that commits them in a
   * transaction of its own (the queue: a DSN with the outcome it reports) and then calls `announce`.
   */
  async deliveryRows(raw: Buffer, targets: DeliveryTarget[]): Promise<AppendItem[]> {
    return toRows(await this.targetItems(await this.ingest(raw), targets), Date.now());
  }

  /** The mailbox each target names (its special-use one, else by name, else INBOX). */
  private async targetItems(c: Ingested, targets: DeliveryTarget[]): Promise<IngestedItem[]> {
    const items: IngestedItem[] = [];
    for (const t of targets) {
      const special = t.specialUse
        ? (await this.store.listMailboxes(t.accountId)).find((m) => m.specialUse === t.specialUse)
        : undefined;
      const mb = special ?? (await this.store.getMailbox(t.accountId, t.mailbox ?? 'INBOX'));
      if (!mb) throw new PetrelError('NOT_FOUND', `account ${t.accountId} has no mailbox ${t.mailbox ?? 'INBOX'}`);
      items.push({
        accountId: t.accountId,
        mailboxId: mb.id,
        content: c,
        flags: t.flags,
        prefix: t.prefix,
        skipQuota: t.skipQuota,
      });
    }
    return items;
  }

  private async deliverNow(
    raw: Buffer,
    targets: DeliveryTarget[],
    content?: Ingested,
    owes?: (content: { hash: string; size: number }) => NewQueuedMessage,
  ): Promise<AppendResult[]> {
    const start = performance.now();
    const c = content ?? (await this.ingest(raw));
    const items = await this.targetItems(c, targets);
    try {
      const r = owes ? await this.appendWithNotice(items, owes(c)) : await this.appendIngested(items);
      instruments.deliveries.add(targets.length, { outcome: 'delivered' });
      return r;
    } catch (e) {
      instruments.deliveries.add(targets.length, { outcome: 'failed' });
      // A full disk is no fault to trace: the protocol that answers it logs one warning line.
      if (!isStorageFull(e)) this.log.error({ err: e }, 'delivery failed');
      throw e;
    } finally {
      instruments.deliveryDuration.record(performance.now() - start);
    }
  }

  // ---- reading ----

  async body(bodyId: number): Promise<StoredBody> {
    const cached = this.bodies.get(bodyId);
    if (cached) return cached;
    const b = await this.store.getBody(bodyId);
    if (!b) throw new PetrelError('NOT_FOUND', 'message content is gone');
    this.bodies.set(b);
    return b;
  }

  /** Bodies for many messages at once (FETCH ENVELOPE of a whole mailbox), cached. */
  async bodiesFor(ids: number[]): Promise<Map<number, StoredBody>> {
    const out = new Map<number, StoredBody>();
    const missing: number[] = [];
    for (const id of ids) {
      const b = this.bodies.get(id);
      if (b) out.set(id, b);
      else missing.push(id);
    }
    if (missing.length)
      for (const b of await this.store.getBodies(missing)) {
        this.bodies.set(b);
        out.set(b.id, b);
      }
    return out;
  }

  /**
   * Every message of a mailbox, ascending by UID, from a cache brought up to date by MODSEQ deltas
   * (IMAP whole-mailbox FETCH and SEARCH). Shared records: callers must not mutate them.
   */
  mailboxRecords(mailbox: Mailbox): Promise<MessageRecord[] | null> {
    return this.index.records(this.store, mailbox.accountId, mailbox.id);
  }

  async source(rec: MessageRecord): Promise<MessageSource> {
    return messageSource(this.blobs, rec, await this.body(rec.bodyId));
  }

  /**
   * Whole messages (prefix and body) for many records in one blob round trip: the read-ahead of POP3 RETR.
   * Each entry is the message or the error reading it.
   */
  async readMany(recs: MessageRecord[]): Promise<(Buffer | Error)[]> {
    const bodies = await this.bodiesFor(recs.map((r) => r.bodyId));
    const items = recs.map((r) => {
      const b = bodies.get(r.bodyId);
      return b ? { hash: b.hash, size: b.size } : null;
    });
    const found = items.filter((x): x is { hash: string; size: number } => x !== null);
    const data = await this.blobs.getMany(found);
    let k = 0;
    return recs.map((r, i) => {
      if (!items[i]) return new PetrelError('NOT_FOUND', 'message content is gone');
      const d = data[k++];
      return d instanceof Error || !r.prefix ? d : Buffer.concat([Buffer.from(r.prefix), d]);
    });
  }

  /**
   * Each message's size as CRLF-terminated lines (POP3 LIST/RETR, RFC 1939 section 11): its prefix and its
   * body each counted as lines. The body's figure is stored at ingest; a body stored without one is counted
   * from its blob once and the figure recorded.
   */
  async crlfSizes(recs: MessageRecord[]): Promise<number[]> {
    const bodies = await this.bodiesFor(recs.map((r) => r.bodyId));
    const out: number[] = [];
    for (const r of recs) {
      const b = bodies.get(r.bodyId);
      if (!b) throw new PetrelError('NOT_FOUND', 'message content is gone');
      const bodySize = b.crlfSize ?? (await this.countCrlf(b));
      out.push((r.prefix ? crlfSize(r.prefix) : 0) + bodySize);
    }
    return out;
  }

  private async countCrlf(b: StoredBody): Promise<number> {
    const counter = new CrlfCounter();
    for await (const chunk of await this.blobs.stream(b.hash)) counter.push(chunk as Buffer);
    await this.store.setBodyCrlfSize(b.id, counter.size);
    this.bodies.set({ ...b, crlfSize: counter.size });
    return counter.size;
  }

  // ---- changing messages ----

  async updateFlags(
    mailbox: Mailbox,
    uids: number[],
    op: FlagOp,
    flags: string[],
    unchangedSince?: number,
  ): Promise<FlagUpdateResult> {
    // $Junk and $NotJunk are mutually exclusive (RFC 9051 section 2.3.2): setting one takes the other off, in
    // every spelling junkKeyword reads and in the same change (one MODSEQ, the untagged FETCH shows it), as
    // a move into or out of Junk does. Otherwise a client's "not junk" (+FLAGS ($NotJunk), then -FLAGS
    // ($Junk), Thunderbird's order) would leave both set in between, which reads as neither.
    const said = op === 'remove' ? null : junkKeyword(flags);
    const opposite = said && this.junkKeywords ? JUNK_KEYWORDS[said].remove : undefined;
    const r = await this.store.updateFlags(mailbox.id, uids, op, flags, unchangedSince, opposite);
    if (r.updated.length)
      this.events.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id, modseq: r.modseq, kind: 'flags' });
    // A junk or not-junk keyword the user just set is a judgement, as a move into or out of Junk is.
    if (said) {
      const judged = r.updated.filter((u) => newlySays(u.before, u.flags, said)).map((u) => u.uid);
      this.filed({ kind: 'keyword', src: null, dst: mailbox, uids: judged, keyword: said });
    }
    return r;
  }

  async expunge(mailbox: Mailbox, uids: number[]): Promise<{ uids: number[]; modseq: number }> {
    const r = await this.store.expunge(mailbox.id, uids);
    if (r.uids.length)
      this.events.publish({ accountId: mailbox.accountId, mailboxId: mailbox.id, modseq: r.modseq, kind: 'expunge' });
    return r;
  }

  /**
   * POP3's UPDATE state: \Seen on `seen`, `expunge` expunged, one transaction and one MODSEQ; IMAP, JMAP
   * and the other nodes hear both changes.
   */
  async expungeAndMarkSeen(
    mailbox: Mailbox,
    expunge: number[],
    seen: number[],
  ): Promise<{ expunged: number[]; seen: number[]; modseq: number }> {
    const r = await this.store.expungeAndMarkSeen(mailbox.id, expunge, seen);
    const event = { accountId: mailbox.accountId, mailboxId: mailbox.id, modseq: r.modseq };
    if (r.seen.length) this.events.publish({ ...event, kind: 'flags' });
    if (r.expunged.length) this.events.publish({ ...event, kind: 'expunge' });
    return r;
  }

  async copy(src: Mailbox, uids: number[], dst: Mailbox): Promise<CopyResult> {
    const msgs = await this.store.listMessages(src.id, { uids });
    await this.checkQuota(
      dst.accountId,
      msgs.reduce((n, m) => n + m.size, 0),
      msgs.length,
    );
    const r = await this.store.copy(src.id, uids, dst.id, this.keywordChange(src, dst));
    if (r.pairs.length)
      this.events.publish({ accountId: dst.accountId, mailboxId: dst.id, modseq: r.modseq, kind: 'append' });
    this.filed({ kind: 'copy', src, dst, uids: r.pairs.map((p) => p[1]) });
    return r;
  }

  /** The keywords a copy or move into or out of Junk changes on the copies, or none. */
  private keywordChange(src: Mailbox, dst: Mailbox): KeywordChange | undefined {
    if (!this.junkKeywords) return undefined;
    const said = filingJudgement(src.specialUse ?? null, dst.specialUse ?? null);
    return said ? JUNK_KEYWORDS[said] : undefined;
  }

  /**
   * Calls fn after every committed filing (the composition root wires spam feedback here). It runs
   * detached: its work or failure never delays or fails the command. Returns an unsubscribe function.
   */
  onFiling(fn: (f: Filing) => void | Promise<void>): () => void {
    this.filingObservers.add(fn);
    return () => this.filingObservers.delete(fn);
  }

  /** Tells the observers of a committed filing; copy and move call it, APPEND's handler too. */
  filed(f: Filing): void {
    if (f.uids.length === 0) return;
    for (const fn of this.filingObservers)
      void Promise.resolve()
        .then(() => fn(f))
        .catch((e) => this.log.warn({ err: (e as Error).message }, 'filing observer failed'));
  }

  /** MOVE (RFC 6851): quota is unchanged within an account, so none is checked. */
  async move(src: Mailbox, uids: number[], dst: Mailbox): Promise<CopyResult> {
    const r = await this.store.move(src.id, uids, dst.id, this.keywordChange(src, dst));
    if (r.pairs.length) {
      this.events.publish({ accountId: dst.accountId, mailboxId: dst.id, modseq: r.modseq, kind: 'append' });
      this.events.publish({ accountId: src.accountId, mailboxId: src.id, modseq: r.modseq, kind: 'expunge' });
    }
    this.filed({ kind: 'move', src, dst, uids: r.pairs.map((p) => p[1]) });
    return r;
  }

  // ---- mailboxes ----

  async createMailbox(accountId: number, name: string, specialUse?: SpecialUse | null): Promise<Mailbox> {
    const mb = await this.store.createMailbox(accountId, name, specialUse);
    this.events.publish({ accountId, mailboxId: mb.id, modseq: mb.modseq, kind: 'mailbox' });
    return mb;
  }

  async renameMailbox(accountId: number, id: number, newName: string): Promise<void> {
    await this.store.renameMailbox(accountId, id, newName);
    this.events.publish({ accountId, mailboxId: id, modseq: 0, kind: 'mailbox' });
  }

  async deleteMailbox(accountId: number, id: number): Promise<void> {
    await this.store.deleteMailbox(accountId, id);
    this.events.publish({ accountId, mailboxId: id, modseq: 0, kind: 'mailbox' });
  }
}
