// Reading reports aside: a report that is small on the wire can take seconds and hundreds of megabytes to
// parse (a gzip of 20 MB of nested JSON brackets, of tens of thousands of DMARC records), which on the main
// thread would hold every connection of every protocol meanwhile, and past the process's heap limit end it.
// So each report is read on a worker thread (worker.ts) under a heap limit and a time limit of its own: one
// that exceeds either has its thread stopped (a new one reads the next report) and is not kept. One
// report at a time; a few wait, more are not read (reports are best effort, the mail is delivered anyway).
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ReadReport } from './read.ts';

export interface ReaderLimits {
  /** Longest read of one report. */
  timeoutMs: number;
  /** Heap limit of the worker thread. */
  maxMemoryMb: number;
  /** Reports waiting for the worker at most; one more is refused at once. */
  maxQueue: number;
}

export const READER_LIMITS: ReaderLimits = { timeoutMs: 30_000, maxMemoryMb: 256, maxQueue: 16 };

const here = fileURLToPath(import.meta.url);
const WORKER = new URL(`./worker${extname(here)}`, import.meta.url);

interface Job {
  raw: Buffer;
  now: number;
  resolve: (r: ReadReport | null) => void;
  reject: (e: Error) => void;
}

export class ReportReader {
  private readonly limits: ReaderLimits;
  private worker: Worker | null = null;
  private job: Job | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly queue: Job[] = [];
  private closed = false;
  /** Worker threads stopped (out of time or memory, or dead), since start. */
  replaced = 0;

  constructor(limits: Partial<ReaderLimits> = {}) {
    this.limits = { ...READER_LIMITS, ...limits };
  }

  /** The report `raw` carries (null: none); rejects when it cannot be read, within the limits or at all. */
  read(raw: Buffer, now: number): Promise<ReadReport | null> {
    if (this.closed) return Promise.reject(new Error('the report reader is closed'));
    if (this.queue.length >= this.limits.maxQueue)
      return Promise.reject(new Error(`${this.queue.length} reports already wait to be read`));
    return new Promise((resolve, reject) => {
      this.queue.push({ raw, now, resolve, reject });
      this.pump();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('the report reader is closed'));
    this.settle()?.reject(new Error('the report reader is closed'));
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private pump(): void {
    if (this.job || this.closed) return;
    const job = this.queue.shift();
    if (!job) return;
    let w: Worker;
    try {
      w = this.worker ?? this.spawn();
    } catch (e) {
      job.reject(e as Error);
      this.pump();
      return;
    }
    this.job = job;
    this.timer = setTimeout(() => {
      this.stop(w, `not read within ${this.limits.timeoutMs / 1000} s`);
    }, this.limits.timeoutMs);
    this.timer.unref();
    w.postMessage({ raw: job.raw, now: job.now });
  }

  /** The job in hand, no longer in hand. */
  private settle(): Job | null {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const job = this.job;
    this.job = null;
    return job;
  }

  /** Stops a worker (out of time, out of memory, dead): its report fails, the next gets a new worker. */
  private stop(w: Worker, why: string): void {
    if (this.worker !== w) return;
    this.worker = null;
    this.replaced++;
    this.settle()?.reject(new Error(why));
    void w.terminate();
    this.pump();
  }

  private spawn(): Worker {
    const w = new Worker(WORKER, { resourceLimits: { maxOldGenerationSizeMb: this.limits.maxMemoryMb } });
    w.unref();
    w.on('message', (m: { result?: ReadReport | null; error?: string }) => {
      if (this.worker !== w) return;
      const job = this.settle();
      if (m.error !== undefined) job?.reject(new Error(m.error));
      else job?.resolve(m.result ?? null);
      this.pump();
    });
    // ERR_WORKER_OUT_OF_MEMORY: "Worker terminated due to reaching memory limit".
    w.on('error', (e) => this.stop(w, e.message));
    w.on('exit', (code) => this.stop(w, `the report reader stopped (exit code ${code})`));
    this.worker = w;
    return w;
  }
}
