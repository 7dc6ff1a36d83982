// The outbound queue in SQL: messages and per-recipient state, leases that several nodes can share
// (FOR UPDATE SKIP LOCKED on PostgreSQL), blob references held while a message is queued.
import type {
  AppendResult,
  NewQueuedMessage,
  NotifyValue,
  QueuedMessage,
  QueuedRecipient,
  QueueEntry,
  QueueStore,
  RecipientStatus,
} from '../../core/ports.ts';
import { marks, type Row, type SqlDriver, type SqlExecutor } from './driver.ts';
import { appendRows } from './messages.ts';

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
function notifyToText(n: NotifyValue): string | null {
  return n === null ? null : n === 'NEVER' ? 'NEVER' : n.join(',');
}

function notifyFromText(t: unknown): NotifyValue {
  if (t === null || t === undefined) return null;
  if (t === 'NEVER') return 'NEVER';
  return String(t)
    .split(',')
    .filter((x) => x) as ('SUCCESS' | 'FAILURE' | 'DELAY')[];
}

function toMessage(r: Row): QueuedMessage {
  return {
    id: num(r.id),
    queueId: String(r.queue_id),
    from: String(r.sender),
    blobHash: String(r.blob_hash),
    size: num(r.size),
    envId: strOrNull(r.env_id),
    ret: strOrNull(r.ret) as QueuedMessage['ret'],
    smtpUtf8: num(r.smtp_utf8) === 1,
    requireTls: num(r.require_tls) === 1,
    tlsOptional: num(r.tls_optional) === 1,
    bodyType: strOrNull(r.body_type) as QueuedMessage['bodyType'],
    accountId: numOrNull(r.account_id),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    warnAt: numOrNull(r.warn_at),
    held: num(r.held) === 1,
    notice: num(r.notice) === 1,
  };
}

function toRecipient(r: Row): QueuedRecipient {
  return {
    id: num(r.id),
    messageId: num(r.message_id),
    address: String(r.address),
    domain: String(r.domain),
    orcpt: strOrNull(r.orcpt),
    notify: notifyFromText(r.notify),
    status: String(r.status) as RecipientStatus,
    attempts: num(r.attempts),
    nextAttempt: num(r.next_attempt),
    lastAttempt: numOrNull(r.last_attempt),
    lastReply: strOrNull(r.last_reply),
    lastStatus: strOrNull(r.last_status),
    remoteMta: strOrNull(r.remote_mta),
    warned: num(r.warned) === 1,
    leaseOwner: strOrNull(r.lease_owner),
    leaseUntil: numOrNull(r.lease_until),
  };
}

/** Messages with the given recipients, grouped, in message order. */
async function entries(ex: SqlExecutor, recipients: QueuedRecipient[]): Promise<QueueEntry[]> {
  if (recipients.length === 0) return [];
  const ids = [...new Set(recipients.map((r) => r.messageId))];
  const out = new Map<number, QueueEntry>();
  for (let i = 0; i < ids.length; i += 500) {
    const part = ids.slice(i, i + 500);
    for (const r of await ex.all(`SELECT * FROM queue_messages WHERE id IN (${marks(part.length)})`, part))
      out.set(num(r.id), { message: toMessage(r), recipients: [] });
  }
  for (const r of recipients) out.get(r.messageId)?.recipients.push(r);
  return [...out.values()].sort((a, b) => a.message.id - b.message.id);
}

/** Deletes a message and its recipients and drops its blob reference (blob GC removes the file later). */
async function deleteMessage(tx: SqlExecutor, id: number, hash: string): Promise<void> {
  await tx.run('DELETE FROM queue_recipients WHERE message_id = ?', [id]);
  // Deleted meanwhile by another transaction (`petrel queue delete` as a delivery ends): its reference is gone.
  if ((await tx.run('DELETE FROM queue_messages WHERE id = ?', [id])) === 0) return;
  await tx.run('UPDATE blobs SET refs = refs - 1, created_at = ? WHERE hash = ?', [Date.now(), hash]);
}

/** Adds a message and its recipients and takes a reference on its blob. */
async function insertMessage(tx: SqlExecutor, m: NewQueuedMessage): Promise<QueuedMessage> {
  const row = await tx.get<Row>(
    `INSERT INTO queue_messages (queue_id, sender, blob_hash, size, env_id, ret, smtp_utf8, require_tls,
       tls_optional, body_type, account_id, created_at, expires_at, warn_at, notice)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
    [
      m.queueId,
      m.from,
      m.blobHash,
      m.size,
      m.envId,
      m.ret,
      m.smtpUtf8 ? 1 : 0,
      m.requireTls ? 1 : 0,
      m.tlsOptional ? 1 : 0,
      m.bodyType,
      m.accountId,
      m.createdAt,
      m.expiresAt,
      m.warnAt,
      m.notice ? 1 : 0,
    ],
  );
  const msg = toMessage(row!);
  for (const r of m.recipients)
    await tx.run(
      'INSERT INTO queue_recipients (message_id, address, domain, orcpt, notify, next_attempt) VALUES (?, ?, ?, ?, ?, ?)',
      [msg.id, r.address, r.domain, r.orcpt, notifyToText(r.notify), m.createdAt],
    );
  await tx.run(
    'INSERT INTO blobs (hash, size, refs, created_at) VALUES (?, ?, 1, ?) ON CONFLICT (hash) DO UPDATE SET refs = blobs.refs + 1',
    [m.blobHash, m.size, m.createdAt],
  );
  return msg;
}

/** Recipients of messages on hold are never leased nor due (postsuper -h): the runner skips them. */
const NOT_HELD =
  ' AND NOT EXISTS (SELECT 1 FROM queue_messages m WHERE m.id = queue_recipients.message_id AND m.held = 1)';

/** " AND domain NOT IN (?, ...)" for a non-empty list of domains, else nothing. */
function notIn(domains: string[]): string {
  return domains.length ? ` AND domain NOT IN (${marks(domains.length)})` : '';
}

/** The methods that write (the SQLite store runs them on its writer thread). */
export const QUEUE_WRITES = [
  'insert',
  'appendWithNotice',
  'lease',
  'update',
  'renew',
  'release',
  'retryNow',
  'setHeld',
  'leaseMessage',
  'delete',
] as const;

export function queueStore(db: SqlDriver): QueueStore {
  // PostgreSQL: concurrent leasers skip each other's locked rows instead of waiting (several nodes).
  // SQLite: BEGIN IMMEDIATE already serialises writers, so the same statement without the lock clause.
  const lockClause = db.dialect === 'postgres' ? ' FOR UPDATE SKIP LOCKED' : '';
  return {
    async insert(m: NewQueuedMessage) {
      return db.transaction((tx) => insertMessage(tx, m));
    },

    async appendWithNotice(local, notice) {
      // The notice first, then the mailboxes: the order update() takes them in (a DSN and its outcomes).
      return db.transaction(async (tx) => {
        await insertMessage(tx, notice);
        return appendRows(tx, db.dialect, local);
      });
    },

    async lease(owner, now, leaseMs, limit, skipDomains = []) {
      return db.transaction(async (tx) => {
        const rows = await tx.all<Row>(
          `UPDATE queue_recipients SET lease_owner = ?, lease_until = ?
           WHERE id IN (SELECT id FROM queue_recipients
                        WHERE status = 'queued' AND next_attempt <= ? AND (lease_until IS NULL OR lease_until < ?)${NOT_HELD}${notIn(skipDomains)}
                        ORDER BY next_attempt, id LIMIT ?${lockClause})
           RETURNING *`,
          [owner, now + leaseMs, now, now, ...skipDomains, limit],
        );
        return entries(tx, rows.map(toRecipient));
      });
    },

    async update(owner, updates, dsns = []) {
      if (updates.length === 0) return { done: [], queued: [], appended: [] };
      return db.transaction(async (tx) => {
        const touched = new Set<number>();
        const recorded = new Set<number>();
        for (const u of updates) {
          const r = await tx.get<{ message_id: number }>(
            `UPDATE queue_recipients SET status = ?, attempts = ?, next_attempt = ?, last_attempt = ?, last_reply = ?,
               last_status = ?, remote_mta = ?, warned = ?, lease_owner = NULL, lease_until = NULL
             WHERE id = ? AND lease_owner = ? RETURNING message_id`,
            [
              u.status,
              u.attempts,
              u.nextAttempt,
              u.lastAttempt,
              u.lastReply,
              u.lastStatus,
              u.remoteMta,
              u.warned ? 1 : 0,
              u.id,
              owner,
            ],
          );
          if (r) {
            touched.add(num(r.message_id));
            recorded.add(u.id);
          }
        }
        // A DSN goes with the outcomes it reports: none recorded (the lease lost to another node), no DSN.
        // A local sender's is appended to its mailboxes here too (the accounts' rows locked after the queue's
        // recipient rows, as nothing else takes both).
        const queued: string[] = [];
        const appended: { dsn: number; results: AppendResult[] }[] = [];
        for (const [i, d] of dsns.entries()) {
          if (!d.rcpts.some((id) => recorded.has(id))) continue;
          if (d.message) {
            await insertMessage(tx, d.message);
            queued.push(d.message.queueId);
          }
          if (d.local?.length) appended.push({ dsn: i, results: await appendRows(tx, db.dialect, d.local) });
        }
        const done: string[] = [];
        for (const id of [...touched].sort((a, b) => a - b)) {
          // PostgreSQL (read committed): another node settling this message's other recipients now would not
          // see ours, nor we theirs, and neither would delete it (nor drop its blob reference). The message's
          // lock, taken in id order, makes the second one look after the first has committed.
          if (db.dialect === 'postgres') await tx.get('SELECT id FROM queue_messages WHERE id = ? FOR UPDATE', [id]);
          const left = await tx.get(
            "SELECT 1 AS one FROM queue_recipients WHERE message_id = ? AND status = 'queued'",
            [id],
          );
          if (left) continue;
          const m = await tx.get<Row>('SELECT queue_id, blob_hash FROM queue_messages WHERE id = ?', [id]);
          if (!m) continue;
          await deleteMessage(tx, id, String(m.blob_hash));
          done.push(String(m.queue_id));
        }
        return { done, queued, appended };
      });
    },

    async renew(owner, ids, until) {
      if (ids.length === 0) return [];
      const rows = await db.all<{ id: number }>(
        `UPDATE queue_recipients SET lease_until = ?
         WHERE lease_owner = ? AND status = 'queued' AND id IN (${marks(ids.length)}) RETURNING id`,
        [until, owner, ...ids],
      );
      return rows.map((r) => num(r.id));
    },

    async release(owner, ids) {
      if (ids && ids.length === 0) return 0;
      if (!ids)
        return db.run('UPDATE queue_recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?', [
          owner,
        ]);
      return db.run(
        `UPDATE queue_recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ? AND id IN (${marks(ids.length)})`,
        [owner, ...ids],
      );
    },

    async nextDue(skipDomains = []) {
      // A leased recipient becomes due again when its lease runs out, if nobody reports on it.
      const r = await db.get<{ t: number | null }>(
        `SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt THEN lease_until ELSE next_attempt END) AS t
         FROM queue_recipients WHERE status = 'queued'${NOT_HELD}${notIn(skipDomains)}`,
        skipDomains,
      );
      return numOrNull(r?.t);
    },

    async counts() {
      // The status index answers this; the queue holds only what is not yet done.
      const r = await db.get<{ messages: number; recipients: number; retried: number }>(
        `SELECT COUNT(DISTINCT message_id) AS messages, COUNT(*) AS recipients,
                COALESCE(SUM(CASE WHEN attempts > 0 THEN 1 ELSE 0 END), 0) AS retried
         FROM queue_recipients WHERE status = 'queued'`,
      );
      return { messages: num(r?.messages ?? 0), recipients: num(r?.recipients ?? 0), deferred: num(r?.retried ?? 0) };
    },

    async list(limit = 1000) {
      const msgs = await db.all<Row>('SELECT id FROM queue_messages ORDER BY created_at, id LIMIT ?', [limit]);
      if (msgs.length === 0) return [];
      const ids = msgs.map((m) => num(m.id));
      const rcpts: QueuedRecipient[] = [];
      for (let i = 0; i < ids.length; i += 500) {
        const part = ids.slice(i, i + 500);
        for (const r of await db.all<Row>(
          `SELECT * FROM queue_recipients WHERE message_id IN (${marks(part.length)}) ORDER BY id`,
          part,
        ))
          rcpts.push(toRecipient(r));
      }
      const out = await entries(db, rcpts);
      return out.sort((a, b) => a.message.createdAt - b.message.createdAt || a.message.id - b.message.id);
    },

    async get(queueId) {
      const m = await db.get<Row>('SELECT * FROM queue_messages WHERE queue_id = ?', [queueId]);
      if (!m) return undefined;
      const rcpts = await db.all<Row>('SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY id', [
        m.id as number,
      ]);
      // Two reads: a message whose last recipients were settled between them (the transaction that deletes
      // its recipients deletes it too) is gone, not a message with no recipients.
      if (rcpts.length === 0) return undefined;
      return { message: toMessage(m), recipients: rcpts.map(toRecipient) };
    },

    async retryNow(queueId, now) {
      if (queueId === null)
        return db.run("UPDATE queue_recipients SET next_attempt = ? WHERE status = 'queued'", [now]);
      return db.run(
        `UPDATE queue_recipients SET next_attempt = ?
         WHERE status = 'queued' AND message_id = (SELECT id FROM queue_messages WHERE queue_id = ?)`,
        [now, queueId],
      );
    },

    async setHeld(queueId, held, now) {
      const which = queueId === null ? '' : ' AND queue_id = ?';
      const args = queueId === null ? [] : [queueId];
      return db.transaction(async (tx) => {
        // Released mail is due now (postsuper -H), whatever its retry schedule said; held mail keeps it.
        if (!held)
          await tx.run(
            `UPDATE queue_recipients SET next_attempt = ?
             WHERE status = 'queued' AND message_id IN (SELECT id FROM queue_messages WHERE held = 1${which})`,
            [now, ...args],
          );
        return tx.run(`UPDATE queue_messages SET held = ? WHERE held = ?${which}`, [
          held ? 1 : 0,
          held ? 0 : 1,
          ...args,
        ]);
      });
    },

    async leaseMessage(queueId, owner, now, leaseMs) {
      return db.transaction(async (tx) => {
        const m = await tx.get<Row>('SELECT * FROM queue_messages WHERE queue_id = ?', [queueId]);
        if (!m) return undefined;
        // Locked (PostgreSQL): a runner leasing meanwhile skips these rows rather than take them too.
        const rows = (
          await tx.all<Row>(`SELECT * FROM queue_recipients WHERE message_id = ? AND status = 'queued'${lockClause}`, [
            num(m.id),
          ])
        ).map(toRecipient);
        if (rows.some((r) => r.leaseOwner !== null && (r.leaseUntil ?? 0) >= now)) return 'busy' as const;
        const taken = await tx.all<Row>(
          `UPDATE queue_recipients SET lease_owner = ?, lease_until = ?
           WHERE message_id = ? AND status = 'queued' RETURNING *`,
          [owner, now + leaseMs, num(m.id)],
        );
        return { message: toMessage(m), recipients: taken.map(toRecipient).sort((a, b) => a.id - b.id) };
      });
    },

    async delete(queueId) {
      return db.transaction(async (tx) => {
        const m = await tx.get<Row>('SELECT id, blob_hash FROM queue_messages WHERE queue_id = ?', [queueId]);
        if (!m) return false;
        await deleteMessage(tx, num(m.id), String(m.blob_hash));
        return true;
      });
    },
  };
}
