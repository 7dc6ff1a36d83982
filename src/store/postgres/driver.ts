// PostgreSQL driver over node-postgres: a pool; a transaction takes one client from BEGIN to COMMIT.
import pg from 'pg';
import type { SqlDriver, SqlExecutor, SqlValue } from '../sql/driver.ts';

export interface PostgresOptions {
  url: string;
  /** Pool size (connections). */
  maxConnections?: number;
  connectTimeoutMs?: number;
}

/** Runs of one transaction that PostgreSQL aborted to resolve a deadlock or serialization conflict. */
const TX_ATTEMPTS = 4;

// BIGINT (int8) and COUNT() come back as strings by default; every id and counter here fits in 2^53.
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

const converted = new Map<string, string>();
/** Rewrites `?` placeholders to `$1..$n` (our SQL never puts `?` inside string literals). */
export function toPgPlaceholders(sql: string): string {
  let out = converted.get(sql);
  if (out === undefined) {
    let n = 0;
    out = sql.replace(/\?/g, () => `$${++n}`);
    if (converted.size > 2000) converted.clear();
    converted.set(sql, out);
  }
  return out;
}

function executor(q: pg.Pool | pg.PoolClient): SqlExecutor {
  const query = async (sql: string, params?: readonly SqlValue[]) =>
    q.query({ text: toPgPlaceholders(sql), values: params as unknown[] | undefined });
  return {
    async all<T>(sql: string, params?: readonly SqlValue[]) {
      return (await query(sql, params)).rows as T[];
    },
    async get<T>(sql: string, params?: readonly SqlValue[]) {
      return (await query(sql, params)).rows[0] as T | undefined;
    },
    async run(sql: string, params?: readonly SqlValue[]) {
      return (await query(sql, params)).rowCount ?? 0;
    },
  };
}

export function openPostgres(opts: PostgresOptions): SqlDriver {
  const pool = new pg.Pool({
    connectionString: opts.url,
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
    types,
  });
  // An idle client that loses its server emits 'error' on the pool; without a handler the process dies.
  pool.on('error', () => {});
  const base = executor(pool);
  const once = async <T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(executor(client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  };
  return {
    dialect: 'postgres',
    ...base,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      // A transaction PostgreSQL broke off as a deadlock victim (40P01) or a serialization failure (40001)
      // changed nothing and is meant to be run again: so it is, a few times. That is safe because every
      // transaction function (store/sql/*.ts) is a closure that touches only its tx and its own locals (the
      // SqlDriver contract): running it again repeats no other effect.
      for (let attempt = 1; ; attempt++) {
        try {
          return await once(fn);
        } catch (e) {
          const code = (e as { code?: unknown }).code;
          if (attempt >= TX_ATTEMPTS || (code !== '40P01' && code !== '40001')) throw e;
          // A short random pause, so the transactions that collided do not meet again in step.
          await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        }
      }
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async ping() {
      try {
        const r = await pool.query('SELECT 1 AS one');
        return r.rows[0]?.one === 1;
      } catch {
        return false;
      }
    },
    async close() {
      if (!pool.ended) await pool.end();
    },
  };
}
