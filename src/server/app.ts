// The composition root's first half: from a validated config to the store, blob store, services and TLS.
// Only this file (and serve.ts) knows which backends run.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AuthLimiter, type SignInNote } from '../auth/limiter.ts';
import { AuthService } from '../auth/service.ts';
import type { Config } from '../config/schema.ts';
import type { BearerVerifier } from '../core/auth-port.ts';
import type { BlobStore, EventBus, OutboundQueue, Resolver, Store } from '../core/ports.ts';
import { withDirectoryCache } from '../directory/cache.ts';
import { DirectoryService } from '../directory/service.ts';
import { DkimKeyring } from '../dkim/keys.ts';
import { createResolver } from '../dns/resolver.ts';
import { createSecureLookup } from '../dns/secure.ts';
import { JunkReport } from '../mailbox/junk-report.ts';
import { Retention } from '../mailbox/retention.ts';
import { MailService } from '../mailbox/service.ts';
import { sharedEventBus } from '../mailbox/shared-events.ts';
import type { ParsedMessage } from '../mime/types.ts';
import type { CertificateSet } from '../net/certificates.ts';
import { OAuthService } from '../oauth/service.ts';
import { OutboundService } from '../queue/service.ts';
import { IncomingReports } from '../reports/incoming/service.ts';
import { Srs } from '../smtp/srs.ts';
import { buildChecks, buildFeedbackSinks } from '../spam/checks/index.ts';
import { forgetAccountVotes } from '../spam/checks/reputation.ts';
import { DmarcFailureReporter } from '../spam/dmarc-reports/failure.ts';
import { DmarcReporter } from '../spam/dmarc-reports/reporter.ts';
import { InboundFilter } from '../spam/inbound.ts';
import { type JunkFeedback, junkFeedback } from '../spam/junk-feedback.ts';
import { OutboundScan } from '../spam/outbound.ts';
import { ContentScanPool } from '../spam/scan/pool.ts';
import { type ContentScanner, scanOptions } from '../spam/scan/scanner.ts';
import { userSpamSettings } from '../spam/user-settings.ts';
import { dbBlobStore } from '../store/blob/db.ts';
import { fsBlobStore } from '../store/blob/fs.ts';
import { tieredBlobStore } from '../store/blob/tiered.ts';
import { type Notifier, postgresNotifier } from '../store/postgres/notify.ts';
import type { SqlDriver } from '../store/sql/driver.ts';
import { socketNotifier } from '../store/sqlite/notify.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import type { Logger } from '../telemetry/log.ts';
import { BlobCollector } from './blob-gc.ts';
import { type Certificates, openCertificates } from './certificates.ts';
import { makeDataDir, openPostgresStore } from './open-storage.ts';

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
  /** DKIM signing keys per domain, in the store (key files under <data_dir>/dkim imported at open). */
  dkim: DkimKeyring;
  /** The spam filter for mail from the internet (checks and feedback sinks built once here). */
  spam: InboundFilter;
  /** The outbound scan of submitted mail ([spam.outbound]), with the same check instances as `spam`. */
  outboundScan: OutboundScan;
  /** User spam judgements (moves into and out of Junk) fed to the filter's learning parts. */
  spamFeedback: JunkFeedback;
  /**
   * The content scan's worker pool (spam/scan/pool.ts), started by the first message the filter sees;
   * `ready()` starts it and resolves when a worker can take scans (tests of the time limit wait for it).
   */
  spamScanner: ContentScanner & { ready(): Promise<void>; load(): { running: number; queued: number; idle: number } };
  /** DMARC aggregate reports: counts outcomes as mail arrives; serve.ts starts its sending timer. */
  dmarcReports: DmarcReporter;
  /** DMARC and TLS reports other servers send about our domains, read from delivered mail. */
  incomingReports: IncomingReports;
  /** Deletes old mail in Junk and Trash ([retention]); serve.ts starts its hourly timer. */
  retention: Retention;
  /** The daily Junk report ([spam.junk_report]); serve.ts starts its timer. */
  junkReport: JunkReport;
  /** Removes blobs nothing references any more (store/blob/gc.ts); serve.ts starts its hourly timer. */
  blobGc: BlobCollector;
  /**
   * Verifies OAuth 2.0 bearer tokens for SASL OAUTHBEARER / XOAUTH2: Petrel's own provider's tokens and
   * configured external identity providers' (src/oauth/service.ts).
   */
  bearer: BearerVerifier;
  /** The OpenID Provider, its sign-in and /account pages, two-factor authentication (src/oauth). */
  oauth: OAuthService;
  /** Sign-in decisions for every mail protocol: passwords, app passwords, SCRAM, tokens, lockouts. */
  auth: AuthService;
  /** Sender rewriting for forwarded mail and its bounces (smtp.srs; undefined when off). */
  srs(): Promise<Srs | undefined>;
  /** The certificates every TLS listener and STARTTLS serves (by SNI), loaded on first use (the CLI never needs them). */
  tls(): Promise<CertificateSet>;
  /** Reads every certificate file again (SIGHUP, ACME renewal): new connections get the new certificates. */
  reloadTls(): Promise<void>;
  /** Starts hearing what the other nodes sharing the database count (sign-in failures); serve calls it. */
  hearPeers(): void;
  /** Topics heard by the other processes on the same store (the nodes of a cluster; the CLI and the server on SQLite). */
  notifier: Notifier;
  close(): Promise<void>;
}

export function dataPath(config: Config, ...parts: string[]): string {
  const base = resolve(config.server.data_dir);
  return join(base, ...parts);
}

export async function openApp(config: Config, log: Logger): Promise<App> {
  const dataDir = resolve(config.server.data_dir);
  makeDataDir(dataDir);
  // The mode given to mkdirSync applies only to a directory it makes; one made by a package, systemd or a volume may
  // let other users list (and, for files made with a loose umask, read) keys and mail.
  const dirMode = statSync(dataDir).mode & 0o777;
  if (dirMode & 0o077)
    log.warn(
      { dataDir, mode: dirMode.toString(8) },
      'the data directory is open to other users; make it private (chmod 700): it holds keys and mail',
    );
  let store: Store & { db: SqlDriver };
  if (config.store.backend === 'postgres') store = await openPostgresStore(config);
  else {
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
  // Nodes sharing PostgreSQL tell each other mail changes (IMAP IDLE on one, a delivery through another)
  // and sign-in failures (the brute-force limiter). On SQLite the CLI tells the server (account changes
  // that end sessions) through a socket in the data directory.
  const notifier =
    config.store.backend === 'postgres'
      ? postgresNotifier({ url: config.store.postgres_url, db, log })
      : socketNotifier({ path: join(dataDir, 'notify.sock'), log });
  const events = sharedEventBus(notifier);
  const mail = new MailService({ store, blobs, events, log, junkKeywords: config.spam.junk_keywords });
  const directory = new DirectoryService(store, {
    postmaster: config.smtp.postmaster || null,
    firstAdminPostmaster: true,
    events,
    forgetVotes: (accountId) => forgetAccountVotes({ store, config }, accountId),
  });
  const resolver = createResolver({
    nameservers: config.dns.nameservers,
    timeoutMs: config.dns.timeout_ms,
    tries: config.dns.tries,
    packetLookup: createSecureLookup({
      nameservers: config.dns.nameservers,
      timeoutMs: config.dns.timeout_ms,
      tries: config.dns.tries,
      trustAd: false,
    }),
  });
  const dkim = new DkimKeyring(store.keys, join(dataDir, 'dkim'));
  // Key files of earlier versions and of `petrel init` move into the store, where every node finds them.
  const moved = await dkim.importFiles();
  for (const k of moved.imported) log.info({ key: k }, 'DKIM: key file imported into the store');
  // Typically a second node's own `petrel init`: the record its dns-records.txt shows is not the one to publish.
  for (const f of moved.conflicting)
    log.warn(
      { file: f },
      `DKIM: key file differs from the stored key of its selector; the stored key is used (\`petrel dkim show\` prints its record)${f.endsWith('.unused') ? ', the file is set aside' : ''}`,
    );
  // The content scan's worker threads, started with the first message the filter sees (CLI commands that
  // open the app never need them).
  let scanPool: ContentScanPool | null = null;
  const pool = () =>
    (scanPool ??= new ContentScanPool({
      workers: config.spam.scan.workers,
      timeoutMs: config.spam.scan.timeout_ms,
      maxMemoryMb: config.spam.scan.max_memory_mb,
      maxQueue: config.spam.scan.max_queue,
      scan: scanOptions(config),
      log,
    }));
  const scanner = {
    scan: (raw: Buffer, parsed: ParsedMessage | null, signal?: AbortSignal) => pool().scan(raw, parsed, signal),
    ready: () => pool().ready(),
    load: () => pool().load(),
  };
  // One set of learning parts for both user judgements (Junk moves) and the SMTP verdicts.
  const spamSinks = buildFeedbackSinks({ store, resolver, config, log, scanner });
  const spamFeedback = junkFeedback({ mail, sinks: spamSinks, log });
  mail.onFiling((f) => spamFeedback.observe(f));
  // SRS (smtp.srs): one key for every node, kept in the store, read on first use.
  let srsKey: Promise<Srs | undefined> | null = null;
  const srs = () => {
    srsKey ??= config.smtp.srs
      ? store.oauth.ensureSecret('srs', randomBytes(32).toString('base64url')).then((k) => new Srs(k))
      : Promise.resolve(undefined);
    return srsKey;
  };
  let queue: OutboundService;
  let oauth: OAuthService;
  try {
    queue = new OutboundService({ config, store, blobs, mail, directory, resolver, dkim, log, srs });
    oauth = new OAuthService({
      settings: config.oauth,
      httpPort: config.listeners.http.port,
      httpTls: config.listeners.http.tls,
      store,
      directory,
      log,
      limiter: () => limiter,
      spamSettings: userSpamSettings(config, store, mail),
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  let spam: InboundFilter;
  let outboundScan: OutboundScan;
  let dmarcReports: DmarcReporter;
  try {
    const spamDeps = { store, resolver, config, log, scanner };
    dmarcReports = new DmarcReporter({ config, store, resolver, outbound: queue, log });
    const checks = buildChecks(spamDeps);
    outboundScan = new OutboundScan({ config, store, log, checks });
    spam = new InboundFilter({
      config,
      store,
      checks,
      sinks: spamSinks,
      dkim,
      log,
      dmarcReports,
      dmarcFailureReports: new DmarcFailureReporter({ config, resolver, outbound: queue, store, log }),
    });
  } catch (e) {
    await store.close();
    throw e;
  }
  let certs: Promise<Certificates> | null = null;
  const certificates = () => {
    certs ??= openCertificates(config, dataDir, store.keys, log);
    return certs;
  };
  const sec = config.security;
  const limiter = new AuthLimiter({
    maxFailuresPerIp: sec.max_failures_per_ip,
    maxFailuresPerAccount: sec.max_failures_per_account,
    windowMs: sec.failure_window_s * 1000,
    lockoutMs: sec.lockout_s * 1000,
    delayMs: sec.failure_delay_ms,
    maxDelayMs: sec.max_failure_delay_ms,
  });
  const signIns = notifier.topic<SignInNote>('signin', (notes) => {
    for (const n of notes) limiter.heard(n);
  });
  limiter.share = (n) => signIns.send(n);
  const incomingReports = new IncomingReports({ store, log });
  const app: App = {
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
    spam,
    outboundScan,
    spamFeedback,
    spamScanner: scanner,
    dmarcReports,
    incomingReports,
    retention: new Retention(config, { mail, leases: store.leases, log }),
    junkReport: new JunkReport({ config, mail, leases: store.leases, log }),
    blobGc: new BlobCollector({ db, blobs, leases: store.leases, log }),
    bearer: oauth.bearer,
    oauth,
    tls: async () => (await certificates()).set,
    reloadTls: async () => (await certificates()).reload(),
    hearPeers: () => signIns.listen(),
    notifier,
    srs,
    auth: undefined as unknown as AuthService,
    async close() {
      await spamFeedback.settled();
      await scanPool?.close();
      await incomingReports.close();
      oauth.close();
      app.auth?.close();
      await notifier.close();
      await store.close();
    },
  };
  let saltKey: Buffer;
  try {
    saltKey = await scramSaltKey(store, join(dataDir, 'auth.key'));
  } catch (e) {
    await app.close();
    throw e;
  }
  app.auth = new AuthService({
    store,
    directory,
    bearer: () => app.bearer,
    limiter,
    log,
    secret: saltKey,
    mailScope: config.oauth.mail_scope,
  });
  return app;
}

/**
 * The key of the made-up SCRAM salts unknown users get: kept in the store, as accounts' salts are, so every
 * node sharing it gives one salt for a name (nodes that differed would tell which accounts exist). The
 * per-node key of earlier versions (<data_dir>/auth.key), when there is one, is the first value, so a
 * single node keeps the salts it gave.
 */
async function scramSaltKey(store: Store, oldKeyFile: string): Promise<Buffer> {
  let seed = randomBytes(32);
  try {
    const b = readFileSync(oldKeyFile);
    if (b.length >= 32) seed = b;
  } catch {}
  return Buffer.from(await store.oauth.ensureSecret('scram-salt', seed.toString('base64url')), 'base64url');
}
