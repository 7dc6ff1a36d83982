// The one SQL implementation of the Store port, over either driver.
import type { Store } from '../../core/ports.ts';
import { directoryStore } from './directory.ts';
import type { SqlDriver } from './driver.ts';
import { mailboxStore } from './mailboxes.ts';
import { messageStore } from './messages.ts';
import { migrate } from './migrations.ts';
import { queueStore } from './queue.ts';

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
    queue: queueStore(db),
    ping: () => db.ping(),
    close: () => db.close(),
  };
}
