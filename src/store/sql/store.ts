// The one SQL implementation of the Store port, over either driver.
import type { Store } from '../../core/ports.ts';
import { AUTH_WRITES, authStore } from './auth.ts';
import { BAYES_WRITES, bayesStore } from './bayes.ts';
import { directoryStore } from './directory.ts';
import type { SqlDriver } from './driver.ts';
import { KEY_WRITES, keyStore } from './keys.ts';
import { LEASE_WRITES, leaseStore } from './leases.ts';
import { mailboxStore } from './mailboxes.ts';
import { messageStore } from './messages.ts';
import { migrate } from './migrations.ts';
import { MTA_STS_WRITES, mtaStsStore } from './mta-sts.ts';
import { OAUTH_WRITES, oauthStore } from './oauth.ts';
import { QUEUE_WRITES, queueStore } from './queue.ts';
import { RECEIVED_REPORT_WRITES, receivedReportStore } from './received-reports.ts';
import { dmarcStore, REPORT_WRITES, tlsReportStore } from './reports.ts';
import { REPUTATION_WRITES, reputationStore } from './reputation.ts';
import { SPAM_WRITES, spamStore } from './spam.ts';

/**
 * Feature stores beside the mail store (`store.queue`, later `store.auth`, `store.spam`, ...): each has its
 * own SQL file and names its write methods, which the SQLite store runs on its writer thread. A new
 * feature adds one line here, its interface in core/, and its tables as a migration.
 */
export const SUBSTORES = {
  queue: { open: queueStore, writes: QUEUE_WRITES },
  spam: { open: spamStore, writes: SPAM_WRITES },
  auth: { open: authStore, writes: AUTH_WRITES },
  reputation: { open: reputationStore, writes: REPUTATION_WRITES },
  oauth: { open: oauthStore, writes: OAUTH_WRITES },
  bayes: { open: bayesStore, writes: BAYES_WRITES },
  leases: { open: leaseStore, writes: LEASE_WRITES },
  dmarc: { open: dmarcStore, writes: REPORT_WRITES },
  tlsReports: { open: tlsReportStore, writes: REPORT_WRITES },
  mtaSts: { open: mtaStsStore, writes: MTA_STS_WRITES },
  receivedReports: { open: receivedReportStore, writes: RECEIVED_REPORT_WRITES },
  keys: { open: keyStore, writes: KEY_WRITES },
} as const;

export async function openSqlStore(
  db: SqlDriver,
  opts: { migrate?: boolean } = {},
): Promise<Store & { db: SqlDriver }> {
  if (opts.migrate !== false) await migrate(db);
  return {
    dialect: db.dialect,
    db,
    ...directoryStore(db),
    ...mailboxStore(db),
    ...messageStore(db),
    ...(Object.fromEntries(Object.entries(SUBSTORES).map(([k, v]) => [k, v.open(db)])) as {
      [K in keyof typeof SUBSTORES]: ReturnType<(typeof SUBSTORES)[K]['open']>;
    }),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
