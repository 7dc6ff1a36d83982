// The spam filter's rows in SQL: verdicts per delivered message, greylisting triplets and client
// networks, fixed-window rate counters (one upsert that returns the new count, on both dialects), and the
// allow and block lists (account_id 0: every recipient).
import type { GreylistClient, SenderListEntry, SpamStore, StoredVerdict } from '../../core/spam-port.ts';
import { chunks, marks, type Row, type SqlDriver, type SqlExecutor, type SqlValue } from './driver.ts';

const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function toVerdict(r: Row): StoredVerdict {
  return {
    accountId: numOrNull(r.account_id),
    messageId: numOrNull(r.message_id),
    action: String(r.action) as StoredVerdict['action'],
    score: Number(r.score),
    symbols: String(r.symbols),
    clientIp: strOrNull(r.client_ip),
    mailFrom: strOrNull(r.mail_from),
    createdAt: Number(r.created_at),
  };
}

export const SPAM_WRITES = [
  'saveVerdicts',
  'startTriplet',
  'touchTriplet',
  'passTriplet',
  'touchClient',
  'countRate',
  'prune',
  'addListEntry',
  'addOwnListEntry',
  'removeListEntry',
  'noteJudgement',
  'setUserJunkScore',
  'setUserJunkReport',
  'clearRate',
] as const;

/** One row counts every change of the lists: reading it is what a node does per message (spam/lists/cache.ts). */
const bumpListVersion = (tx: Pick<SqlExecutor, 'run'>) =>
  tx.run('UPDATE spam_lists_version SET version = version + 1 WHERE id = 1');

/** The first key of the PostgreSQL advisory lock that serialises adds to one account's own lists (the second: its id). */
const OWN_LISTS_LOCK = 7275002;

/** The account_id column holds the scope: 0 every recipient, an account's id, or minus a domain's id. */
const scopeOf = (accountId: number | null | undefined, domainId?: number | null) =>
  domainId ? -domainId : (accountId ?? 0);

function toEntry(r: Row): SenderListEntry {
  const scope = Number(r.account_id);
  return {
    id: Number(r.id),
    kind: String(r.kind) as SenderListEntry['kind'],
    accountId: scope > 0 ? scope : null,
    domainId: scope < 0 ? -scope : null,
    entry: String(r.entry),
    note: String(r.note),
    createdAt: Number(r.created_at),
  };
}

export function spamStore(db: SqlDriver): SpamStore {
  /** Judgements noted since start: old ones are dropped every thousandth. */
  let judged = 0;
  return {
    async saveVerdicts(rows) {
      if (rows.length === 0) return;
      await db.transaction(async (tx) => {
        for (const v of rows) {
          const insert = `INSERT INTO spam_verdicts
             (account_id, message_id, action, score, symbols, client_ip, mail_from, sender_domain, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;
          const values = [
            v.accountId,
            v.messageId,
            v.action,
            v.score,
            v.symbols,
            v.clientIp,
            v.mailFrom,
            senderDomain(v.mailFrom),
            v.createdAt,
          ];
          // The row's id is read back only for a refusal that names its accounts (the per-message path stays one insert).
          if (!v.refusedFor?.length) {
            await tx.run(insert, values);
            continue;
          }
          const [{ id }] = await tx.all<{ id: number | string }>(`${insert} RETURNING id`, values);
          const seen = new Set<number>();
          for (const r of v.refusedFor ?? []) {
            if (seen.has(r.accountId)) continue;
            seen.add(r.accountId);
            await tx.run(
              'INSERT INTO spam_refused_for (account_id, verdict_id, score, symbols, created_at) VALUES (?, ?, ?, ?, ?)',
              [r.accountId, Number(id), r.score, r.symbols, v.createdAt],
            );
          }
        }
      });
    },
    async verdictsFor(accountId, messageId) {
      const rows = await db.all<Row>(
        'SELECT * FROM spam_verdicts WHERE account_id = ? AND message_id = ? ORDER BY id',
        [accountId, messageId],
      );
      return rows.map(toVerdict);
    },
    async firstVerdicts(accountId, messageIds) {
      const out = new Map<number, StoredVerdict>();
      for (const part of chunks([...new Set(messageIds)]))
        for (const r of await db.all<Row>(
          `SELECT * FROM spam_verdicts WHERE account_id = ? AND message_id IN (${marks(part.length)}) ORDER BY id`,
          [accountId, ...part],
        )) {
          const v = toVerdict(r);
          if (!out.has(v.messageId!)) out.set(v.messageId!, v);
        }
      return out;
    },
    async recentVerdicts(accountId, limit) {
      const rows = await db.all<Row>('SELECT * FROM spam_verdicts WHERE account_id = ? ORDER BY id DESC LIMIT ?', [
        accountId,
        limit,
      ]);
      return rows.map(toVerdict);
    },
    async verdictsSince(since, limit) {
      const rows = await db.all<Row>('SELECT * FROM spam_verdicts WHERE created_at >= ? ORDER BY id DESC LIMIT ?', [
        since,
        limit,
      ]);
      return rows.map(toVerdict);
    },
    async findVerdicts(f, limit) {
      const where: string[] = [];
      const args: SqlValue[] = [];
      if (f.sender !== undefined) {
        // Both forms go through the sender_domain index: an address is looked for among its domain's rows.
        const sender = f.sender.toLowerCase();
        where.push('sender_domain = ?');
        args.push(senderDomain(sender) ?? sender);
        if (sender.includes('@')) {
          where.push('LOWER(mail_from) = ?');
          args.push(sender);
        }
      }
      if (f.clientIp !== undefined) {
        where.push('client_ip = ?');
        args.push(f.clientIp);
      }
      if (f.accountId !== undefined) {
        where.push('account_id = ?');
        args.push(f.accountId);
      }
      const rows = await db.all<Row>(
        `SELECT * FROM spam_verdicts ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`,
        [...args, limit],
      );
      return rows.map(toVerdict);
    },
    async refusalsFor(accountId, limit) {
      const rows = await db.all<Row>(
        `SELECT v.id, r.account_id, v.message_id, v.action, r.score, r.symbols, v.client_ip, v.mail_from, v.created_at
         FROM spam_refused_for r JOIN spam_verdicts v ON v.id = r.verdict_id
         WHERE r.account_id = ? ORDER BY r.verdict_id DESC LIMIT ?`,
        [accountId, limit],
      );
      return rows.map(toVerdict);
    },
    async recentRefusals(limit) {
      const rows = await db.all<Row>('SELECT * FROM spam_verdicts WHERE message_id IS NULL ORDER BY id DESC LIMIT ?', [
        limit,
      ]);
      return rows.map(toVerdict);
    },
    async getTriplet(key) {
      const r = await db.get<Row>('SELECT * FROM spam_greylist WHERE triplet = ?', [key]);
      return r
        ? {
            key,
            firstSeen: Number(r.first_seen),
            lastSeen: Number(r.last_seen),
            passedAt: numOrNull(r.passed_at),
          }
        : undefined;
    },
    async startTriplet(key, now) {
      await db.run(
        `INSERT INTO spam_greylist (triplet, first_seen, last_seen, passed_at) VALUES (?, ?, ?, NULL)
         ON CONFLICT (triplet) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
           passed_at = NULL`,
        [key, now, now],
      );
    },
    async touchTriplet(key, now) {
      await db.run('UPDATE spam_greylist SET last_seen = ? WHERE triplet = ?', [now, key]);
    },
    async passTriplet(key, net, now) {
      await db.transaction(async (tx) => {
        const changed = await tx.run(
          'UPDATE spam_greylist SET passed_at = ?, last_seen = ? WHERE triplet = ? AND passed_at IS NULL',
          [now, now, key],
        );
        await tx.run('UPDATE spam_greylist SET last_seen = ? WHERE triplet = ?', [now, key]);
        // Only a triplet's first pass counts towards its network's auto-whitelisting.
        if (changed > 0)
          await tx.run(
            `INSERT INTO spam_greylist_clients (net, passes, last_seen) VALUES (?, 1, ?)
             ON CONFLICT (net) DO UPDATE SET passes = spam_greylist_clients.passes + 1, last_seen = excluded.last_seen`,
            [net, now],
          );
        else await tx.run('UPDATE spam_greylist_clients SET last_seen = ? WHERE net = ?', [now, net]);
      });
    },
    async getClient(net): Promise<GreylistClient | undefined> {
      const r = await db.get<Row>('SELECT * FROM spam_greylist_clients WHERE net = ?', [net]);
      return r ? { net, passes: Number(r.passes), lastSeen: Number(r.last_seen) } : undefined;
    },
    async touchClient(net, now) {
      await db.run('UPDATE spam_greylist_clients SET last_seen = ? WHERE net = ?', [now, net]);
    },
    async rateCount(key, windowStart) {
      const r = await db.get<Row>('SELECT hits FROM spam_rates WHERE rate_key = ? AND window_start = ?', [
        key,
        windowStart,
      ]);
      return Number(r?.hits ?? 0);
    },
    async clearRate(key) {
      await db.run('DELETE FROM spam_rates WHERE rate_key = ?', [key]);
    },
    async userJunkScores(accountIds) {
      const out = new Map<number, number>();
      if (accountIds.length === 0) return out;
      const rows = await db.all<Row>(
        `SELECT account_id, junk_score FROM spam_user_settings
         WHERE account_id IN (${accountIds.map(() => '?').join(', ')}) AND junk_score IS NOT NULL`,
        accountIds,
      );
      for (const r of rows) out.set(Number(r.account_id), Number(r.junk_score));
      return out;
    },
    async setUserJunkScore(accountId, score, now) {
      // One row per account holds every setting: forgetting one leaves the others.
      await db.run(
        `INSERT INTO spam_user_settings (account_id, junk_score, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET junk_score = excluded.junk_score, updated_at = excluded.updated_at`,
        [accountId, score, now],
      );
    },
    async userJunkReport(accountId) {
      const r = await db.get<Row>('SELECT junk_report FROM spam_user_settings WHERE account_id = ?', [accountId]);
      return r?.junk_report === null || r?.junk_report === undefined ? null : Number(r.junk_report) === 1;
    },
    async setUserJunkReport(accountId, wanted, now) {
      await db.run(
        `INSERT INTO spam_user_settings (account_id, junk_report, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (account_id) DO UPDATE SET junk_report = excluded.junk_report, updated_at = excluded.updated_at`,
        [accountId, wanted === null ? null : wanted ? 1 : 0, now],
      );
    },
    async countRate(key, windowStart) {
      // A row per key holds the current window; a later window restarts the count at 1.
      const r = await db.get<Row>(
        `INSERT INTO spam_rates (rate_key, window_start, hits) VALUES (?, ?, 1)
         ON CONFLICT (rate_key) DO UPDATE SET
           hits = CASE WHEN spam_rates.window_start = excluded.window_start THEN spam_rates.hits + 1 ELSE 1 END,
           window_start = excluded.window_start
         RETURNING hits`,
        [key, windowStart],
      );
      return Number(r?.hits ?? 1);
    },
    async addListEntry(e) {
      return db.transaction(async (tx) => {
        const r = await tx.get<Row>(
          `INSERT INTO spam_lists (kind, account_id, entry, note, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, account_id, entry) DO NOTHING RETURNING *`,
          [e.kind, scopeOf(e.accountId, e.domainId), e.entry, e.note, e.createdAt],
        );
        if (r) await bumpListVersion(tx);
        return r ? toEntry(r) : null;
      });
    },
    async addOwnListEntry(e, max) {
      return db.transaction(async (tx) => {
        // Under read committed, concurrent transactions would each count the same rows and all insert: on
        // PostgreSQL, adds for one account wait for each other on a transaction-scoped advisory lock, so each
        // counts what the one before added. A SQLite transaction is exclusive already (BEGIN IMMEDIATE).
        if (db.dialect === 'postgres')
          await tx.run('SELECT pg_advisory_xact_lock(?, ?)', [OWN_LISTS_LOCK, e.accountId]);
        const there = await tx.get<Row>('SELECT id FROM spam_lists WHERE kind = ? AND account_id = ? AND entry = ?', [
          e.kind,
          e.accountId,
          e.entry,
        ]);
        if (there) return 'exists';
        const n = await tx.get<Row>('SELECT COUNT(*) AS n FROM spam_lists WHERE account_id = ?', [e.accountId]);
        if (Number(n?.n ?? 0) >= max) return 'full';
        const r = await tx.get<Row>(
          `INSERT INTO spam_lists (kind, account_id, entry, note, created_at) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (kind, account_id, entry) DO NOTHING RETURNING *`,
          [e.kind, e.accountId, e.entry, e.note, e.createdAt],
        );
        if (!r) return 'exists';
        await bumpListVersion(tx);
        return toEntry(r);
      });
    },
    async removeListEntry(kind, accountId, entry, domainId) {
      return db.transaction(async (tx) => {
        const n = await tx.run('DELETE FROM spam_lists WHERE kind = ? AND account_id = ? AND entry = ?', [
          kind,
          scopeOf(accountId, domainId),
          entry,
        ]);
        if (n > 0) await bumpListVersion(tx);
        return n > 0;
      });
    },
    async listVersion() {
      const r = await db.get<Row>('SELECT version FROM spam_lists_version WHERE id = 1');
      return String(r?.version ?? 0);
    },
    async listEntries(accountId, domainId) {
      const rows =
        accountId === undefined && domainId === undefined
          ? await db.all<Row>('SELECT * FROM spam_lists ORDER BY account_id, kind, entry')
          : await db.all<Row>('SELECT * FROM spam_lists WHERE account_id = ? ORDER BY kind, entry', [
              scopeOf(accountId, domainId),
            ]);
      return rows.map(toEntry);
    },
    async noteJudgement(accountId, digest, cls, now, forgetBefore) {
      // Each step is one statement whose row count says what happened: two nodes seeing the same judgement
      // at once record it once between them (the second inserts nothing, then finds the class unchanged).
      let outcome: 'new' | 'changed' | 'same' = 'new';
      const added = await db.run(
        `INSERT INTO spam_judgements (account_id, digest, class, judged_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (account_id, digest) DO NOTHING`,
        [accountId, digest, cls, now],
      );
      if (added === 0) {
        const changed = await db.run(
          'UPDATE spam_judgements SET class = ?, judged_at = ? WHERE account_id = ? AND digest = ? AND class <> ?',
          [cls, now, accountId, digest, cls],
        );
        outcome = changed > 0 ? 'changed' : 'same';
      }
      if (++judged % 1000 === 0) await db.run('DELETE FROM spam_judgements WHERE judged_at < ?', [forgetBefore]);
      return outcome;
    },

    async prune(before, rateBefore, verdictsBefore, waitingBefore) {
      let n = await db.transaction(async (tx) => {
        let m = await tx.run('DELETE FROM spam_greylist WHERE last_seen < ?', [before]);
        // Most triplets are spam that never comes back: a day's worth, not a lifetime's (Postgrey's
        // maintenance drops an entry seen once after its retry window too). Last seen is never before
        // first seen, so these are past the window; the index on last_seen finds them.
        if (waitingBefore !== undefined)
          m += await tx.run('DELETE FROM spam_greylist WHERE passed_at IS NULL AND last_seen < ?', [waitingBefore]);
        m += await tx.run('DELETE FROM spam_greylist_clients WHERE last_seen < ?', [before]);
        m += await tx.run('DELETE FROM spam_rates WHERE window_start < ?', [rateBefore]);
        return m;
      });
      if (verdictsBefore === undefined) return n;
      for (;;) {
        const d = await db.run(
          'DELETE FROM spam_verdicts WHERE id IN (SELECT id FROM spam_verdicts WHERE created_at < ? LIMIT 5000)',
          [verdictsBefore],
        );
        n += d;
        if (d < 5000) break;
      }
      // Who a refusal was for goes with it (the same time stamp, so the same cut).
      for (;;) {
        const d = await db.run(
          'DELETE FROM spam_refused_for WHERE verdict_id IN (SELECT verdict_id FROM spam_refused_for WHERE created_at < ? LIMIT 5000)',
          [verdictsBefore],
        );
        n += d;
        if (d < 5000) return n;
      }
    },
  };
}

/** The envelope sender's domain as the verdict rows index it: after the last '@', lower-cased; null for `<>`. */
function senderDomain(mailFrom: string | null): string | null {
  const at = mailFrom?.lastIndexOf('@') ?? -1;
  return mailFrom && at >= 0 ? mailFrom.slice(at + 1).toLowerCase() : null;
}
