// The SQLite Store: one writer thread owns every write (store/sqlite/writer-worker.ts); the main thread
// reads through a read-only connection. SQLite has one writer at a time anyway, and its writes carry the
// heavy work (full-text indexing, page writes, checkpoints); on the writer thread that work runs beside the
// event loop instead of inside it, and the WAL's fsyncs never block it. A write's promise resolves after
// its commit is durable, and the next read on the main connection sees it (WAL: each read starts a new
// snapshot); a read that could see a commit not yet durable waits for its fsync (wal-sync.ts).
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PetrelError } from '../../core/errors.ts';
import type { Store } from '../../core/ports.ts';
import type { SqlDriver } from '../sql/driver.ts';
import { openSqlStore, SUBSTORES } from '../sql/store.ts';
import { gatedReads, openSqlite } from './driver.ts';
import { newSyncState, settleAll } from './wal-sync.ts';

/** Store methods that write: they run on the writer thread. Every other method reads on this thread. */
const WRITES = [
  'createTenant',
  'updateTenantQuota',
  'createDomain',
  'updateDomainQuota',
  'deleteDomain',
  'createAccount',
  'updateAccount',
  'deleteAccount',
  'createAlias',
  'deleteAlias',
  'createMailbox',
  'renameMailbox',
  'deleteMailbox',
  'setSpecialUse',
  'setSubscribed',
  'claimRecent',
  'setBodyCrlfSize',
  'rewriteBodyText',
  'append',
  'updateFlags',
  'expunge',
  'expungeAndMarkSeen',
  'copy',
  'move',
] as const;

interface Reply {
  id?: number;
  result?: unknown;
  error?: { petrel: boolean; code?: string; message: string; stack?: string };
  ready?: boolean;
  closed?: boolean;
  failed?: { message: string; stack?: string };
}

export async function openSqliteStore(opts: {
  path: string;
  busyTimeoutMs?: number;
}): Promise<Store & { db: SqlDriver }> {
  const here = fileURLToPath(import.meta.url);
  // The writer counts commits and fsyncs into this; the reader below waits on it (wal-sync.ts).
  const syncState = newSyncState();
  const worker = new Worker(new URL(`./writer-worker${extname(here)}`, import.meta.url), {
    workerData: { path: opts.path, busyTimeoutMs: opts.busyTimeoutMs, syncState },
  });
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  /** Set by close(): calls are refused from then on, and the writer is held until it has closed. */
  let closeCalled = false;
  let onClosed: (() => void) | null = null;
  // The writer thread keeps this process alive exactly while something here waits for it: a call's
  // reply, or close(). Deciding it in one place matters: a reply that came after close() had begun once
  // let go of the writer, and with nothing else alive the process ended with close() unsettled
  // (`petrel serve` exited 13 at shutdown).
  const holdWriter = () => {
    if (pending.size > 0 || closeCalled) worker.ref();
    else worker.unref();
  };
  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: Reply) => {
      if (m.ready) return resolve();
      if (m.failed) return reject(Object.assign(new Error(m.failed.message), { stack: m.failed.stack }));
      if (m.closed) return onClosed?.();
      const p = pending.get(m.id!);
      if (!p) return;
      pending.delete(m.id!);
      holdWriter();
      if (!m.error) return p.resolve(m.result);
      const e = m.error.petrel
        ? new PetrelError(m.error.code as PetrelError['code'], m.error.message)
        : Object.assign(new Error(m.error.message), { code: m.error.code, stack: m.error.stack });
      p.reject(e);
    });
    const fail = (e: Error) => {
      dead = e;
      // No fsync will come from a stopped writer: reads must not wait for one forever.
      settleAll(syncState);
      reject(e);
      for (const p of pending.values()) p.reject(e);
      pending.clear();
      // A writer that stopped without saying 'closed' (it crashed) has closed all the same.
      onClosed?.();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('the SQLite writer thread stopped')));
  });
  await ready;
  holdWriter();

  const call = (method: string, args: unknown[]): Promise<unknown> => {
    // A write that comes too late is refused as a temporary failure (each protocol's "try again later"),
    // never left waiting for a writer that is going away.
    if (closeCalled) return Promise.reject(new PetrelError('UNAVAILABLE', 'the store is closing'));
    if (dead) return Promise.reject(dead);
    const id = nextId++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      holdWriter();
      worker.postMessage({ id, method, args });
    });
  };

  // Reads: the same SQL store over a read-only connection (the writer thread ran the migrations). Reads of
  // what clients are shown (accounts, mailboxes, messages: UIDs, flags, modseqs) wait while a commit they could
  // see is not yet durable (gatedReads); the queue's and the other substores' do not: the runner and the
  // filters read what they themselves wrote durably, and waiting there on others' fsyncs cost the outbound
  // queue a quarter of its speed.
  const reader = openSqlite({ path: opts.path, busyTimeoutMs: opts.busyTimeoutMs, readonly: true });
  const local = await openSqlStore(gatedReads(reader, syncState), { migrate: false });
  const plain = await openSqlStore(reader, { migrate: false });
  const store = { ...local } as Record<string, unknown>;
  for (const m of WRITES) store[m] = (...args: unknown[]) => call(m, args);
  for (const [name, sub] of Object.entries(SUBSTORES)) {
    const proxy = { ...(plain as unknown as Record<string, Record<string, unknown>>)[name] };
    for (const m of sub.writes) proxy[m] = (...args: unknown[]) => call(`${name}.${m}`, args);
    store[name] = proxy;
  }
  // The raw driver (garbage collection, the database blob store): reads here, writes on the writer thread.
  const db: SqlDriver = {
    ...reader,
    run: (sql, params) => call('db.run', [sql, params]) as Promise<number>,
    exec: async (sql) => void (await call('db.exec', [sql])),
    transaction: () => Promise.reject(new Error('transactions run on the SQLite writer thread')),
  };
  store.db = db;
  let closing: Promise<void> | null = null;
  store.close = () => {
    closeCalled = true;
    closing ??= (async () => {
      if (!dead) {
        // The writer answers every call sent before 'close', each once it is durable, then closes and
        // says 'closed' (writer-worker.ts); a writer that stops first settles them all the same (fail).
        await new Promise<void>((resolve) => {
          onClosed = resolve;
          holdWriter();
          worker.postMessage('close');
        });
        await worker.terminate();
      }
      await reader.close();
    })();
    return closing;
  };
  return store as unknown as Store & { db: SqlDriver };
}
