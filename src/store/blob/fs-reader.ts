// Reads many small blob files per round trip on a worker thread: each async read on the main thread costs
// several thread-pool hand-offs, which dominate bulk retrieval (POP3 RETR of a maildrop, IMAP FETCH of
// many bodies). The worker reads a batch with plain blocking calls, off the event loop, and hands the
// buffers back without copying.
import { Worker } from 'node:worker_threads';

/** What the worker runs (CommonJS, evaluated from this string so no extra file has to ship or be built). */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
function readOne(file, size) {
  const fd = fs.openSync(file, 'r');
  try {
    if (size === null) size = fs.fstatSync(fd).size;
    // One octet more than expected: a file of another size is read again whole, never cut.
    let buf = new Uint8Array(size + 1);
    let n = fs.readSync(fd, buf, 0, size + 1, 0);
    if (n !== size) {
      size = fs.fstatSync(fd).size;
      buf = new Uint8Array(size);
      n = fs.readSync(fd, buf, 0, size, 0);
    }
    return buf.buffer.byteLength === n ? buf.buffer : buf.buffer.slice(0, n);
  } finally {
    fs.closeSync(fd);
  }
}
parentPort.on('message', ({ id, files, sizes }) => {
  const results = [];
  const transfer = [];
  for (let i = 0; i < files.length; i++) {
    try {
      const ab = readOne(files[i], sizes[i]);
      results.push(ab);
      transfer.push(ab);
    } catch (e) {
      results.push({ code: e.code || 'EIO', message: String(e.message) });
    }
  }
  parentPort.postMessage({ id, results }, transfer);
});
`;

type Result = ArrayBuffer | { code: string; message: string };

/** A file that could not be read: its errno code, as fs errors carry it. */
export class ReadError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export class BatchReader {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Result[]) => void; reject: (e: Error) => void }>();

  /** Reads the files (size null: unknown); each entry is the contents or the error for that file. */
  async read(files: string[], sizes: (number | null)[]): Promise<(Buffer | ReadError)[]> {
    const w = this.start();
    const id = this.nextId++;
    const results = await new Promise<Result[]>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      if (this.waiting.size === 1) w.ref();
      w.postMessage({ id, files, sizes });
    });
    return results.map((r) => (r instanceof ArrayBuffer ? Buffer.from(r) : new ReadError(r.code, r.message)));
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER, { eval: true });
    w.unref();
    w.on('message', ({ id, results }: { id: number; results: Result[] }) => {
      const p = this.waiting.get(id);
      this.waiting.delete(id);
      if (this.waiting.size === 0) w.unref();
      p?.resolve(results);
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = null;
      for (const p of this.waiting.values()) p.reject(e);
      this.waiting.clear();
    };
    w.on('error', fail);
    w.on('exit', () => fail(new Error('blob reader worker exited')));
    this.worker = w;
    return w;
  }

  /** Stops the worker (pending reads fail). */
  async close(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }
}
