// The composition root's first half: from a validated config to the store, blob store, services and TLS.
// Only this file (and serve.ts) knows which backends run.
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { SecureContext } from 'node:tls';
import type { Config } from '../config/schema.ts';
import { PetrelError } from '../core/errors.ts';
import type { BlobStore, EventBus, OutboundQueue, Store } from '../core/ports.ts';
import { DirectoryService } from '../directory/service.ts';
import { memoryEventBus } from '../mailbox/events.ts';
import { MailService } from '../mailbox/service.ts';
import { loadTlsMaterial, secureContext, type TlsMaterial } from '../net/tls.ts';
import { dbBlobStore } from '../store/blob/db.ts';
import { fsBlobStore } from '../store/blob/fs.ts';
import { openPostgres } from '../store/postgres/driver.ts';
import type { SqlDriver } from '../store/sql/driver.ts';
import { openSqlStore } from '../store/sql/store.ts';
import { openSqlite } from '../store/sqlite/driver.ts';
import type { Logger } from '../telemetry/log.ts';

export interface App {
  config: Config;
  log: Logger;
  dataDir: string;
  db: SqlDriver;
  store: Store;
  blobs: BlobStore;
  events: EventBus;
  mail: MailService;
  directory: DirectoryService;
  /** Where mail for other servers goes (SMTP submission, forwarding aliases). */
  outbound: OutboundQueue;
  /** TLS material and context, loaded on first use (the CLI never needs them). */
  tls(): Promise<{ material: TlsMaterial; context: SecureContext }>;
  close(): Promise<void>;
}

export function dataPath(config: Config, ...parts: string[]): string {
  const base = resolve(config.server.data_dir);
  return join(base, ...parts);
}

export async function openApp(config: Config, log: Logger): Promise<App> {
  const dataDir = resolve(config.server.data_dir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  let db: SqlDriver;
  if (config.store.backend === 'postgres') {
    if (!config.store.postgres_url) throw new Error('store.backend is "postgres" but store.postgres_url is empty');
    db = openPostgres({ url: config.store.postgres_url, maxConnections: config.store.postgres_pool });
  } else {
    const p = config.store.sqlite_path || join(dataDir, 'petrel.db');
    db = openSqlite({ path: isAbsolute(p) ? p : resolve(p) });
  }
  const store = await openSqlStore(db);
  const blobs =
    config.blobs.backend === 'database'
      ? dbBlobStore(db)
      : fsBlobStore(config.blobs.path ? resolve(config.blobs.path) : join(dataDir, 'blobs'));
  const events = memoryEventBus();
  const mail = new MailService({ store, blobs, events, log });
  const directory = new DirectoryService(store);
  // Until the outbound queue exists (issue 3), mail for other servers is refused, never dropped.
  const outbound: OutboundQueue = {
    enqueue: async () => {
      throw new PetrelError('UNAVAILABLE', 'outbound delivery is not available');
    },
  };
  let tls: Promise<{ material: TlsMaterial; context: SecureContext }> | null = null;
  return {
    config,
    log,
    dataDir,
    db,
    store,
    blobs,
    events,
    mail,
    directory,
    outbound,
    tls() {
      tls ??= loadTlsMaterial({
        certPath: config.tls.cert,
        keyPath: config.tls.key,
        dir: join(dataDir, 'tls'),
        hostname: config.server.hostname,
      }).then((material) => ({ material, context: secureContext(material, config.tls.min_version) }));
      return tls;
    },
    close: () => store.close(),
  };
}
