// The SQLite writer thread: owns the one connection that writes (and the full-text indexing, WAL fsyncs
// and checkpoints that come with writing), and runs the write methods of the SQL store for the main
// thread, which keeps a read-only connection for reads. See store/sqlite/store.ts.
import { parentPort, workerData } from 'node:worker_threads';
import { PetrelError } from '../../core/errors.ts';
import { openSqlStore, SUBSTORES } from '../sql/store.ts';
import { openSqlite } from './driver.ts';

interface Call {
  id: number;
  /** 'append', 'queue.insert', or 'db.run' / 'db.exec' for the raw driver. */
  method: string;
  args: unknown[];
}

const port = parentPort!;
const { path, busyTimeoutMs, syncState } = workerData as {
  path: string;
  busyTimeoutMs?: number;
  syncState?: SharedArrayBuffer;
};

try {
  const driver = openSqlite({ path, busyTimeoutMs, syncState });
  const store = await openSqlStore(driver);
  const targets: Record<string, Record<string, unknown>> = {
    '': store as unknown as Record<string, unknown>,
    ...Object.fromEntries(
      Object.keys(SUBSTORES).map((k) => [k, (store as unknown as Record<string, Record<string, unknown>>)[k]]),
    ),
    db: driver as unknown as Record<string, unknown>,
  };
  /** Calls begun and not yet answered: 'close' waits for them (each one's answer waits for its fsync). */
  const running = new Set<Promise<void>>();
  let closing = false;
  port.on('message', (c: Call | 'close') => {
    if (c === 'close') {
      closing = true;
      void closeAfter(running, driver).then(() => port.postMessage({ closed: true }));
      return;
    }
    const done = answer(c, targets, closing).finally(() => running.delete(done));
    running.add(done);
  });
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ failed: { message: (e as Error).message, stack: (e as Error).stack } });
}

/**
 * Runs one call and posts its answer. A write's promise resolves only once its commit is durable, and that
 * wait runs outside the database's lock: the answer can come after a later 'close' has the lock, so 'close'
 * waits for the answers rather than for the lock alone.
 */
async function answer(c: Call, targets: Record<string, Record<string, unknown>>, closing: boolean): Promise<void> {
  const dot = c.method.indexOf('.');
  const target = targets[dot < 0 ? '' : c.method.slice(0, dot)];
  const name = dot < 0 ? c.method : c.method.slice(dot + 1);
  try {
    // The main thread sends nothing after 'close' (store.ts refuses it there); should it, it is refused here too.
    if (closing) throw new PetrelError('UNAVAILABLE', 'the store is closing');
    const fn = target?.[name];
    if (typeof fn !== 'function') throw new Error(`no write method ${c.method}`);
    port.postMessage({ id: c.id, result: await (fn as (...a: unknown[]) => Promise<unknown>).apply(target, c.args) });
  } catch (e) {
    const err = e as Error & { code?: string };
    port.postMessage({
      id: c.id,
      error: { petrel: e instanceof PetrelError, code: err.code, message: err.message, stack: err.stack },
    });
  }
}

/** Closes the connection once every call sent before 'close' has been answered. */
async function closeAfter(running: Set<Promise<void>>, driver: { close(): Promise<void> }): Promise<void> {
  await Promise.all(running);
  await driver.close();
}
