// Migration 33 on both backends: mail queued before messages could be held is not held, and is leased.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import { openPostgres } from '../postgres/driver.ts';
import { openSqlite } from '../sqlite/driver.ts';
import type { SqlDriver } from './driver.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { openSqlStore } from './store.ts';

const url = pgTestUrl();

async function heldMigration(db: SqlDriver): Promise<void> {
  await migrate(
    db,
    MIGRATIONS.filter((m) => m.version <= 32),
  );
  const t0 = 1_700_000_000_000;
  await db.run(
    `INSERT INTO queue_messages (queue_id, sender, blob_hash, size, created_at, expires_at)
     VALUES ('OLD', 'alice@example.com', ?, 10, ?, ?)`,
    ['a'.repeat(64), t0, t0 + 86400_000],
  );
  const m = await db.get<{ id: number }>("SELECT id FROM queue_messages WHERE queue_id = 'OLD'");
  await db.run(
    "INSERT INTO queue_recipients (message_id, address, domain, next_attempt) VALUES (?, 'bob@remote.test', 'remote.test', ?)",
    [Number(m!.id), t0],
  );
  const store = await openSqlStore(db);
  try {
    assert.equal((await store.queue.get('OLD'))!.message.held, false);
    assert.equal(await store.queue.nextDue(), t0);
    const [e] = await store.queue.lease('n1', t0, 1000, 10);
    assert.equal(e.message.queueId, 'OLD');
  } finally {
    await store.close();
  }
}

test('migration 33: mail queued before it is not on hold (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-queue-m-'));
  try {
    await heldMigration(openSqlite({ path: join(dir, 'm.db') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 33: mail queued before it is not on hold (PostgreSQL)', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(url!);
  try {
    await heldMigration(openPostgres({ url: schema.url }));
  } finally {
    await schema.drop();
  }
});
