// The queue runner: leases due recipients, delivers each destination domain in its own task (a bounded
// number at once), records outcomes and sends DSNs, sleeps until the next due time or a kick. On stop,
// running deliveries get a grace period, then are cut short and their unsettled leases released.
import type { QueueEntry, QueueStore } from '../core/ports.ts';
import type { Logger } from '../telemetry/log.ts';
import { type Decision, decide, type Outcome, type QueuePolicy } from './policy.ts';

export interface RunnerDeps {
  store: QueueStore;
  /** This node's lease owner name. */
  owner: string;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
  policy: QueuePolicy;
  log: Logger;
  now?: () => number;
  deliver(domain: string, entries: QueueEntry[], signal: AbortSignal): Promise<Map<number, Outcome>>;
  /** Sends the DSNs one message's decisions call for; must not throw for a single undeliverable DSN. */
  report(entry: QueueEntry, decisions: Decision[]): Promise<void>;
}

export class QueueRunner {
  private readonly deps: RunnerDeps;
  private readonly now: () => number;
  private running = false;
  private stopping = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private kicked = false;
  private readonly active = new Set<Promise<void>>();
  private readonly waiting: [string, QueueEntry[]][] = [];
  private readonly abort = new AbortController();

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop().catch((e) => this.deps.log.error({ err: e }, 'queue runner stopped on an error'));
  }

  /** New work may be due (an enqueue, a retry from the CLI): look now instead of at the next timer. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  private async sleep(ms: number): Promise<void> {
    if (this.kicked || this.stopping) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
    this.wake = null;
  }

  private async loop(): Promise<void> {
    const { store, owner, leaseMs, concurrency, log } = this.deps;
    while (!this.stopping) {
      this.kicked = false;
      let full = false;
      if (this.waiting.length === 0 && this.active.size < concurrency) {
        try {
          const limit = concurrency * 50;
          const batch = await store.lease(owner, this.now(), leaseMs, limit);
          full = batch.reduce((n, e) => n + e.recipients.length, 0) >= limit;
          this.enqueueTasks(batch);
        } catch (e) {
          log.error({ err: e }, 'queue: lease failed');
        }
      }
      this.pump();
      if (this.waiting.length || this.active.size >= concurrency) {
        // Saturated: a finishing task kicks us.
        await this.sleep(this.deps.pollMs);
        continue;
      }
      if (full) continue;
      let wait = this.deps.pollMs;
      try {
        const due = await store.nextDue();
        if (due !== null) wait = Math.min(wait, due - this.now());
      } catch {}
      await this.sleep(Math.max(wait, 20));
    }
  }

  /** Splits a leased batch into one task per destination domain. */
  private enqueueTasks(batch: QueueEntry[]) {
    const byDomain = new Map<string, QueueEntry[]>();
    for (const e of batch)
      for (const r of e.recipients) {
        const list = byDomain.get(r.domain) ?? [];
        let entry = list.find((x) => x.message.id === e.message.id);
        if (!entry) {
          entry = { message: e.message, recipients: [] };
          list.push(entry);
        }
        entry.recipients.push(r);
        byDomain.set(r.domain, list);
      }
    for (const item of byDomain) this.waiting.push(item);
  }

  private pump() {
    while (!this.stopping && this.waiting.length && this.active.size < this.deps.concurrency) {
      const [domain, entries] = this.waiting.shift()!;
      const task: Promise<void> = this.runDestination(domain, entries).finally(() => {
        this.active.delete(task);
        this.kick();
      });
      this.active.add(task);
    }
  }

  private async runDestination(domain: string, entries: QueueEntry[]): Promise<void> {
    const { store, owner, log, policy } = this.deps;
    let outcomes: Map<number, Outcome>;
    try {
      outcomes = await this.deps.deliver(domain, entries, this.abort.signal);
    } catch (e) {
      log.error({ err: e, domain }, 'queue: delivery attempt failed unexpectedly');
      outcomes = new Map();
      for (const en of entries)
        for (const r of en.recipients)
          outcomes.set(r.id, { kind: 'deferred', reply: 'internal error', status: '4.3.0', remoteMta: null });
    }
    const now = this.now();
    const unsettled: number[] = [];
    for (const en of entries) {
      const decisions: Decision[] = [];
      for (const r of en.recipients) {
        const o = outcomes.get(r.id);
        if (o) decisions.push(decide(en.message, r, o, now, policy));
        else unsettled.push(r.id);
      }
      if (decisions.length === 0) continue;
      try {
        // DSNs go out before the outcome is recorded: recording may delete the message and its content.
        if (decisions.some((d) => d.report)) await this.deps.report(en, decisions);
        const done = await store.update(
          owner,
          decisions.map((d) => d.update),
        );
        for (const d of decisions)
          log.info(
            {
              queueId: en.message.queueId,
              rcpt: en.recipients.find((r) => r.id === d.update.id)?.address,
              status: d.update.status,
              attempts: d.update.attempts,
              reply: d.update.lastReply,
            },
            `queue: ${d.update.status === 'queued' ? 'deferred' : d.update.status}`,
          );
        for (const id of done) log.debug({ queueId: id }, 'queue: message done');
      } catch (e) {
        log.error({ err: e, queueId: en.message.queueId }, 'queue: recording outcomes failed; the lease will expire');
      }
    }
    if (unsettled.length) await store.release(owner, unsettled).catch(() => {});
  }

  /**
   * Stops leasing; lets running deliveries finish for up to graceMs, then cuts them short (their
   * unsettled recipients are released for retry) and releases every lease this node still holds.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wake?.();
    this.waiting.length = 0;
    await this.loopDone;
    if (this.active.size) {
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((r) => {
        timer = setTimeout(r, graceMs);
      });
      await Promise.race([Promise.allSettled([...this.active]), grace]);
      clearTimeout(timer);
      this.abort.abort();
      await Promise.allSettled([...this.active]);
    }
    await this.deps.store.release(this.deps.owner).catch(() => {});
    this.running = false;
  }
}
