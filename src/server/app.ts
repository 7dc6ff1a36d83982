// The composition root's first half: from a validated config to the store, blob store, services and TLS.
// Only this file (and serve.ts) knows which backends run.
import { mkdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { SecureContext } from 'node:tls';
import type { Config } from '../config/schema.ts';
import type { BlobStore, EventBus, OutboundQueue, Resolver, Store } from '../core/ports.ts';
import { withDirectoryCache } from '../directory/cache.ts';
import { DirectoryService } from '../directory/service.ts';
import { DkimKeyring } from '../dkim/keys.ts';
import { createResolver } from '../dns/resolver.ts';
import { memoryEventBus } from '../mailbox/events.ts';
import { MailService } from '../mailbox/service.ts';
import { loadTlsMaterial, secureContext, type TlsMaterial } from '../net/tls.ts';
import { OutboundService } from '../queue/service.ts';
import { buildFeedbackSinks } from '../spam/checks/index.ts';
import { type JunkFeedback, junkFeedback } from '../spam/junk-feedback.ts';
import { dbBlobStore } from '../store/blob/db.ts';
import { fsBlobStore } from '../store/blob/fs.ts';
import { tieredBlobStore } from '../store/blob/tiered.ts';
import { openPostgres } from '../store/postgres/driver.ts';
import type { SqlDriver } from '../store/sql/driver.ts';
import { openSqlStore } from '../store/sql/store.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
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
  /** The outbound queue itself: serve.ts starts and stops its runner. */
  queue: OutboundService;
  /** The one DNS resolver ([dns] config): MX routing, later SPF and DKIM verification. */
  resolver: Resolver;
  /** DKIM signing keys per domain, under <data_dir>/dkim. */
  dkim: DkimKeyring;
  /** User spam judgements (moves into and out of Junk) fed to the filter's learning parts. */
  spamFeedback: JunkFeedback;
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
  let store: Store & { db: SqlDriver };
  if (config.store.backend === 'postgres') {
    if (!config.store.postgres_url) throw new Error('store.backend is "postgres" but store.postgres_url is empty');
    store = await openSqlStore(
      openPostgres({ url: config.store.postgres_url, maxConnections: config.store.postgres_pool }),
    );
  } else {
    const p = config.store.sqlite_path || join(dataDir, 'petrel.db');
    store = await openSqliteStore({ path: isAbsolute(p) ? p : resolve(p) });
  }
  store = withDirectoryCache(store);
  const db = store.db;
  const blobs =
    config.blobs.backend === 'database'
      ? dbBlobStore(db)
      : tieredBlobStore(
          dbBlobStore(db),
          fsBlobStore(config.blobs.path ? resolve(config.blobs.path) : join(dataDir, 'blobs')),
          config.blobs.inline_max,
        );
  const events = memoryEventBus();
  const mail = new MailService({ store, blobs, events, log });
  const directory = new DirectoryService(store);
  const resolver = createResolver({
    nameservers: config.dns.nameservers,
    timeoutMs: config.dns.timeout_ms,
    tries: config.dns.tries,
  });
  const dkim = new DkimKeyring(join(dataDir, 'dkim'));
  const spamFeedback = junkFeedback({ mail, sinks: buildFeedbackSinks({ store, resolver, config, log }), log });
  mail.onTransfer((t) => spamFeedback.observe(t));
  let queue: OutboundService;
  try {
    queue = new OutboundService({ config, store, blobs, mail, directory, resolver, dkim, log });
  } catch (e) {
    await store.close();
    throw e;
  }
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
    outbound: queue,
    queue,
    resolver,
    dkim,
    spamFeedback,
    tls() {
      tls ??= loadTlsMaterial({
        certPath: config.tls.cert,
        keyPath: config.tls.key,
        dir: join(dataDir, 'tls'),
        hostname: config.server.hostname,
      }).then((material) => ({ material, context: secureContext(material, config.tls.min_version) }));
      return tls;
    },
    async close() {
      await spamFeedback.settled();
      await store.close();
    },
  };
}
