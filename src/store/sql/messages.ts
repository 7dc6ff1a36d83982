// Message operations in SQL: append (group commit), flags, expunge, copy/move, listing, full-text search.
import { PetrelError } from '../../core/errors.ts';
import type { MessageRecord } from '../../core/model.ts';
import type {
  AppendItem,
  AppendResult,
  CopyResult,
  FlagUpdateResult,
  KeywordChange,
  MailStore,
  NewBody,
  ReindexedBody,
  StaleTextBody,
  StoredBody,
} from '../../core/ports.ts';
import { SEARCH_INDEX_VERSION } from '../../core/ports.ts';
import { releaseBody } from './directory.ts';
import { chunks, likeEscaped, marks, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';
import { applyFlagOp, DELETED, decodeFlags, encodeFlags, joinKeywords, SEEN, splitKeywords } from './flags.ts';
import { nextModseq } from './mailboxes.ts';

const num = (v: unknown): number => Number(v);
const MESSAGE_COLS = `id, account_id, mailbox_id, uid, COALESCE(email_id, id) AS email_id, COALESCE(thread_id, id) AS thread_id,
  body_id, prefix, size, internal_date, save_date, sflags, keywords, modseq, created_modseq`;

function toMessage(r: Row): MessageRecord {
  return {
    id: num(r.id),
    accountId: num(r.account_id),
    mailboxId: num(r.mailbox_id),
    uid: num(r.uid),
    emailId: num(r.email_id),
    threadId: num(r.thread_id),
    bodyId: num(r.body_id),
    prefix: String(r.prefix ?? ''),
    size: num(r.size),
    internalDate: num(r.internal_date),
    saveDate: num(r.save_date),
    flags: decodeFlags(num(r.sflags), String(r.keywords ?? '')),
    modseq: num(r.modseq),
    createdModseq: num(r.created_modseq),
  };
}

function toBody(r: Row): StoredBody {
  return {
    id: num(r.id),
    hash: String(r.hash),
    size: num(r.size),
    structure: JSON.parse(String(r.structure)),
    envelope: JSON.parse(String(r.envelope)),
    headers: JSON.parse(String(r.headers)),
    sentDate: r.sent_date === null ? null : num(r.sent_date),
    subject: String(r.subject),
    sortSubject: String(r.sort_subject),
    sortFrom: String(r.sort_from),
    sortTo: String(r.sort_to),
    sortCc: String(r.sort_cc),
    messageId: (r.message_id as string | null) ?? null,
    preview: String(r.preview),
    hasAttachment: Boolean(num(r.has_attachment)),
    crlfSize: r.crlf_size === null || r.crlf_size === undefined ? null : num(r.crlf_size),
  };
}

/** WHERE terms for a mailbox's messages in a UID range, changed after a MODSEQ. */
function uidRange(
  mailboxId: number,
  opts: { fromUid?: number; toUid?: number; changedSince?: number },
): { where: string[]; args: SqlValue[] } {
  const where = ['mailbox_id = ?'];
  const args: SqlValue[] = [mailboxId];
  if (opts.fromUid !== undefined) {
    where.push('uid >= ?');
    args.push(opts.fromUid);
  }
  if (opts.toUid !== undefined) {
    where.push('uid <= ?');
    args.push(opts.toUid);
  }
  if (opts.changedSince !== undefined) {
    where.push('modseq > ?');
    args.push(opts.changedSince);
  }
  return { where, args };
}

/** Body reference changes in body id order: transactions of two accounts lock shared body rows alike. */
const byId = (m: Map<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

/** A message's size: its per-recipient prefix plus the shared body. */
const sizeOf = (it: AppendItem) => it.body.size + (it.prefix ? Buffer.byteLength(it.prefix) : 0);

/** An account's next MODSEQ, with what a quota check needs of it: read under its row lock. */
interface LockedAccount {
  modseq: number;
  used: { bytes: number; messages: number };
  quota: { bytes: number | null; messages: number | null };
  /** Its domain and tenant, and whether each has a limit of its own (then their sum is checked too). */
  scope: Record<'domain' | 'tenant', { id: number; limited: boolean }>;
}

const orNull = (v: unknown) => (v === null || v === undefined ? null : num(v));

/** nextModseq (mailboxes.ts) that also reads the account's usage and limits, in the same statement. */
async function lockAccount(tx: SqlExecutor, accountId: number): Promise<LockedAccount> {
  const r = await tx.get<Row>(
    `UPDATE accounts SET modseq = modseq + 1 WHERE id = ? RETURNING modseq, domain_id, tenant_id, used_bytes,
       used_messages, quota_bytes, quota_messages,
       EXISTS (SELECT 1 FROM domains d WHERE d.id = accounts.domain_id
               AND (d.quota_bytes IS NOT NULL OR d.quota_messages IS NOT NULL)) AS domain_limited,
       EXISTS (SELECT 1 FROM tenants t WHERE t.id = accounts.tenant_id
               AND (t.quota_bytes IS NOT NULL OR t.quota_messages IS NOT NULL)) AS tenant_limited`,
    [accountId],
  );
  if (!r) throw new PetrelError('NOT_FOUND', 'no such account');
  return {
    modseq: num(r.modseq),
    used: { bytes: num(r.used_bytes), messages: num(r.used_messages) },
    quota: { bytes: orNull(r.quota_bytes), messages: orNull(r.quota_messages) },
    scope: {
      domain: { id: num(r.domain_id), limited: Boolean(num(r.domain_limited)) },
      tenant: { id: num(r.tenant_id), limited: Boolean(num(r.tenant_limited)) },
    },
  };
}

/** What a transaction adds to an account; `checked`: some of it is held to the quotas. */
interface Addition {
  bytes: number;
  messages: number;
  checked: boolean;
}

/** Whether usage plus an addition passes a limit (null: none), as MailService's overQuota counts. */
const overLimit = (
  used: { bytes: number; messages: number },
  add: Addition,
  limit: { bytes: number | null; messages: number | null },
) =>
  (limit.bytes !== null && used.bytes + add.bytes > limit.bytes) ||
  (limit.messages !== null && used.messages + add.messages > limit.messages);

/**
 * Refuses (OVER_QUOTA) what would take an account, its domain or its tenant past a limit (RFC 9208:
 * STORAGE, MESSAGE). Checked inside the write transaction, under the account's row lock and then, where
 * they have limits, the domain's and the tenant's (in id order; PostgreSQL), so concurrent writers each see
 * the others' additions: the check before the transaction (MailService) is only the fast path.
 */
async function enforceQuotas(
  tx: SqlExecutor,
  dialect: 'sqlite' | 'postgres',
  accounts: Map<number, LockedAccount>,
  adds: Map<number, Addition>,
): Promise<void> {
  for (const [id, add] of adds) {
    const a = accounts.get(id)!;
    if (add.checked && overLimit(a.used, add, a.quota)) throw new PetrelError('OVER_QUOTA', 'account quota exceeded');
  }
  for (const level of ['domain', 'tenant'] as const) {
    const limited = new Set<number>();
    for (const [id, add] of adds) {
      const { scope } = accounts.get(id)!;
      if (add.checked && scope[level].limited) limited.add(scope[level].id);
    }
    for (const scope of [...limited].sort((x, y) => x - y)) {
      // The row lock serialises the writers of one domain (tenant): the sum below then includes theirs.
      const lim = await tx.get<Row>(
        `SELECT quota_bytes, quota_messages FROM ${level}s WHERE id = ?${dialect === 'postgres' ? ' FOR NO KEY UPDATE' : ''}`,
        [scope],
      );
      const used = await tx.get<Row>(
        `SELECT SUM(used_bytes) AS b, SUM(used_messages) AS m FROM accounts WHERE ${level}_id = ?`,
        [scope],
      );
      const add: Addition = { bytes: 0, messages: 0, checked: true };
      for (const [id, x] of adds)
        if (accounts.get(id)!.scope[level].id === scope) {
          add.bytes += x.bytes;
          add.messages += x.messages;
        }
      const limit = { bytes: orNull(lim?.quota_bytes), messages: orNull(lim?.quota_messages) };
      if (overLimit({ bytes: num(used?.b ?? 0), messages: num(used?.m ?? 0) }, add, limit))
        throw new PetrelError('OVER_QUOTA', `${level} quota exceeded`);
    }
  }
}

/** Adds new keywords to the mailbox's keyword list (IMAP FLAGS response), if any are new. */
async function noteKeywords(tx: SqlExecutor, mailboxId: number, current: string, added: Iterable<string>) {
  const list = splitKeywords(current);
  const have = new Set(list.map((k) => k.toLowerCase()));
  let changed = false;
  for (const k of added)
    if (!have.has(k.toLowerCase())) {
      have.add(k.toLowerCase());
      list.push(k);
      changed = true;
    }
  if (changed) await tx.run('UPDATE mailboxes SET keywords = ? WHERE id = ?', [joinKeywords(list), mailboxId]);
}

/** JSON text of a body field: given already serialised (a string), or serialised here. */
const asJson = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * The columns of a full-text row. Indexed text is stored case-folded, so substring search is a plain LIKE
 * (see searchText). A NUL becomes a space on both backends: SQLite's FTS5 would end the text there,
 * PostgreSQL refuses it. A change here is a change of SEARCH_INDEX_VERSION.
 */
function indexed(b: { headerText: string; bodyText: string }): { headers: string; text: string } {
  return {
    headers: b.headerText.toLowerCase().replaceAll('\0', ' '),
    text: b.bodyText.toLowerCase().replaceAll('\0', ' '),
  };
}

/**
 * Stores a blob row, or refreshes the time of the one there: `touched` always changes (at least by one), so a
 * garbage collection's delete that names the time it saw (`delete(hash, touched)`) no longer matches. On
 * PostgreSQL the update also locks the row until the writer commits: a delete waiting on it then re-reads
 * `touched` and leaves the row, and a delete that came first makes this insert a new row. SQLite runs one
 * statement at a time. Used for inline bodies here and by the database blob store's put (store/blob/db.ts).
 */
export const UPSERT_BLOB_DATA = `INSERT INTO blob_data (hash, data, touched) VALUES (?, ?, ?)
  ON CONFLICT (hash) DO UPDATE SET touched = CASE WHEN excluded.touched > blob_data.touched
    THEN excluded.touched ELSE blob_data.touched + 1 END`;

/** Inserts or references a body; returns its id. The first reference also writes the full-text row. */
async function upsertBody(tx: SqlExecutor, dialect: 'sqlite' | 'postgres', b: NewBody, refs: number): Promise<number> {
  const r = await tx.get<{ id: number; refs: number }>(
    `INSERT INTO bodies (hash, size, refs, structure, envelope, headers, sent_date, subject, sort_subject, sort_from,
       sort_to, sort_cc, message_id, preview, has_attachment, crlf_size, text_cut, index_version, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (hash) DO UPDATE SET refs = bodies.refs + excluded.refs
     RETURNING id, refs`,
    [
      b.hash,
      b.size,
      refs,
      asJson(b.structure),
      asJson(b.envelope),
      asJson(b.headers),
      b.sentDate,
      b.subject,
      b.sortSubject,
      b.sortFrom,
      b.sortTo,
      b.sortCc,
      b.messageId,
      b.preview,
      b.hasAttachment ? 1 : 0,
      b.crlfSize ?? null,
      b.textCut ? 1 : 0,
      SEARCH_INDEX_VERSION,
      Date.now(),
    ],
  );
  const id = num(r!.id);
  if (num(r!.refs) === refs) {
    // New body (bodies are deleted when their last reference goes, so refs == ours means we created it).
    const { headers, text } = indexed(b);
    if (dialect === 'sqlite')
      await tx.run('INSERT INTO body_text (rowid, headers, body) VALUES (?, ?, ?)', [id, headers, text]);
    else await tx.run('INSERT INTO body_text (body_id, headers, body) VALUES (?, ?, ?)', [id, headers, text]);
    // A small message's bytes go into this same transaction: one commit makes content and metadata durable.
    // Content still there from an expunged message has its time refreshed (and on PostgreSQL its row locked
    // to the commit): a garbage collection that found it unreferenced leaves it (UPSERT_BLOB_DATA).
    if (b.raw) await tx.run(UPSERT_BLOB_DATA, [b.hash, b.raw, Date.now()]);
  }
  return id;
}

/** Thread of a new message: the oldest thread any of its ids (own, In-Reply-To, References) already joins. */
async function findThread(tx: SqlExecutor, accountId: number, refs: string[]): Promise<number | null> {
  if (refs.length === 0) return null;
  const r = await tx.get<{ t: number | null }>(
    `SELECT MIN(thread_id) AS t FROM thread_refs WHERE account_id = ? AND ref IN (${marks(refs.length)})`,
    [accountId, ...refs],
  );
  return r?.t === null || r?.t === undefined ? null : num(r.t);
}

type MessageOps = Pick<
  MailStore,
  | 'getBody'
  | 'getBodies'
  | 'setBodyCrlfSize'
  | 'append'
  | 'listUids'
  | 'newestUids'
  | 'firstUnseenUid'
  | 'listFlags'
  | 'listMessages'
  | 'expungedSince'
  | 'updateFlags'
  | 'expunge'
  | 'expungeAndMarkSeen'
  | 'retentionCandidates'
  | 'savedBetween'
  | 'copy'
  | 'move'
  | 'searchText'
  | 'textCutUids'
  | 'staleTextBodies'
  | 'staleTextCount'
  | 'accountBodyIds'
  | 'rewriteBodyText'
>;

/**
 * Appends messages in a transaction the caller holds: `append` runs it in one of its own, the queue in the
 * one that records the outcome a DSN to a local sender reports (store/sql/queue.ts).
 */
export async function appendRows(
  tx: SqlExecutor,
  dialect: 'sqlite' | 'postgres',
  items: AppendItem[],
): Promise<AppendResult[]> {
  // 1. One MODSEQ per account, taken in id order so concurrent deliveries never dead-lock. The account
  // rows are locked before any body row, as expunge and mailbox or account deletion lock them (PostgreSQL).
  const locked = new Map<number, LockedAccount>();
  const modseqs = new Map<number, number>();
  for (const a of [...new Set(items.map((i) => i.accountId))].sort((x, y) => x - y)) {
    const acc = await lockAccount(tx, a);
    locked.set(a, acc);
    modseqs.set(a, acc.modseq);
  }
  // Quotas, before anything is written: the server's own mail (skipQuota) counts but is never refused.
  const adds = new Map<number, Addition>();
  for (const it of items) {
    const add = adds.get(it.accountId) ?? { bytes: 0, messages: 0, checked: false };
    add.bytes += sizeOf(it);
    add.messages++;
    add.checked ||= !it.skipQuota;
    adds.set(it.accountId, add);
  }
  await enforceQuotas(tx, dialect, locked, adds);

  // 2. Bodies, once per distinct content, in hash order (the order their rows are locked in).
  const refsByHash = new Map<string, { body: NewBody; n: number }>();
  for (const it of items) {
    const e = refsByHash.get(it.body.hash);
    if (e) e.n++;
    else refsByHash.set(it.body.hash, { body: it.body, n: 1 });
  }
  const bodyIds = new Map<string, number>();
  for (const hash of [...refsByHash.keys()].sort()) {
    const { body, n } = refsByHash.get(hash)!;
    bodyIds.set(hash, await upsertBody(tx, dialect, body, n));
  }

  // 3. UIDs per mailbox, allocated in one update that also maintains the counters.
  const byMailbox = new Map<number, number[]>();
  items.forEach((it, i) => {
    const l = byMailbox.get(it.mailboxId) ?? [];
    l.push(i);
    byMailbox.set(it.mailboxId, l);
  });
  const uids = new Array<number>(items.length);
  const validity = new Map<number, number>();
  const encoded = items.map((it) => encodeFlags(it.flags));
  for (const mailboxId of [...byMailbox.keys()].sort((x, y) => x - y)) {
    const idx = byMailbox.get(mailboxId)!;
    const accountId = items[idx[0]].accountId;
    let size = 0;
    let unseen = 0;
    let deleted = 0;
    const kw: string[] = [];
    for (const i of idx) {
      size += sizeOf(items[i]);
      if (!(encoded[i].mask & SEEN)) unseen++;
      if (encoded[i].mask & DELETED) deleted++;
      kw.push(...encoded[i].keywords);
    }
    const r = await tx.get<Row>(
      `UPDATE mailboxes SET uid_next = uid_next + ?, messages = messages + ?, size = size + ?, unseen = unseen + ?,
           deleted = deleted + ?, modseq = ? WHERE id = ? AND account_id = ? RETURNING uid_next, uid_validity, keywords`,
      [idx.length, idx.length, size, unseen, deleted, modseqs.get(accountId)!, mailboxId, accountId],
    );
    if (!r) throw new PetrelError('NOT_FOUND', 'no such mailbox');
    if (kw.length) await noteKeywords(tx, mailboxId, String(r.keywords), kw);
    let uid = num(r.uid_next) - idx.length;
    for (const i of idx) uids[i] = uid++;
    validity.set(mailboxId, num(r.uid_validity));
  }

  // 4. The rows, with their thread.
  const now = Date.now();
  const results: AppendResult[] = [];
  const usage = new Map<number, { bytes: number; n: number }>();
  for (let i = 0; i < items.length; i++) {
    const it = items[i];
    const modseq = modseqs.get(it.accountId)!;
    const refs = [...new Set([it.messageId, ...it.references].filter((x): x is string => !!x))].slice(0, 100);
    const thread = await findThread(tx, it.accountId, refs);
    const r = await tx.get<{ id: number }>(
      `INSERT INTO messages (account_id, mailbox_id, uid, email_id, thread_id, body_id, prefix, size, internal_date,
           save_date, sflags, keywords, modseq, created_modseq) VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           RETURNING id`,
      [
        it.accountId,
        it.mailboxId,
        uids[i],
        thread,
        bodyIds.get(it.body.hash)!,
        it.prefix ?? '',
        sizeOf(it),
        it.internalDate,
        now,
        encoded[i].mask,
        joinKeywords(encoded[i].keywords),
        modseq,
        modseq,
      ],
    );
    const id = num(r!.id);
    const threadId = thread ?? id;
    if (refs.length)
      await tx.run(
        `INSERT INTO thread_refs (account_id, ref, thread_id) VALUES ${refs.map(() => '(?, ?, ?)').join(', ')}
           ON CONFLICT (account_id, ref) DO NOTHING`,
        refs.flatMap((ref) => [it.accountId, ref, threadId]),
      );
    const u = usage.get(it.accountId) ?? { bytes: 0, n: 0 };
    u.bytes += sizeOf(it);
    u.n++;
    usage.set(it.accountId, u);
    results.push({
      mailboxId: it.mailboxId,
      uid: uids[i],
      uidValidity: validity.get(it.mailboxId)!,
      modseq,
      id,
      emailId: id,
      threadId,
    });
  }
  for (const [accountId, u] of usage)
    await tx.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?', [
      u.bytes,
      u.n,
      accountId,
    ]);
  return results;
}

export function messageStore(db: SqlDriver): MessageOps {
  async function lockedMailbox(tx: SqlExecutor, mailboxId: number): Promise<Row> {
    // Lock the account row, then read the mailbox and its messages (PostgreSQL, read committed): read before
    // the lock, the mailbox's keyword list would miss one a concurrent STORE added, and be written back so.
    // SQLite's write transaction is already exclusive.
    await tx.run('UPDATE accounts SET modseq = modseq WHERE id = (SELECT account_id FROM mailboxes WHERE id = ?)', [
      mailboxId,
    ]);
    const mb = await tx.get<Row>('SELECT * FROM mailboxes WHERE id = ?', [mailboxId]);
    if (!mb) throw new PetrelError('NOT_FOUND', 'no such mailbox');
    return mb;
  }

  async function rowsByUid(tx: SqlExecutor, mailboxId: number, uids: number[]): Promise<Row[]> {
    const out: Row[] = [];
    for (const part of chunks([...new Set(uids)].sort((a, b) => a - b)))
      out.push(
        ...(await tx.all<Row>(
          `SELECT ${MESSAGE_COLS} FROM messages WHERE mailbox_id = ? AND uid IN (${marks(part.length)}) ORDER BY uid`,
          [mailboxId, ...part],
        )),
      );
    return out;
  }

  async function expungeRows(tx: SqlExecutor, mb: Row, rows: Row[], modseq: number): Promise<void> {
    const mailboxId = num(mb.id);
    let size = 0;
    let unseen = 0;
    let deleted = 0;
    const bodies = new Map<number, number>();
    for (const r of rows) {
      size += num(r.size);
      if (!(num(r.sflags) & SEEN)) unseen++;
      if (num(r.sflags) & DELETED) deleted++;
      bodies.set(num(r.body_id), (bodies.get(num(r.body_id)) ?? 0) + 1);
      await tx.run(
        'INSERT INTO expunged (mailbox_id, uid, account_id, email_id, modseq) VALUES (?, ?, ?, ?, ?) ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = excluded.modseq',
        [mailboxId, num(r.uid), num(r.account_id), num(r.email_id), modseq],
      );
    }
    for (const part of chunks(rows.map((r) => num(r.id))))
      await tx.run(`DELETE FROM messages WHERE id IN (${marks(part.length)})`, part);
    await tx.run(
      'UPDATE mailboxes SET messages = messages - ?, size = size - ?, unseen = unseen - ?, deleted = deleted - ?, modseq = ? WHERE id = ?',
      [rows.length, size, unseen, deleted, modseq, mailboxId],
    );
    await tx.run('UPDATE accounts SET used_bytes = used_bytes - ?, used_messages = used_messages - ? WHERE id = ?', [
      size,
      rows.length,
      num(mb.account_id),
    ]);
    for (const [bodyId, n] of byId(bodies)) await releaseBody(tx, db.dialect, bodyId, n);
  }

  async function copyRows(
    tx: SqlExecutor,
    src: Row,
    rows: Row[],
    dstMailboxId: number,
    /** COPY: held to the quotas. MOVE also expunges the originals, so the usage does not grow. */
    quota: boolean,
    change?: KeywordChange,
  ): Promise<CopyResult> {
    const dst = await tx.get<Row>('SELECT * FROM mailboxes WHERE id = ?', [dstMailboxId]);
    if (!dst) throw new PetrelError('NOT_FOUND', 'no such destination mailbox');
    if (num(dst.account_id) !== num(src.account_id))
      throw new PetrelError('PERMISSION_DENIED', 'cannot copy between accounts');
    const accountId = num(dst.account_id);
    const acc = await lockAccount(tx, accountId);
    const modseq = acc.modseq;
    if (rows.length === 0) return { uidValidity: num(dst.uid_validity), pairs: [], modseq };
    let size = 0;
    let unseen = 0;
    let deleted = 0;
    const keywords = new Set<string>();
    const bodies = new Map<number, number>();
    // Each copy's keywords: the source's, with the change applied (a move into or out of Junk).
    const rowKeywords = rows.map((r) => {
      const cur = splitKeywords(String(r.keywords));
      if (!change) return cur;
      const dropped = applyFlagOp('remove', 0, cur, encodeFlags(change.remove)).keywords;
      return applyFlagOp('add', 0, dropped, encodeFlags(change.add)).keywords;
    });
    for (const [i, r] of rows.entries()) {
      size += num(r.size);
      if (!(num(r.sflags) & SEEN)) unseen++;
      if (num(r.sflags) & DELETED) deleted++;
      for (const k of rowKeywords[i]) keywords.add(k);
      bodies.set(num(r.body_id), (bodies.get(num(r.body_id)) ?? 0) + 1);
    }
    if (quota)
      await enforceQuotas(
        tx,
        db.dialect,
        new Map([[accountId, acc]]),
        new Map([[accountId, { bytes: size, messages: rows.length, checked: true }]]),
      );
    const alloc = await tx.get<Row>(
      `UPDATE mailboxes SET uid_next = uid_next + ?, messages = messages + ?, size = size + ?, unseen = unseen + ?,
         deleted = deleted + ?, modseq = ? WHERE id = ? RETURNING uid_next, uid_validity, keywords`,
      [rows.length, rows.length, size, unseen, deleted, modseq, dstMailboxId],
    );
    await noteKeywords(tx, dstMailboxId, String(alloc!.keywords), keywords);
    let uid = num(alloc!.uid_next) - rows.length;
    const now = Date.now();
    const pairs: [number, number][] = [];
    for (const [i, r] of rows.entries()) {
      await tx.run(
        `INSERT INTO messages (account_id, mailbox_id, uid, email_id, thread_id, body_id, prefix, size, internal_date,
           save_date, sflags, keywords, modseq, created_modseq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          accountId,
          dstMailboxId,
          uid,
          num(r.email_id),
          num(r.thread_id),
          num(r.body_id),
          String(r.prefix ?? ''),
          num(r.size),
          num(r.internal_date),
          now,
          num(r.sflags),
          change ? joinKeywords(rowKeywords[i]) : String(r.keywords),
          modseq,
          modseq,
        ],
      );
      pairs.push([num(r.uid), uid]);
      uid++;
    }
    for (const [bodyId, n] of byId(bodies)) await tx.run('UPDATE bodies SET refs = refs + ? WHERE id = ?', [n, bodyId]);
    await tx.run('UPDATE accounts SET used_bytes = used_bytes + ?, used_messages = used_messages + ? WHERE id = ?', [
      size,
      rows.length,
      accountId,
    ]);
    return { uidValidity: num(alloc!.uid_validity), pairs, modseq };
  }

  return {
    async getBody(id) {
      const r = await db.get('SELECT * FROM bodies WHERE id = ?', [id]);
      return r ? toBody(r) : undefined;
    },
    async getBodies(ids) {
      const out: StoredBody[] = [];
      for (const part of chunks([...new Set(ids)]))
        for (const r of await db.all(`SELECT * FROM bodies WHERE id IN (${marks(part.length)})`, part))
          out.push(toBody(r));
      return out;
    },

    async setBodyCrlfSize(id, crlfSize) {
      await db.run('UPDATE bodies SET crlf_size = ? WHERE id = ?', [crlfSize, id]);
    },

    async append(items: AppendItem[]): Promise<AppendResult[]> {
      if (items.length === 0) return [];
      return db.transaction((tx) => appendRows(tx, db.dialect, items));
    },

    async listUids(mailboxId) {
      const rows = await db.all<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid', [
        mailboxId,
      ]);
      return rows.map((r) => num(r.uid));
    },

    async newestUids(mailboxId, limit) {
      const rows = await db.all<{ uid: number }>(
        'SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid DESC LIMIT ?',
        [mailboxId, limit],
      );
      return rows.map((r) => num(r.uid));
    },

    async firstUnseenUid(mailboxId) {
      const r = await db.get<{ u: number | null }>(
        `SELECT MIN(uid) AS u FROM messages WHERE mailbox_id = ? AND (sflags & ${SEEN}) = 0`,
        [mailboxId],
      );
      return r?.u === null || r?.u === undefined ? null : num(r.u);
    },

    async listFlags(mailboxId, opts = {}) {
      const { where, args } = uidRange(mailboxId, opts);
      const rows = await db.all<{ uid: number; sflags: number; keywords: string; modseq: number }>(
        `SELECT uid, sflags, keywords, modseq FROM messages WHERE ${where.join(' AND ')} ORDER BY uid`,
        args,
      );
      const out = new Array<{ uid: number; flags: string[]; modseq: number }>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        out[i] = {
          uid: num(r.uid),
          flags: decodeFlags(num(r.sflags), r.keywords ? String(r.keywords) : ''),
          modseq: num(r.modseq),
        };
      }
      return out;
    },

    async listMessages(mailboxId, opts = {}) {
      if (opts.uids) {
        const out: MessageRecord[] = [];
        for (const part of chunks([...new Set(opts.uids)].sort((a, b) => a - b))) {
          const rows = await db.all(
            `SELECT ${MESSAGE_COLS} FROM messages WHERE mailbox_id = ? AND uid IN (${marks(part.length)})${
              opts.changedSince !== undefined ? ' AND modseq > ?' : ''
            } ORDER BY uid`,
            opts.changedSince !== undefined ? [mailboxId, ...part, opts.changedSince] : [mailboxId, ...part],
          );
          for (const r of rows) out.push(toMessage(r));
        }
        return out;
      }
      const { where, args } = uidRange(mailboxId, opts);
      return (await db.all(`SELECT ${MESSAGE_COLS} FROM messages WHERE ${where.join(' AND ')} ORDER BY uid`, args)).map(
        toMessage,
      );
    },

    async expungedSince(mailboxId, modseq) {
      const rows = await db.all<{ uid: number }>(
        'SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid',
        [mailboxId, modseq],
      );
      return { uids: rows.map((r) => num(r.uid)), complete: true };
    },

    async updateFlags(mailboxId, uids, op, flags, unchangedSince, alsoRemove): Promise<FlagUpdateResult> {
      return db.transaction(async (tx) => {
        const mb = await lockedMailbox(tx, mailboxId);
        const rows = await rowsByUid(tx, mailboxId, uids);
        const change = encodeFlags(flags);
        const drop = { mask: 0, keywords: encodeFlags(alsoRemove ?? []).keywords };
        const modified: number[] = [];
        const pending: { row: Row; mask: number; keywords: string[] }[] = [];
        for (const row of rows) {
          if (unchangedSince !== undefined && num(row.modseq) > unchangedSince) {
            modified.push(num(row.uid));
            continue;
          }
          const cur = splitKeywords(String(row.keywords));
          let next = applyFlagOp(op, num(row.sflags), cur, change);
          if (drop.keywords.length) next = applyFlagOp('remove', next.mask, next.keywords, drop);
          const same =
            next.mask === num(row.sflags) &&
            next.keywords.length === cur.length &&
            next.keywords.every((k, i) => k === cur[i]);
          if (!same) pending.push({ row, mask: next.mask, keywords: next.keywords });
        }
        if (pending.length === 0) return { updated: [], modified, modseq: num(mb.modseq) };
        const modseq = await nextModseq(tx, num(mb.account_id));
        let unseenDelta = 0;
        let deletedDelta = 0;
        const updated: FlagUpdateResult['updated'] = [];
        for (const p of pending) {
          const old = num(p.row.sflags);
          unseenDelta += (old & SEEN ? 0 : 1) - (p.mask & SEEN ? 0 : 1);
          deletedDelta += (p.mask & DELETED ? 1 : 0) - (old & DELETED ? 1 : 0);
          const kw = joinKeywords(p.keywords);
          await tx.run('UPDATE messages SET sflags = ?, keywords = ?, modseq = ? WHERE id = ?', [
            p.mask,
            kw,
            modseq,
            num(p.row.id),
          ]);
          updated.push({
            uid: num(p.row.uid),
            flags: decodeFlags(p.mask, kw),
            modseq,
            before: decodeFlags(old, String(p.row.keywords)),
          });
        }
        await tx.run('UPDATE mailboxes SET unseen = unseen - ?, deleted = deleted + ?, modseq = ? WHERE id = ?', [
          unseenDelta,
          deletedDelta,
          modseq,
          mailboxId,
        ]);
        if (op !== 'remove' && change.keywords.length)
          await noteKeywords(tx, mailboxId, String(mb.keywords), change.keywords);
        return { updated, modified, modseq };
      });
    },

    async expunge(mailboxId, uids) {
      return db.transaction(async (tx) => {
        const mb = await lockedMailbox(tx, mailboxId);
        const rows = await rowsByUid(tx, mailboxId, uids);
        if (rows.length === 0) return { uids: [], modseq: num(mb.modseq) };
        const modseq = await nextModseq(tx, num(mb.account_id));
        await expungeRows(tx, mb, rows, modseq);
        return { uids: rows.map((r) => num(r.uid)), modseq };
      });
    },

    async expungeAndMarkSeen(mailboxId, expunge, seen) {
      return db.transaction(async (tx) => {
        const mb = await lockedMailbox(tx, mailboxId);
        const gone = await rowsByUid(tx, mailboxId, expunge);
        const goneUids = new Set(gone.map((r) => num(r.uid)));
        const unseen = (await rowsByUid(tx, mailboxId, seen)).filter(
          (r) => !goneUids.has(num(r.uid)) && !(num(r.sflags) & SEEN),
        );
        if (gone.length === 0 && unseen.length === 0) return { expunged: [], seen: [], modseq: num(mb.modseq) };
        const modseq = await nextModseq(tx, num(mb.account_id));
        for (const part of chunks(unseen.map((r) => num(r.id))))
          await tx.run(`UPDATE messages SET sflags = sflags | ?, modseq = ? WHERE id IN (${marks(part.length)})`, [
            SEEN,
            modseq,
            ...part,
          ]);
        if (unseen.length)
          await tx.run('UPDATE mailboxes SET unseen = unseen - ?, modseq = ? WHERE id = ?', [
            unseen.length,
            modseq,
            mailboxId,
          ]);
        if (gone.length) await expungeRows(tx, mb, gone, modseq);
        return { expunged: [...goneUids], seen: unseen.map((r) => num(r.uid)), modseq };
      });
    },

    async retentionCandidates(specialUse, savedBefore, limit) {
      const rows = await db.all<Row>(
        `SELECT m.account_id, m.mailbox_id, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
         WHERE b.special_use = ? AND m.save_date < ? LIMIT ?`,
        [specialUse, savedBefore, limit],
      );
      return rows.map((r) => ({ accountId: num(r.account_id), mailboxId: num(r.mailbox_id), uid: num(r.uid) }));
    },

    async savedBetween(specialUse, from, to, after, limit) {
      const rows = await db.all<Row>(
        `SELECT ${MESSAGE_COLS} FROM messages
         WHERE mailbox_id IN (SELECT id FROM mailboxes WHERE special_use = ?)
           AND save_date >= ? AND save_date < ? AND (account_id > ? OR (account_id = ? AND id > ?))
         ORDER BY account_id, id LIMIT ?`,
        [specialUse, from, to, after.accountId, after.accountId, after.id, limit],
      );
      return rows.map(toMessage);
    },

    async copy(srcMailboxId, uids, dstMailboxId, keywords) {
      return db.transaction(async (tx) => {
        const src = await lockedMailbox(tx, srcMailboxId);
        const rows = await rowsByUid(tx, srcMailboxId, uids);
        return copyRows(tx, src, rows, dstMailboxId, true, keywords);
      });
    },

    async move(srcMailboxId, uids, dstMailboxId, keywords) {
      return db.transaction(async (tx) => {
        const src = await lockedMailbox(tx, srcMailboxId);
        const rows = await rowsByUid(tx, srcMailboxId, uids);
        const res = await copyRows(tx, src, rows, dstMailboxId, false, keywords);
        if (rows.length) await expungeRows(tx, src, rows, res.modseq);
        return { ...res, expungeModseq: res.modseq };
      });
    },

    async searchText(mailboxId, field, needle) {
      // The text is stored folded (JS toLowerCase); fold the needle the same way.
      needle = needle.toLowerCase();
      if (needle === '')
        return (
          await db.all<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid', [mailboxId])
        ).map((r) => num(r.uid));
      if (db.dialect === 'sqlite') {
        // FTS5 trigram answers LIKE '%needle%' from its index only without ESCAPE and for 3+ characters;
        // other needles scan the stored text (still exact, just slower).
        const indexed = [...needle].length >= 3 && !/[%_]/.test(needle);
        if (indexed) {
          const like = `%${needle}%`;
          const sub =
            field === 'header'
              ? 'SELECT rowid FROM body_text WHERE headers LIKE ?'
              : field === 'body'
                ? 'SELECT rowid FROM body_text WHERE body LIKE ?'
                : 'SELECT rowid FROM body_text WHERE headers LIKE ? OR body LIKE ?';
          const rows = await db.all<{ uid: number }>(
            `SELECT m.uid FROM messages m WHERE m.mailbox_id = ? AND m.body_id IN (${sub}) ORDER BY m.uid`,
            field === 'text' ? [mailboxId, like, like] : [mailboxId, like],
          );
          return rows.map((r) => num(r.uid));
        }
        return scan('rowid', " ESCAPE '\\'");
      }
      // PostgreSQL: pg_trgm's GIN index serves LIKE '%needle%' with its default escape character, the backslash.
      return scan('body_id', '');

      /** LIKE over the stored text of the mailbox's messages (index-backed where the backend can). */
      async function scan(key: 'rowid' | 'body_id', esc: string): Promise<number[]> {
        const like = `%${likeEscaped(needle)}%`;
        const cond =
          field === 'header'
            ? `t.headers LIKE ?${esc}`
            : field === 'body'
              ? `t.body LIKE ?${esc}`
              : `(t.headers LIKE ?${esc} OR t.body LIKE ?${esc})`;
        const rows = await db.all<{ uid: number }>(
          `SELECT m.uid FROM messages m JOIN body_text t ON t.${key} = m.body_id WHERE m.mailbox_id = ? AND ${cond}
           ORDER BY m.uid`,
          field === 'text' ? [mailboxId, like, like] : [mailboxId, like],
        );
        return rows.map((r) => num(r.uid));
      }
    },

    async textCutUids(mailboxId) {
      // Few bodies are cut: the partial index lists them and messages_body finds their messages. The unary
      // plus keeps SQLite from walking the whole mailbox by mailbox_id instead (~1000 times slower at 100k).
      const rows = await db.all<{ uid: number }>(
        `SELECT uid FROM messages WHERE +mailbox_id = ? AND body_id IN (SELECT id FROM bodies WHERE text_cut = 1)
         ORDER BY uid`,
        [mailboxId],
      );
      return rows.map((r) => num(r.uid));
    },

    async staleTextBodies(opts) {
      const pick = (r: Row): StaleTextBody => ({
        id: num(r.id),
        version: num(r.index_version),
        hash: String(r.hash),
        size: num(r.size),
      });
      const out: StaleTextBody[] = [];
      if ('after' in opts) {
        // One version at a time: each query is a range of bodies_index_version (rows rebuilt have left it),
        // never a walk through the bodies table.
        for (let v = opts.after.version; v < SEARCH_INDEX_VERSION && out.length < opts.limit; v++)
          for (const r of await db.all<Row>(
            'SELECT id, index_version, hash, size FROM bodies WHERE index_version = ? AND id > ? ORDER BY id LIMIT ?',
            [v, v === opts.after.version ? opts.after.id : 0, opts.limit - out.length],
          ))
            out.push(pick(r));
        return out;
      }
      for (const part of chunks([...new Set(opts.ids)].sort((a, b) => a - b)))
        for (const r of await db.all<Row>(
          `SELECT id, index_version, hash, size FROM bodies WHERE id IN (${marks(part.length)}) AND index_version < ?
           ORDER BY id`,
          [...part, SEARCH_INDEX_VERSION],
        ))
          out.push(pick(r));
      return out;
    },

    async staleTextCount() {
      const r = await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM bodies WHERE index_version < ?', [
        SEARCH_INDEX_VERSION,
      ]);
      return num(r?.n ?? 0);
    },

    async accountBodyIds(accountId) {
      const rows = await db.all<{ body_id: number }>(
        'SELECT DISTINCT body_id FROM messages WHERE account_id = ? ORDER BY body_id',
        [accountId],
      );
      return rows.map((r) => num(r.body_id));
    },

    async rewriteBodyText(bodies: ReindexedBody[]) {
      if (bodies.length === 0) return 0;
      // Body rows only, no account row: delivery and IMAP go on. They are locked in hash order, the order
      // append upserts bodies in (PostgreSQL); an expunge releasing two of them in id order can still meet
      // this in a deadlock, which the driver runs again.
      const sorted = [...bodies].sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
      return db.transaction(async (tx) => {
        let n = 0;
        for (const b of sorted) {
          // The hash check: the id is the same content still (ids are never reused, but say so here too).
          const changed = await tx.run('UPDATE bodies SET text_cut = ?, index_version = ? WHERE id = ? AND hash = ?', [
            b.textCut ? 1 : 0,
            SEARCH_INDEX_VERSION,
            b.id,
            b.hash,
          ]);
          if (changed === 0) continue;
          const { headers, text } = indexed(b);
          // Delete and insert rather than update: the same statements as upsertBody, and a row missing for
          // whatever reason is written too.
          if (db.dialect === 'sqlite') {
            await tx.run('DELETE FROM body_text WHERE rowid = ?', [b.id]);
            await tx.run('INSERT INTO body_text (rowid, headers, body) VALUES (?, ?, ?)', [b.id, headers, text]);
          } else
            await tx.run(
              `INSERT INTO body_text (body_id, headers, body) VALUES (?, ?, ?)
               ON CONFLICT (body_id) DO UPDATE SET headers = excluded.headers, body = excluded.body`,
              [b.id, headers, text],
            );
          n++;
        }
        return n;
      });
    },
  };
}
