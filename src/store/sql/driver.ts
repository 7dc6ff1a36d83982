// The tiny contract a SQL backend implements; all mail semantics are written once above it (store/sql/store.ts).

export type SqlValue = string | number | bigint | boolean | null | Buffer | Uint8Array;
export type Row = Record<string, unknown>;

/** Text for a LIKE pattern with backslash as its escape character: %, _ and \ match themselves. */
export const likeEscaped = (s: string): string => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/** `?,?,?` for an `IN (...)` list of n values. */
export const marks = (n: number): string => new Array(n).fill('?').join(',');

/** A long id list in pieces of n, each one statement's `IN` list (SQLite's parameter limit). */
export function chunks<T>(a: T[], n = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < a.length; i += n) out.push(a.slice(i, i + n));
  return out;
}

/** A connection or a transaction: statements use `?` placeholders in both dialects. */
export interface SqlExecutor {
  /** Rows of a SELECT (or of a statement with RETURNING). */
  all<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /** The first row, or undefined. */
  get<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  /** Runs a statement; returns the number of rows it changed. */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>;
}

export interface SqlDriver extends SqlExecutor {
  readonly dialect: 'sqlite' | 'postgres';
  /**
   * Runs fn in one transaction: committed (durably, on disk) when fn resolves, rolled back when it throws.
   * Statements inside must go through the executor given to fn. fn may run more than once (PostgreSQL runs
   * a transaction again after a deadlock or serialization failure), so it must have no effect but on tx.
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /** Runs a script of several statements (migrations). */
  exec(sql: string): Promise<void>;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
