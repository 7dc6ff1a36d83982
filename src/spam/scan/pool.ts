// The server's content scanner: a pool of worker threads (spam/scan/worker.ts), each scanning one message
// at a time under a hard time limit. JavaScript cannot interrupt a running regex or loop on its own
// thread, and every connection of every protocol shares the main thread: a scan that runs past the limit
// (some input the scans are slow on) has its thread stopped and replaced, and the message's content
// checks score CONTENT_SCAN_TIMEOUT instead of holding the whole server. Scans waiting for a worker are
// capped (maxQueue): past it a scan fails at once as busy, and the message is deferred (content-scan.ts),
// as a loaded server sheds mail politely, rather than queued for as long as messages keep coming in.
import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseMessage } from '../../mime/parse.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import type { Logger } from '../../telemetry/log.ts';
import { instruments } from '../../telemetry/metrics.ts';
import { type ContentScan, type ScanOptions, scanContent } from './scan.ts';
import { type ContentScanner, ScanFailed } from './scanner.ts';

export interface PoolOptions {
  /** Worker threads; 0: one per core, at least 2 (a slow scan must not queue everyone), at most 4. */
  workers: number;
  /** Longest scan of one message, from the moment a worker takes it. */
  timeoutMs: number;
  /** Heap limit of each worker. */
  maxMemoryMb: number;
  /**
   * Scans waiting for a worker at most (0: none wait); one more fails at once (ScanFailed, busy). The server
   * passes spam.scan.max_queue; absent, no cap.
   */
  maxQueue?: number;
  scan: ScanOptions;
  log?: Logger;
  /** The worker's module (tests start workers that cannot start); spam/scan/worker.ts by default. */
  workerUrl?: URL;
}

/** Workers in a row that die before they are ready: then the pool stops starting them (see `broken`). */
const START_FAILURES = 3;

interface Job {
  raw: Buffer;
  parsed: ParsedMessage | null;
  signal?: AbortSignal;
  resolve: (s: ContentScan) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  id: number;
  timer: NodeJS.Timeout | null;
}

const here = fileURLToPath(import.meta.url);
const WORKER = new URL(`./worker${extname(here)}`, import.meta.url);

export class ContentScanPool implements ContentScanner {
  private readonly opts: PoolOptions;
  /** The time limit of scans started from now on. */
  timeoutMs: number;
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers stopped for running past the limit or dying, since start (for tests and the admin). */
  replaced = 0;
  /** Worker threads in the pool. */
  readonly size: number;
  /**
   * Workers could not start (START_FAILURES in a row: a broken install, no memory for a thread): scans
   * then run in place, without a time limit, rather than failing every message, and the log says so once.
   */
  broken = false;
  private startFailures = 0;
  /** A worker has been ready once: until then (the pool's first fraction of a second) scans run in place. */
  private started = false;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: PoolOptions) {
    this.opts = opts;
    this.timeoutMs = opts.timeoutMs;
    this.size = opts.workers > 0 ? opts.workers : Math.min(4, Math.max(2, availableParallelism()));
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  scan(raw: Buffer, parsed: ParsedMessage | null, signal?: AbortSignal): Promise<ContentScan> {
    if (this.closed) return Promise.reject(new ScanFailed('the content scanner is closed', false));
    return new Promise((resolve, reject) => {
      const job: Job = { raw, parsed, signal, resolve, reject };
      // Loading a worker's modules takes a few hundred milliseconds, which the first messages after start
      // should not wait for; the scans are bounded in what they read, so in place they cost milliseconds.
      // Not the admin's local rules (spam.rules): a pattern that backtracks without end would hold the
      // main thread for good, so with rules the first messages wait for a worker.
      if (this.broken || (!this.started && this.opts.scan.rules.length === 0)) return this.inPlace(job);
      this.queue.push(job);
      this.pump();
      // Still waiting (every worker busy) behind a full queue: refused now, not held for as long as the
      // server keeps taking messages. Running it here instead would escape the time limit.
      const cap = this.opts.maxQueue ?? Number.POSITIVE_INFINITY;
      if (this.queue.length > cap && this.queue.at(-1) === job) {
        this.queue.pop();
        instruments.spamScanFailures.add(1, { reason: 'busy' });
        return reject(new ScanFailed(`content scan refused: ${cap} scans already wait for a worker`, false, true));
      }
      // A caller that stops waiting frees its place in the queue at once (not when a worker would take it).
      signal?.addEventListener('abort', () => this.abandon(job), { once: true });
    });
  }

  /** Scans running on a worker and waiting for one, and workers ready for the next (tests; the admin). */
  load(): { running: number; queued: number; idle: number } {
    let running = 0;
    let idle = 0;
    for (const s of this.slots) {
      if (s.job) running++;
      else if (s.ready) idle++;
    }
    return { running, queued: this.queue.length, idle };
  }

  private abandon(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i < 0) return;
    this.queue.splice(i, 1);
    job.reject(new ScanFailed('content scan abandoned: the pipeline ran out of time', true));
    if (!this.busy()) for (const s of this.slots) s.worker.unref();
  }

  /** Resolves when a worker has started (or the pool gave up starting them). */
  ready(): Promise<void> {
    if (this.started || this.broken || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Scans on the main thread, without the local rules (no time limit could stop one there). */
  private inPlace(job: Job): void {
    try {
      job.resolve(scanContent(job.raw, job.parsed ?? parseMessage(job.raw), { ...this.opts.scan, rules: [] }));
    } catch (e) {
      job.reject(new ScanFailed(`content scan failed: ${(e as Error).message}`, false));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.waiting.splice(0)) w();
    for (const j of this.queue.splice(0)) j.reject(new ScanFailed('the content scanner is closed', false));
    const all = [...this.slots];
    this.slots.clear();
    for (const s of all) {
      if (s.timer) clearTimeout(s.timer);
      s.job?.reject(new ScanFailed('the content scanner is closed', false));
      s.job = null;
    }
    await Promise.all(all.map((s) => s.worker.terminate()));
  }

  private spawn(): void {
    const worker = new Worker(this.opts.workerUrl ?? WORKER, {
      workerData: { opts: this.opts.scan },
      resourceLimits: { maxOldGenerationSizeMb: this.opts.maxMemoryMb },
    });
    const slot: Slot = { worker, ready: false, job: null, id: 0, timer: null };
    this.slots.add(slot);
    worker.unref();
    worker.on('message', (m: { ready?: boolean; id?: number; scan?: ContentScan; error?: string }) => {
      if (m.ready) {
        slot.ready = true;
        this.startFailures = 0;
        this.started = true;
        for (const w of this.waiting.splice(0)) w();
        return this.pump();
      }
      const job = slot.job;
      if (!job || m.id !== slot.id) return;
      this.finish(slot);
      if (m.scan) job.resolve(m.scan);
      else job.reject(new ScanFailed(`content scan failed: ${m.error}`, false));
      this.pump();
    });
    // A worker that dies (out of memory, a crash) takes its message with it; a new one takes its place.
    const lost = (why: string) => {
      if (!this.slots.delete(slot)) return;
      const job = slot.job;
      this.finish(slot);
      job?.reject(new ScanFailed(`content scan failed: ${why}`, false));
      if (job) instruments.spamScanFailures.add(1, { reason: 'lost' });
      this.replaced++;
      if (!slot.ready && ++this.startFailures >= START_FAILURES) {
        if (!this.broken)
          this.opts.log?.error(
            { reason: why },
            'spam: content scan workers cannot start; scanning on the main thread, without a time limit and without spam.rules',
          );
        this.broken = true;
        for (const w of this.waiting.splice(0)) w();
        if (this.slots.size === 0) for (const j of this.queue.splice(0)) this.inPlace(j);
        else this.pump(); // workers that did start keep taking what is queued
        return;
      }
      this.opts.log?.warn({ reason: why }, 'spam: content scan worker lost, starting another');
      if (!this.closed) this.spawn();
      this.pump();
    };
    worker.on('error', (e) => lost(e.message));
    worker.on('exit', (code) => lost(`worker exited with code ${code}`));
  }

  private finish(slot: Slot): void {
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
    slot.job = null;
    if (!this.busy()) for (const s of this.slots) s.worker.unref();
  }

  private busy(): boolean {
    for (const s of this.slots) if (s.job) return true;
    return this.queue.length > 0;
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      let job = this.queue.shift();
      // A message whose pipeline gave up waiting is not worth a scan.
      while (job?.signal?.aborted) {
        job.reject(new ScanFailed('content scan abandoned: the pipeline ran out of time', true));
        job = this.queue.shift();
      }
      if (!job) return;
      this.start(slot, job);
    }
  }

  private start(slot: Slot, job: Job): void {
    slot.job = job;
    slot.id = this.nextId++;
    slot.worker.ref();
    slot.timer = setTimeout(() => this.expire(slot), this.timeoutMs);
    // A copy the worker owns (transferred, not cloned twice); the caller keeps its buffer.
    const copy = new Uint8Array(job.raw.length);
    copy.set(job.raw);
    slot.worker.postMessage({ id: slot.id, raw: copy }, [copy.buffer]);
  }

  /** The scan ran past the limit: stop its thread (which interrupts whatever it runs) and start another. */
  private expire(slot: Slot): void {
    const job = slot.job;
    if (!job || !this.slots.delete(slot)) return;
    this.finish(slot);
    this.replaced++;
    void slot.worker.terminate();
    job.reject(new ScanFailed(`content scan stopped after ${this.timeoutMs} ms`, true));
    instruments.spamScanFailures.add(1, { reason: 'timeout' });
    this.opts.log?.warn(
      { timeoutMs: this.timeoutMs, size: job.raw.length },
      'spam: content scan ran past its time limit; worker stopped and replaced',
    );
    if (!this.closed) this.spawn();
    this.pump();
  }
}
