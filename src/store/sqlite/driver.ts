// SQLite driver over better-sqlite3: WAL, synchronous=FULL (a commit is on disk before it returns).
import Database from 'better-sqlite3';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from '../sql/driver.ts';

type Stmt = Database.Statement<unknown[], unknown>;

/**
 * better-sqlite3 is synchronous; a transaction body is async (it is shared with PostgreSQL), so other
 * callers could interleave at microtask boundaries. Every statement therefore takes the database's
 * lock, and a transaction holds it from BEGIN to COMMIT. The lock is per file and process-wide so that
 * two stores opened on one file in one process serialise instead of dead-locking on SQLite's busy wait.
 */
class AsyncLock {
  private tail: Promise<void> = Promise.resolve();
  private held = false;
  get busy(): boolean {
    return this.held;
  }
  async acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => {
      release = r;
    });
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    this.held = true;
    return () => {
      this.held = false;
      release();
    };
  }
}

const locks = new Map<string, AsyncLock>();

export interface SqliteOptions {
  /** Path of the database file, or ':memory:'. */
  path: string;
  /** Milliseconds to wait on a lock held by another process. */
  busyTimeoutMs?: number;
}

export function openSqlite(opts: SqliteOptions): SqlDriver {
  const db = new Database(opts.path);
  db.pragma('journal_mode = WAL');
  // FULL: the WAL is fsynced at every commit, so a returned commit survives power loss.
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10000}`);
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  const key = opts.path === ':memory:' ? `mem:${Math.random()}` : opts.path;
  const lock = locks.get(key) ?? new AsyncLock();
  locks.set(key, lock);
  const cache = new Map<string, Stmt>();
  const prepare = (sql: string): Stmt => {
    let s = cache.get(sql);
    if (!s) {
      s = db.prepare(sql);
      if (cache.size > 500) cache.clear();
      cache.set(sql, s);
    }
    return s;
  };
  const conv = (params: readonly SqlValue[] | undefined): unknown[] =>
    params ? params.map((p) => (typeof p === 'boolean' ? (p ? 1 : 0) : p)) : [];

  // Synchronous executor used both directly (under the lock) and inside transactions.
  const raw: SqlExecutor = {
    async all<T>(sql: string, params?: readonly SqlValue[]) {
      const s = prepare(sql);
      if (s.reader) return s.all(...conv(params)) as T[];
      s.run(...conv(params));
      return [];
    },
    async get<T>(sql: string, params?: readonly SqlValue[]) {
      const s = prepare(sql);
      if (!s.reader) {
        s.run(...conv(params));
        return undefined;
      }
      return s.get(...conv(params)) as T | undefined;
    },
    async run(sql: string, params?: readonly SqlValue[]) {
      return prepare(sql).run(...conv(params)).changes;
    },
  };

  const locked = async <T>(fn: () => Promise<T>): Promise<T> => {
    const release = await lock.acquire();
    try {
      return await fn();
    } finally {
      release();
    }
  };

  return {
    dialect: 'sqlite',
    all: <T = Row>(sql: string, params?: readonly SqlValue[]) => locked(() => raw.all<T>(sql, params)),
    get: <T = Row>(sql: string, params?: readonly SqlValue[]) => locked(() => raw.get<T>(sql, params)),
    run: (sql: string, params?: readonly SqlValue[]) => locked(() => raw.run(sql, params)),
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      return locked(async () => {
        // IMMEDIATE takes the write lock now, so a second process waits here rather than failing at COMMIT.
        prepare('BEGIN IMMEDIATE').run();
        try {
          const out = await fn(raw);
          prepare('COMMIT').run();
          return out;
        } catch (e) {
          if (db.inTransaction) prepare('ROLLBACK').run();
          throw e;
        }
      });
    },
    exec: (sql: string) => locked(async () => void db.exec(sql)),
    async ping() {
      try {
        return (await this.get<{ one: number }>('SELECT 1 AS one'))?.one === 1;
      } catch {
        return false;
      }
    },
    async close() {
      await locked(async () => {
        if (db.open) db.close();
      });
    },
  };
}
