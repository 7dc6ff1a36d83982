// The data directory and the PostgreSQL store as openApp opens them, with what commonly stops them (a file
// in the way, no permission, a database server that does not answer) said in one line naming the key.
import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import type { Store } from '../core/ports.ts';
import { openPostgres } from '../store/postgres/driver.ts';
import type { SqlDriver } from '../store/sql/driver.ts';
import { openSqlStore } from '../store/sql/store.ts';

const WHY: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EROFS: 'the file system is read-only',
  ENOSPC: 'the disk is full',
};

/** Makes the data directory if missing; it must be a directory this user can write to. */
export function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code === 'EEXIST') throw new ConfigError(`server.data_dir: ${dir} is not a directory`);
    throw new ConfigError(`server.data_dir: cannot make ${dir}: ${WHY[code] ?? (e as Error).message} (${code})`);
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError(`server.data_dir: ${dir} is not a directory`);
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch {
    // Typically made by an earlier run as root (sudo) and now used as an ordinary user.
    throw new ConfigError(
      `server.data_dir: ${dir} is not writable by this user (uid ${process.getuid?.()}); chown it to the user petrel runs as`,
    );
  }
}

/**
 * What makeDataDir would refuse, found without making anything (`petrel config check`): a directory that
 * is missing needs its nearest existing parent to be a directory this user may write to.
 */
export function dataDirProblem(dir: string): string | null {
  let d = dir;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  const what = d === dir ? dir : `${d} (where ${dir} would be made)`;
  if (!statSync(d).isDirectory()) return `server.data_dir: ${what} is not a directory`;
  try {
    accessSync(d, constants.W_OK | constants.X_OK);
  } catch {
    return `server.data_dir: ${what} is not writable by this user (uid ${process.getuid?.()})`;
  }
  return null;
}

/** Connection-level failures: the server is not there, refuses us, or has no such database (SQLSTATE 28, 3D). */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);
const isConnectFailure = (code: string) => CONNECT_CODES.has(code) || /^(28|3D|08)/.test(code);

/** What to do when the database user may not create what the migrations create (user and database named). */
function privilegeProblem(message: string, u: URL | null): string {
  const user = u?.username ? decodeURIComponent(u.username) : 'the database user';
  const db = u?.pathname.length && u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : 'the database';
  if (/pg_trgm/.test(message))
    return (
      `store.postgres_url: ${message}: ${user} may not create the pg_trgm extension Petrel needs; ` +
      `make ${user} the owner of ${db}, or run CREATE EXTENSION pg_trgm; in ${db} as a superuser`
    );
  return `store.postgres_url: ${message}: ${user} may not create Petrel's tables in ${db}; make it the owner of ${db}`;
}

/** Opens (and migrates) the PostgreSQL store; a server it cannot reach is named by host and port, never by URL. */
export async function openPostgresStore(config: Config): Promise<Store & { db: SqlDriver }> {
  const { postgres_url: url, postgres_pool: pool } = config.store;
  // The URL may hold a password: only its host and port are ever printed.
  if (!url) throw new ConfigError('store.postgres_url: empty, but store.backend is "postgres"');
  const driver = openPostgres({ url, maxConnections: pool });
  try {
    return await openSqlStore(driver);
  } catch (e) {
    await driver.close().catch(() => {});
    const code = String((e as { code?: unknown }).code ?? '');
    const u = URL.parse(url);
    // SQLSTATE 42501, insufficient privilege: the migrations create tables and, first, the pg_trgm
    // extension, which PostgreSQL 13+ lets a database's owner create (a trusted extension).
    if (code === '42501') throw new ConfigError(privilegeProblem((e as Error).message, u));
    if (!isConnectFailure(code)) throw e;
    const where = u?.hostname ? ` at ${u.hostname}:${u.port || 5432}` : '';
    throw new ConfigError(
      `store.postgres_url: cannot connect to PostgreSQL${where}: ${(e as Error).message} (${code})`,
    );
  }
}
