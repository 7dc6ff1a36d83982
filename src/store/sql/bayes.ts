// The Bayes classifier's tables in SQL (migration 8): token counts and message totals per scope, the
// digests of learned messages. A batch of learned messages becomes one upsert per distinct token, in one
// transaction; token lists travel as one parameter (a JSON array on SQLite, an array literal on PostgreSQL).
import type {
  BayesClass,
  BayesCounts,
  BayesLearnItem,
  BayesLearnOutcome,
  BayesStore,
  BayesTotals,
} from '../../core/bayes-port.ts';
import type { SqlDriver, SqlExecutor, SqlValue } from './driver.ts';

export const BAYES_WRITES = ['learn', 'unlearn', 'expire'] as const;

const DAY = 86_400_000;

/** Rows per multi-row statement (a few parameters each: under SQLite's and PostgreSQL's limits). */
const CHUNK = 500;

export function bayesStore(db: SqlDriver): BayesStore {
  const pg = db.dialect === 'postgres';
  // One parameter carrying a list of integer ids.
  const idList = (ids: number[]): string => (pg ? `{${ids.join(',')}}` : `[${ids.join(',')}]`);
  const inList = pg ? 'token = ANY(CAST(? AS BIGINT[]))' : 'token IN (SELECT value FROM json_each(?))';
  const max = pg ? 'GREATEST' : 'max';

  async function totals(ex: SqlExecutor, scope: number): Promise<BayesTotals> {
    const r = await ex.get<{ spam: unknown; ham: unknown; version: unknown }>(
      'SELECT spam, ham, version FROM bayes_totals WHERE scope = ?',
      [scope],
    );
    return { spam: Number(r?.spam ?? 0), ham: Number(r?.ham ?? 0), version: Number(r?.version ?? 0) };
  }

  /**
   * Adds per-token deltas ([spam, ham]) and message-count deltas to a scope. Increments are upserts that
   * mark the token learned on `day`; decrements update existing rows only (a token expired meanwhile
   * stays gone) and never go below zero; rows left at zero are deleted.
   */
  async function apply(
    ex: SqlExecutor,
    scope: number,
    deltas: Map<number, [number, number]>,
    msgs: [number, number],
    day = 0,
  ): Promise<void> {
    const up: [number, number, number][] = [];
    const down: [number, number, number][] = [];
    for (const [t, [s, h]] of deltas) {
      if (s > 0 || h > 0) up.push([t, Math.max(0, s), Math.max(0, h)]);
      if (s < 0 || h < 0) down.push([t, Math.max(0, -s), Math.max(0, -h)]);
    }
    for (let i = 0; i < up.length; i += CHUNK) {
      const part = up.slice(i, i + CHUNK);
      const params: SqlValue[] = [];
      for (const [t, s, h] of part) params.push(scope, t, s, h, day);
      await ex.run(
        `INSERT INTO bayes_tokens (scope, token, spam, ham, seen) VALUES ${part.map(() => '(?, ?, ?, ?, ?)').join(', ')}
         ON CONFLICT (scope, token) DO UPDATE SET spam = bayes_tokens.spam + excluded.spam,
           ham = bayes_tokens.ham + excluded.ham, seen = excluded.seen`,
        params,
      );
    }
    for (let i = 0; i < down.length; i += CHUNK) {
      const part = down.slice(i, i + CHUNK);
      const params: SqlValue[] = [];
      for (const [t, s, h] of part) params.push(t, s, h);
      params.push(scope);
      // VALUES columns are column1..3 in both dialects; casts give PostgreSQL the types.
      await ex.run(
        `UPDATE bayes_tokens SET spam = ${max}(0, bayes_tokens.spam - v.column2),
           ham = ${max}(0, bayes_tokens.ham - v.column3)
         FROM (VALUES ${part.map(() => '(CAST(? AS BIGINT), CAST(? AS INTEGER), CAST(? AS INTEGER))').join(', ')}) AS v
         WHERE bayes_tokens.scope = ? AND bayes_tokens.token = v.column1`,
        params,
      );
      await ex.run(`DELETE FROM bayes_tokens WHERE scope = ? AND spam = 0 AND ham = 0 AND ${inList}`, [
        scope,
        idList(part.map((r) => r[0])),
      ]);
    }
    if (msgs[0] === 0 && msgs[1] === 0 && deltas.size === 0) return;
    await ex.run(
      `INSERT INTO bayes_totals (scope, spam, ham, version) VALUES (?, ?, ?, 1)
       ON CONFLICT (scope) DO UPDATE SET spam = ${max}(0, bayes_totals.spam + excluded.spam),
         ham = ${max}(0, bayes_totals.ham + excluded.ham), version = bayes_totals.version + 1`,
      [scope, msgs[0], msgs[1]],
    );
  }

  function add(deltas: Map<number, [number, number]>, tokens: number[], cls: BayesClass, by: number): void {
    const k = cls === 'spam' ? 0 : 1;
    for (const t of tokens) {
      let d = deltas.get(t);
      if (!d) {
        d = [0, 0];
        deltas.set(t, d);
      }
      d[k] += by;
    }
  }

  return {
    totals: (scope) => totals(db, scope),

    async counts(scope, tokens) {
      const out = new Map<number, BayesCounts>();
      const uniq = [...new Set(tokens)];
      for (let i = 0; i < uniq.length; i += 5000) {
        const rows = await db.all<{ token: unknown; spam: unknown; ham: unknown }>(
          `SELECT token, spam, ham FROM bayes_tokens WHERE scope = ? AND ${inList}`,
          [scope, idList(uniq.slice(i, i + 5000))],
        );
        for (const r of rows) out.set(Number(r.token), { spam: Number(r.spam), ham: Number(r.ham) });
      }
      return out;
    },

    async learnedAs(scope, digest) {
      const r = await db.get<{ class: string }>('SELECT class FROM bayes_learned WHERE scope = ? AND digest = ?', [
        scope,
        digest,
      ]);
      return r ? (r.class as BayesClass) : null;
    },

    learn(scope, items: BayesLearnItem[], now) {
      return db.transaction(async (tx) => {
        const deltas = new Map<number, [number, number]>();
        const msgs: [number, number] = [0, 0];
        // What each digest is learned as, this batch included (the same message twice in one batch).
        const seen = new Map<string, BayesClass | null>();
        const outcomes: BayesLearnOutcome[] = [];
        for (const it of items) {
          let was = seen.get(it.digest);
          if (was === undefined) {
            const r = await tx.get<{ class: string }>(
              'SELECT class FROM bayes_learned WHERE scope = ? AND digest = ?',
              [scope, it.digest],
            );
            was = r ? (r.class as BayesClass) : null;
          }
          if (was === it.class) {
            outcomes.push('unchanged');
            continue;
          }
          if (was !== null) {
            add(deltas, it.tokens, was, -1);
            msgs[was === 'spam' ? 0 : 1]--;
          }
          add(deltas, it.tokens, it.class, 1);
          msgs[it.class === 'spam' ? 0 : 1]++;
          await tx.run(
            `INSERT INTO bayes_learned (scope, digest, class, learned_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (scope, digest) DO UPDATE SET class = excluded.class, learned_at = excluded.learned_at`,
            [scope, it.digest, it.class, now],
          );
          seen.set(it.digest, it.class);
          outcomes.push(was === null ? 'learned' : 'relearned');
        }
        await apply(tx, scope, deltas, msgs, Math.floor(now / DAY));
        return outcomes;
      });
    },

    async expire(scope, maxTokens) {
      // Counted outside the write transaction first: the usual answer, "under the limit", takes no lock.
      const count = async (ex: SqlExecutor) =>
        Number(
          (await ex.get<{ n: unknown }>('SELECT COUNT(*) AS n FROM bayes_tokens WHERE scope = ?', [scope]))?.n ?? 0,
        );
      if ((await count(db)) <= maxTokens) return 0;
      return db.transaction(async (tx) => {
        const n = await count(tx);
        if (n <= maxTokens) return 0;
        const over = n - maxTokens;
        // The day of the over-th least recently learned token: everything learned before it goes. Rows per
        // day (a few hundred days at most) rather than an index on the day, which would slow every learn.
        const days = await tx.all<{ seen: unknown; n: unknown }>(
          'SELECT seen, COUNT(*) AS n FROM bayes_tokens WHERE scope = ? GROUP BY seen ORDER BY seen',
          [scope],
        );
        let cutoff = 0;
        let passed = 0;
        for (const d of days) {
          cutoff = Number(d.seen);
          passed += Number(d.n);
          if (passed >= over) break;
        }
        let removed = await tx.run('DELETE FROM bayes_tokens WHERE scope = ? AND seen < ?', [scope, cutoff]);
        // Still over (that day alone is big): its tokens seen once go too, the weakest evidence.
        if (removed < over)
          removed += await tx.run('DELETE FROM bayes_tokens WHERE scope = ? AND seen = ? AND spam + ham <= 1', [
            scope,
            cutoff,
          ]);
        // Caches of this scope's counts (every node's) must not serve the expired tokens.
        if (removed > 0) await tx.run('UPDATE bayes_totals SET version = version + 1 WHERE scope = ?', [scope]);
        return removed;
      });
    },

    unlearn(scope, digest, tokens) {
      return db.transaction(async (tx) => {
        const r = await tx.get<{ class: string }>('SELECT class FROM bayes_learned WHERE scope = ? AND digest = ?', [
          scope,
          digest,
        ]);
        if (!r) return false;
        const cls = r.class as BayesClass;
        const deltas = new Map<number, [number, number]>();
        add(deltas, [...new Set(tokens)], cls, -1);
        await apply(tx, scope, deltas, cls === 'spam' ? [-1, 0] : [0, -1]);
        await tx.run('DELETE FROM bayes_learned WHERE scope = ? AND digest = ?', [scope, digest]);
        return true;
      });
    },
  };
}
