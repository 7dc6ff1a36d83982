// A MailService over a real store (SQLite file or a fresh PostgreSQL schema) and a blob directory, with
// one account, for tests and benchmarks that work below the protocol servers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Mailbox } from '../../src/core/model.ts';
import type { Store } from '../../src/core/ports.ts';
import { DirectoryService } from '../../src/directory/service.ts';
import { memoryEventBus } from '../../src/mailbox/events.ts';
import { MailService } from '../../src/mailbox/service.ts';
import { fsBlobStore } from '../../src/store/blob/fs.ts';
import { openPostgres } from '../../src/store/postgres/driver.ts';
import { openSqlStore } from '../../src/store/sql/store.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { freshPgSchema } from './pg.ts';

export interface TestMail {
  mail: MailService;
  store: Store;
  accountId: number;
  inbox: Mailbox;
  close(): Promise<void>;
}

export async function openTestMail(backend: 'sqlite' | 'postgres', pgUrl?: string): Promise<TestMail> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-mail-'));
  let drop: (() => Promise<void>) | null = null;
  let store: Store;
  if (backend === 'postgres') {
    const schema = await freshPgSchema(pgUrl!);
    drop = schema.drop;
    store = await openSqlStore(openPostgres({ url: schema.url }));
  } else store = await openSqliteStore({ path: join(dir, 'petrel.db') });
  const mail = new MailService({
    store,
    blobs: fsBlobStore(join(dir, 'blobs')),
    events: memoryEventBus(),
    log: silentLogger,
  });
  const ds = new DirectoryService(store);
  await ds.addDomain('example.com');
  const accountId = (await ds.addAccount('user@example.com', null)).id;
  const inbox = (await store.getMailbox(accountId, 'INBOX'))!;
  return {
    mail,
    store,
    accountId,
    inbox,
    async close() {
      await store.close();
      await drop?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
