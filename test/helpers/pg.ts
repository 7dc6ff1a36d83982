// PostgreSQL for tests: PETREL_TEST_PG_URL names the server; each test gets a schema of its own.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The test server URL, or undefined when the variable is unset (then PostgreSQL tests skip, saying so). */
export function pgTestUrl(): string | undefined {
  return process.env.PETREL_TEST_PG_URL || undefined;
}

export const PG_SKIP_REASON = 'PETREL_TEST_PG_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)';

/**
 * Creates a fresh schema and returns a URL whose connections use it. Fails (never skips) when the
 * server does not answer: a set variable means PostgreSQL is expected.
 */
export async function freshPgSchema(url: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
    // Extensions live in public, shared by every test schema; parallel tests may race to create it.
    try {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
    } catch {
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public');
    }
  } finally {
    await client.end();
  }
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema},public`);
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
