// Writes blob files durably on worker threads: temp file, write, fsync, rename, fsync of the directory,
// all as plain blocking calls off the event loop. Done with fs/promises on the main thread, the same put
// costs eight thread-pool hand-offs (and their promises) on the event loop per message.
import { Worker } from 'node:worker_threads';

/** What each worker runs (CommonJS from a string, so no extra file has to ship or be built). */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
function syncDir(dir) {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}
function put(file, data) {
  const now = new Date();
  // Same content already stored: refresh its time (garbage collection's grace) and stop.
  try { fs.utimesSync(file, now, now); return false; } catch {}
  const dir = path.dirname(file);
  // New directory entries must be durable before a file in them is: mkdir says which level it made first.
  const created = fs.mkdirSync(dir, { recursive: true });
  if (created !== undefined) {
    syncDir(path.dirname(dir));
    if (created !== dir) syncDir(path.dirname(path.dirname(dir)));
  }
  const tmp = path.join(dir, '.tmp-' + path.basename(file).slice(0, 8) + '-' + crypto.randomBytes(6).toString('hex'));
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    try {
      let off = 0;
      while (off < data.length) off += fs.writeSync(fd, data, off, data.length - off);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    // A partial file (a full disk: ENOSPC) would hold on to the space nothing ever frees: remove it.
    try { fs.unlinkSync(tmp); } catch {}
    throw e;
  }
  syncDir(dir);
  return true;
}
parentPort.on('message', ({ id, file, data }) => {
  try {
    parentPort.postMessage({ id, wrote: put(file, data) });
  } catch (e) {
    parentPort.postMessage({ id, error: { code: e.code || 'EIO', message: String(e.message) } });
  }
});
`;

interface Pending {
  resolve: (wrote: boolean) => void;
  reject: (e: Error) => void;
}

class WriterThread {
  readonly worker: Worker;
  readonly pending = new Map<number, Pending>();
  constructor(onExit: (t: WriterThread, e: Error) => void) {
    this.worker = new Worker(WORKER, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; wrote?: boolean; error?: { code: string; message: string } }) => {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (!p) return;
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
      else p.resolve(m.wrote === true);
    });
    this.worker.on('error', (e) => onExit(this, e));
    this.worker.on('exit', () => onExit(this, new Error('blob writer worker exited')));
  }
}

/** A small pool: several fsyncs in flight at once, as the disk allows. */
export class BlobWriterPool {
  private threads: WriterThread[] = [];
  private nextId = 1;
  private readonly size: number;

  constructor(size = 4) {
    this.size = size;
  }

  /** Writes `data` to `file` durably; false when the file already existed (content-addressed: same bytes). */
  put(file: string, data: Buffer): Promise<boolean> {
    const t = this.pick();
    const id = this.nextId++;
    return new Promise<boolean>((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      if (t.pending.size === 1) t.worker.ref();
      // A Buffer is often a view into a larger pooled ArrayBuffer, and cloning it would copy all of that:
      // copy just these octets into a buffer of their own and hand it over without a second copy.
      const own = new Uint8Array(data.length);
      own.set(data);
      t.worker.postMessage({ id, file, data: own }, [own.buffer]);
    });
  }

  private pick(): WriterThread {
    if (this.threads.length < this.size) {
      const idle = this.threads.find((t) => t.pending.size === 0);
      if (idle) return idle;
      const t = new WriterThread((dead, e) => {
        this.threads = this.threads.filter((x) => x !== dead);
        for (const p of dead.pending.values()) p.reject(e);
        dead.pending.clear();
      });
      this.threads.push(t);
      return t;
    }
    return this.threads.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
  }

  async close(): Promise<void> {
    const ts = this.threads;
    this.threads = [];
    await Promise.all(ts.map((t) => t.worker.terminate()));
  }
}
