// SQLite driver over better-sqlite3: WAL; a write returns only once it is on disk (see wal-sync.ts).
import { chmodSync, closeSync, openSync, type Stats, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { Row, SqlDriver, SqlExecutor, SqlValue } from '../sql/driver.ts';
import { SyncGate, WalSync } from './wal-sync.ts';

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
  /** Open for reading only: any write fails (the main thread's connection when a writer thread owns writes). */
  readonly?: boolean;
  /**
   * Commit and fsync counters shared with the main thread's readers (wal-sync.ts, gatedReads): the writer
   * thread's connection counts its commits and fsyncs into it.
   */
  syncState?: SharedArrayBuffer;
}

/**
 * The database holds password hashes, TOTP secrets, the OAuth signing key and mail: only its owner may read
 * it, whatever the umask or the directory's mode (as Postfix and Dovecot keep such files). Made 0600 before
 * SQLite opens it (SQLite gives the -wal and -shm files the database file's mode); a file of ours left
 * wider (by an older version, or copied in) is narrowed, its -wal and -shm too.
 */
function makePrivate(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, `${path}-wal`, `${path}-shm`]) {
    let st: Stats;
    try {
      st = statSync(f);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    if (st.mode & 0o077 && st.uid === process.getuid?.()) chmodSync(f, 0o600);
  }
}

export function openSqlite(opts: SqliteOptions): SqlDriver {
  if (!opts.readonly && opts.path !== ':memory:' && opts.path !== '') makePrivate(opts.path);
  const db = new Database(opts.path, { readonly: opts.readonly === true });
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  // NORMAL: COMMIT does not fsync on the event loop; WalSync fsyncs the WAL off it, once for many commits,
  // and every write waits for that before it returns. An in-memory database has nothing to sync.
  const memory = opts.path === ':memory:';
  db.pragma(memory ? 'synchronous = OFF' : 'synchronous = NORMAL');
  const wal = memory || opts.readonly ? null : new WalSync(`${opts.path}-wal`, opts.syncState);
  db.pragma('foreign_keys = ON');
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10000}`);
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  // Checkpoint every 16,000 pages (64 MB of WAL) rather than SQLite's 1,000: pages rewritten by many
  // commits (index leaves, full-text segments) are then copied to the database once, not sixteen times.
  if (!opts.readonly) db.pragma('wal_autocheckpoint = 16000');
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
    params
      ? params.map((p) =>
          typeof p === 'boolean'
            ? p
              ? 1
              : 0
            : // A Buffer sent from another thread arrives as a plain Uint8Array, which better-sqlite3 refuses.
              p instanceof Uint8Array && !Buffer.isBuffer(p)
              ? Buffer.from(p.buffer, p.byteOffset, p.byteLength)
              : p,
        )
      : [];

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

  /**
   * A statement outside a transaction: a write (autocommit) is counted before it runs and returns once it
   * is durable; the lock is released before that wait, so other writers commit meanwhile.
   */
  const autocommit = async <T>(sql: string | null, exec: () => Promise<T>): Promise<T> => {
    let seq = 0;
    const v = await locked(async () => {
      // null: a script (exec), which may write.
      seq = wal && (sql === null || !prepare(sql).readonly) ? wal.commit() : 0;
      try {
        return await exec();
      } catch (e) {
        if (seq) wal!.abandon(seq);
        throw e;
      }
    });
    if (seq) await wal!.durable(seq);
    return v;
  };

  // A read-only connection never holds a transaction across awaits, and better-sqlite3 runs each statement
  // to completion: its reads need no lock (the main thread's hot path). See gatedReads for the durability
  // wait the store puts in front of some of them.
  if (opts.readonly) {
    return {
      dialect: 'sqlite',
      ...raw,
      transaction: () => Promise.reject(new Error('a read-only SQLite connection has no transactions')),
      exec: async (sql: string) => void db.exec(sql),
      async ping() {
        try {
          return (await raw.get<{ one: number }>('SELECT 1 AS one'))?.one === 1;
        } catch {
          return false;
        }
      },
      async close() {
        if (db.open) db.close();
      },
    };
  }

  return {
    dialect: 'sqlite',
    all: async <T = Row>(sql: string, params?: readonly SqlValue[]) => autocommit(sql, () => raw.all<T>(sql, params)),
    get: async <T = Row>(sql: string, params?: readonly SqlValue[]) => autocommit(sql, () => raw.get<T>(sql, params)),
    run: async (sql: string, params?: readonly SqlValue[]) => autocommit(sql, () => raw.run(sql, params)),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      let seq = 0;
      const out = await locked(async () => {
        // IMMEDIATE takes the write lock now, so a second process waits here rather than failing at COMMIT.
        prepare('BEGIN IMMEDIATE').run();
        try {
          const v = await fn(raw);
          // Counted before COMMIT, not after: a reader must never see a commit it cannot also see counted.
          seq = wal?.commit() ?? 0;
          prepare('COMMIT').run();
          return v;
        } catch (e) {
          if (seq) wal!.abandon(seq);
          seq = 0;
          if (db.inTransaction) prepare('ROLLBACK').run();
          throw e;
        }
      });
      // The lock is free again: other transactions commit while this one's fsync runs.
      if (wal) await wal.durable(seq);
      return out;
    },
    exec: async (sql: string) => autocommit(null, async () => void db.exec(sql)),
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

/**
 * Reads of a read-only connection answered only once every commit the writer thread had counted when the
 * read ended is durable: a commit the read could see was counted before its COMMIT ran, so nothing shown to
 * a client can vanish in a power loss. With nothing pending (the usual case) that is two atomic loads.
 */
export function gatedReads(d: SqlDriver, syncState: SharedArrayBuffer): SqlDriver {
  const gate = new SyncGate(syncState);
  const settled = async <T>(v: T): Promise<T> => {
    const wait = gate.settled();
    if (wait) await wait;
    return v;
  };
  return {
    ...d,
    all: async <T = Row>(sql: string, params?: readonly SqlValue[]) => settled(await d.all<T>(sql, params)),
    get: async <T = Row>(sql: string, params?: readonly SqlValue[]) => settled(await d.get<T>(sql, params)),
  };
}
