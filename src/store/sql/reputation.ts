// The reputation sub-store in SQL: decaying per-sender evidence (decay applied in code on read and on
// write, so the database needs no math functions) and the digest report counts (decaying the same way).
// See core/reputation-port.ts.
import type { DigestCounts, ReputationEntry, ReputationKey, ReputationStore } from '../../core/reputation-port.ts';
import type { Row, SqlDriver, SqlExecutor } from './driver.ts';

const num = (v: unknown): number => Number(v);

/** The fraction of evidence left after `ageMs` with the given half-life. */
export function decayFactor(ageMs: number, halfLifeMs: number): number {
  if (halfLifeMs <= 0 || ageMs <= 0) return 1;
  return 2 ** (-ageMs / halfLifeMs);
}

/** The methods that write (the SQLite store runs them on its writer thread). */
export const REPUTATION_WRITES = [
  'record',
  'vote',
  'reportDigests',
  'forgetDigests',
  'forget',
  'forgetAccount',
  'prune',
] as const;

export function reputationStore(db: SqlDriver): ReputationStore {
  // PostgreSQL: two nodes recording the same key wait for each other's row lock instead of losing an update.
  const lock = db.dialect === 'postgres' ? ' FOR UPDATE' : '';
  /**
   * Decays one key's row to `now` and adds the delta, in the caller's transaction. Creates the row unless
   * `create` is false (taking evidence back from a row that is gone: nothing to do).
   */
  async function add(
    tx: SqlExecutor,
    k: ReputationKey,
    delta: { spam: number; ham: number; total?: number },
    now: number,
    halfLifeMs: number,
    observations: number,
    create = true,
  ): Promise<void> {
    if (create)
      await tx.run(
        `INSERT INTO reputation (kind, rkey, spam, ham, total, count, updated_at) VALUES (?, ?, 0, 0, 0, 0, ?)
         ON CONFLICT (kind, rkey) DO NOTHING`,
        [k.kind, k.key, now],
      );
    const row = await tx.get<Row>(
      `SELECT spam, ham, total, count, updated_at FROM reputation WHERE kind = ? AND rkey = ?${lock}`,
      [k.kind, k.key],
    );
    if (!row) return;
    const f = decayFactor(now - num(row?.updated_at ?? now), halfLifeMs);
    const spam = Math.max(0, num(row?.spam ?? 0) * f + delta.spam);
    const ham = Math.max(0, num(row?.ham ?? 0) * f + delta.ham);
    const total = Math.max(spam + ham, num(row?.total ?? 0) * f + (delta.total ?? delta.spam + delta.ham));
    await tx.run(
      'UPDATE reputation SET spam = ?, ham = ?, total = ?, count = ?, updated_at = ? WHERE kind = ? AND rkey = ?',
      [
        spam,
        ham,
        total,
        // The count of observations fades as the evidence does: a sender unseen for long is new again.
        Math.max(0, num(row?.count ?? 0) * f + observations),
        Math.max(now, num(row?.updated_at ?? now)),
        k.kind,
        k.key,
      ],
    );
  }
  /**
   * Decays one digest's counts to `now` and adds the delta, as add() does a key's evidence (last_seen is
   * the time the counts were decayed to), in the caller's transaction; creates the row unless `create` is
   * false.
   */
  async function addDigest(
    tx: SqlExecutor,
    digest: string,
    delta: { spam: number; ham: number },
    now: number,
    halfLifeMs: number,
    create: boolean,
  ): Promise<void> {
    if (create)
      await tx.run(
        `INSERT INTO spam_digests (digest, spam, ham, first_seen, last_seen) VALUES (?, 0, 0, ?, ?)
         ON CONFLICT (digest) DO NOTHING`,
        [digest, now, now],
      );
    const row = await tx.get<Row>(`SELECT spam, ham, last_seen FROM spam_digests WHERE digest = ?${lock}`, [digest]);
    if (!row) return;
    const f = decayFactor(now - num(row.last_seen), halfLifeMs);
    await tx.run('UPDATE spam_digests SET spam = ?, ham = ?, last_seen = ? WHERE digest = ?', [
      Math.max(0, num(row.spam) * f + delta.spam),
      Math.max(0, num(row.ham) * f + delta.ham),
      Math.max(now, num(row.last_seen)),
      digest,
    ]);
  }
  return {
    async record(keys, delta, now, halfLifeMs, observations = 1) {
      const unique = dedupe(keys);
      if (unique.length === 0) return;
      await db.transaction(async (tx) => {
        for (const k of unique) await add(tx, k, delta, now, halfLifeMs, observations);
      });
    },

    async vote(keys, accountId, cls, weight, now, halfLifeMs) {
      const unique = dedupe(keys);
      if (unique.length === 0) return;
      const other = cls === 'spam' ? 'ham' : 'spam';
      const first = { spam: cls === 'spam' ? weight : 0, ham: cls === 'ham' ? weight : 0 };
      await db.transaction(async (tx) => {
        for (const k of unique) {
          // Each step is one statement whose row count says what happened, as reportDigests does: two nodes
          // taking the same account's judgement at once count it once (the second waits, then changes nothing).
          const added = await tx.run(
            `INSERT INTO reputation_votes (kind, rkey, account_id, class, at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (kind, rkey, account_id) DO NOTHING`,
            [k.kind, k.key, accountId, cls, now],
          );
          if (added > 0) {
            await add(tx, k, first, now, halfLifeMs, 1);
            continue;
          }
          // The account's earlier judgement has decayed with the row since it was given: what is taken back
          // (or topped up) is what is left of it, not its full weight, or a change of mind months later
          // would take other people's evidence with it.
          const prev = await tx.get<Row>(
            `SELECT at FROM reputation_votes WHERE kind = ? AND rkey = ? AND account_id = ?${lock}`,
            [k.kind, k.key, accountId],
          );
          const left = decayFactor(now - num(prev?.at ?? now), halfLifeMs);
          const changed = await tx.run(
            `UPDATE reputation_votes SET class = ?, at = ? WHERE kind = ? AND rkey = ? AND account_id = ? AND class = ?`,
            [cls, now, k.kind, k.key, accountId, other],
          );
          if (changed > 0) {
            const swap = { ...first, [other]: -weight * left, total: weight * (1 - left) };
            await add(tx, k, swap, now, halfLifeMs, 1 - left);
            continue;
          }
          const renewed = await tx.run(
            'UPDATE reputation_votes SET at = ? WHERE kind = ? AND rkey = ? AND account_id = ? AND at < ?',
            [now, k.kind, k.key, accountId, now - halfLifeMs],
          );
          // Renewed: the account's judgement is back to its full weight, one observation again.
          if (renewed > 0) await add(tx, k, { ...first, [cls]: weight * (1 - left) }, now, halfLifeMs, 1 - left);
        }
      });
    },

    async lookup(keys, now, halfLifeMs) {
      const list = dedupe(keys);
      if (list.length === 0) return [];
      // One query for all keys of a message (it runs for every message received).
      const where = list.map(() => '(kind = ? AND rkey = ?)').join(' OR ');
      const rows = await db.all<Row>(
        `SELECT kind, rkey, spam, ham, total, count, updated_at FROM reputation WHERE ${where}`,
        list.flatMap((k) => [k.kind, k.key]),
      );
      return rows.map((r): ReputationEntry => {
        const f = decayFactor(now - num(r.updated_at), halfLifeMs);
        return {
          kind: String(r.kind) as ReputationEntry['kind'],
          key: String(r.rkey),
          spam: num(r.spam) * f,
          ham: num(r.ham) * f,
          total: Math.max(num(r.total), num(r.spam) + num(r.ham)) * f,
          count: num(r.count) * f,
          updatedAt: num(r.updated_at),
        };
      });
    },

    async reportDigests(digests, cls, now, halfLifeMs, reporter) {
      const list = [...new Set(digests)];
      if (list.length === 0) return;
      const other = cls === 'spam' ? 'ham' : 'spam';
      const one = { spam: cls === 'spam' ? 1 : 0, ham: cls === 'ham' ? 1 : 0 };
      await db.transaction(async (tx) => {
        for (const d of list) {
          // Without a reporter (spam traps) every report counts.
          if (reporter === undefined || reporter === null) {
            await addDigest(tx, d, one, now, halfLifeMs, true);
            continue;
          }
          // An account's earlier vote on this digest, as vote() treats a sender's: the same class again is
          // not a second report (one user moving three copies into Junk is one opinion) unless it is older
          // than a half-life (then it is renewed to a whole report); the other class takes back what is
          // left of the earlier one. Each step is one statement whose row count says what happened, so two
          // nodes taking the same account's report at once count it once (the second waits on the first's
          // row, then changes nothing).
          const added = await tx.run(
            `INSERT INTO spam_digest_votes (digest, account_id, class, at) VALUES (?, ?, ?, ?)
             ON CONFLICT (digest, account_id) DO NOTHING`,
            [d, reporter, cls, now],
          );
          if (added > 0) {
            await addDigest(tx, d, one, now, halfLifeMs, true);
            continue;
          }
          const prev = await tx.get<Row>(
            `SELECT at FROM spam_digest_votes WHERE digest = ? AND account_id = ?${lock}`,
            [d, reporter],
          );
          const left = decayFactor(now - num(prev?.at ?? now), halfLifeMs);
          const changed = await tx.run(
            'UPDATE spam_digest_votes SET class = ?, at = ? WHERE digest = ? AND account_id = ? AND class <> ?',
            [cls, now, d, reporter, cls],
          );
          if (changed > 0) {
            await addDigest(tx, d, { ...one, [other]: -left }, now, halfLifeMs, true);
            continue;
          }
          const renewed = await tx.run(
            'UPDATE spam_digest_votes SET at = ? WHERE digest = ? AND account_id = ? AND at < ?',
            [now, d, reporter, now - halfLifeMs],
          );
          // Renewed: the account's report is back to a whole one.
          const renew = { spam: cls === 'spam' ? 1 - left : 0, ham: cls === 'ham' ? 1 - left : 0 };
          if (renewed > 0) await addDigest(tx, d, renew, now, halfLifeMs, true);
        }
      });
    },

    async digestCounts(digests, now, halfLifeMs) {
      const list = [...new Set(digests)].slice(0, 500);
      if (list.length === 0) return [];
      const rows = await db.all<Row>(
        `SELECT digest, spam, ham, last_seen FROM spam_digests WHERE digest IN (${list.map(() => '?').join(',')})`,
        list,
      );
      return rows.map((r): DigestCounts => {
        // Decayed on read, as reputation is: the row holds the counts as they were at last_seen.
        const f = decayFactor(now - num(r.last_seen), halfLifeMs);
        return { digest: String(r.digest), spam: num(r.spam) * f, ham: num(r.ham) * f, lastSeen: num(r.last_seen) };
      });
    },

    async forgetDigests(digests) {
      const list = [...new Set(digests)];
      if (list.length === 0) return 0;
      return db.transaction(async (tx) => {
        let n = 0;
        for (const d of list) {
          n += await tx.run('DELETE FROM spam_digests WHERE digest = ?', [d]);
          await tx.run('DELETE FROM spam_digest_votes WHERE digest = ?', [d]);
        }
        return n;
      });
    },

    async forget(keys) {
      const list = dedupe(keys);
      if (list.length === 0) return 0;
      return db.transaction(async (tx) => {
        let n = 0;
        for (const k of list) {
          n += await tx.run('DELETE FROM reputation WHERE kind = ? AND rkey = ?', [k.kind, k.key]);
          await tx.run('DELETE FROM reputation_votes WHERE kind = ? AND rkey = ?', [k.kind, k.key]);
        }
        return n;
      });
    },

    async forgetAccount(accountId, now, opts) {
      const { halfLifeMs, weight, digestHalfLifeMs } = opts;
      return db.transaction(async (tx) => {
        // Both reads use the index on account_id (migration 34): no scan of every account's votes. In key
        // order, so two removals lock rows in the same order.
        const votes = await tx.all<Row>(
          'SELECT kind, rkey, class, at FROM reputation_votes WHERE account_id = ? ORDER BY kind, rkey',
          [accountId],
        );
        for (const v of votes) {
          // What is left of the judgement now, as vote() takes it back on a change of mind: its weight and
          // its one observation, decayed since it was given.
          const left = decayFactor(now - num(v.at), halfLifeMs);
          const w = weight * left;
          const k = { kind: String(v.kind) as ReputationKey['kind'], key: String(v.rkey) };
          const delta = { spam: v.class === 'spam' ? -w : 0, ham: v.class === 'ham' ? -w : 0, total: -w };
          await add(tx, k, delta, now, halfLifeMs, -left, false);
        }
        await tx.run('DELETE FROM reputation_votes WHERE account_id = ?', [accountId]);
        const reports = await tx.all<Row>(
          'SELECT digest, class, at FROM spam_digest_votes WHERE account_id = ? ORDER BY digest',
          [accountId],
        );
        for (const r of reports) {
          // What is left of the report, as reportDigests takes it back on a change of mind.
          const left = decayFactor(now - num(r.at), digestHalfLifeMs);
          const delta = { spam: r.class === 'spam' ? -left : 0, ham: r.class === 'ham' ? -left : 0 };
          await addDigest(tx, String(r.digest), delta, now, digestHalfLifeMs, false);
        }
        await tx.run('DELETE FROM spam_digest_votes WHERE account_id = ?', [accountId]);
        return votes.length + reports.length;
      });
    },

    async prune(before, kinds = {}, digestsBefore = before) {
      const own = Object.entries(kinds);
      return db.transaction(async (tx) => {
        let a = await tx.run(`DELETE FROM reputation WHERE updated_at < ?${own.map(() => ' AND kind <> ?').join('')}`, [
          before,
          ...own.map(([k]) => k),
        ]);
        for (const [k, at] of own)
          a += await tx.run('DELETE FROM reputation WHERE kind = ? AND updated_at < ?', [k, at as number]);
        const b = await tx.run('DELETE FROM spam_digests WHERE last_seen < ?', [digestsBefore]);
        const c = await tx.run('DELETE FROM spam_digest_votes WHERE at < ?', [digestsBefore]);
        const d = await tx.run(`DELETE FROM reputation_votes WHERE at < ?${own.map(() => ' AND kind <> ?').join('')}`, [
          before,
          ...own.map(([k]) => k),
        ]);
        return a + b + c + d;
      });
    },
  };
}

function dedupe(keys: ReputationKey[]): ReputationKey[] {
  const seen = new Map<string, ReputationKey>();
  for (const k of keys) if (k.key) seen.set(`${k.kind}\u0000${k.key}`, k);
  return [...seen.values()];
}
