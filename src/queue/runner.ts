// The queue runner: leases due recipients, delivers each destination domain in its own task (a bounded
// number at once, and per destination domain, renewing its leases while it runs), records outcomes and
// sends DSNs (one per message per pass, whatever the number of its destinations), sleeps until the next due
// time or a kick. Where nodes share the store, each session also holds one of its domain's slots in it
// (destination-slots.ts), so queue.destination_concurrency holds for the cluster. On stop, running deliveries get a grace period, then are cut short and their unsettled
// leases released.
import type { AppendItem, AppendResult, QueuedDsn, QueueEntry, QueueStore, RecipientUpdate } from '../core/ports.ts';
import type { Logger } from '../telemetry/log.ts';
import type { SessionSlots } from './destination-slots.ts';
import { type Decision, decide, type Outcome, type QueuePolicy } from './policy.ts';

export interface RunnerDeps {
  store: QueueStore;
  /** This node's lease owner name: the same across restarts (a crashed run's leases are released at start). */
  owner: string;
  leaseMs: number;
  pollMs: number;
  concurrency: number;
  /** Connections to one destination domain at once, over every lease pass (queue.destination_concurrency). */
  perDestination: number;
  /**
   * The cluster's sessions per domain (several nodes on one store): a task starts only with a slot taken
   * there. Absent for a single node, whose own count is the whole truth.
   */
  slots?: SessionSlots;
  policy: QueuePolicy;
  log: Logger;
  now?: () => number;
  /**
   * Delivers; starts no new transaction after `deadline` (what is left is released and leased again); tells
   * `settled` each message's outcomes as its transaction ends.
   */
  deliver(
    domain: string,
    entries: QueueEntry[],
    signal: AbortSignal,
    deadline: number,
    settled: (entry: QueueEntry, outcomes: Map<number, Outcome>) => void,
  ): Promise<Map<number, Outcome>>;
  /**
   * Makes the one DSN a message's reportable decisions call for, as what is written with the outcomes: its
   * queue row (a remote sender) or mailbox rows (a local sender); null for none. Throws when it cannot be
   * made: the outcomes it reports are then not recorded, and tried again.
   */
  report(entry: QueueEntry, decisions: Decision[]): Promise<Omit<QueuedDsn, 'rcpts'> | null>;
  /** Tells the mailboxes' watchers of DSN rows the outcomes' transaction appended. */
  announce(rows: AppendItem[], results: AppendResult[]): void;
}

/** A message of a run with the outcomes of its recipients that ended (a transaction, or the run's end). */
interface Settled {
  entry: QueueEntry;
  outcomes: Map<number, Outcome>;
}

/**
 * A message of one lease pass, over every destination task it is in. Its outcomes that call for a DSN are
 * held (their leases renewed) until none of its recipients is in flight any more, then recorded together
 * with one DSN for all of them (RFC 3464 section 2: one report, a per-recipient group each; Postfix sends
 * one bounce per message, not one per destination).
 */
interface PassMessage {
  /** The message with all of its recipients in this pass. */
  entry: QueueEntry;
  /** Recipients of it being delivered now (neither settled nor released). */
  inFlight: Set<number>;
  /** Decisions with a report, waiting for the rest of the message. */
  held: Decision[];
  /**
   * When the pass began: every outcome of the message in it is decided as of this time, so recipients deferred
   * at several destinations get the same next attempt and expire in the same later pass (one bounce, as
   * Postfix retries a message's deferred recipients together), however long each destination took.
   */
  startedAt: number;
}

/** The messages of one lease pass, by message id. */
type Pass = Map<number, PassMessage>;

/** One session's work: a destination domain, the messages for it, and the cluster slot it holds (if any). */
interface Task {
  domain: string;
  entries: QueueEntry[];
  slot?: number;
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
  /** Running tasks per destination domain. */
  private readonly perDomain = new Map<string, number>();
  /**
   * Domains whose slots the other nodes hold (a take came back short), with when to look again: not leased
   * until then (their sessions ending do not wake us), or until one of ours to the domain ends.
   */
  private readonly clusterBusy = new Map<string, number>();
  private readonly abort = new AbortController();
  /** Recipients whose held outcomes wait for the rest of their message: their leases are renewed. */
  private readonly holding = new Set<number>();
  private holdRenewal: NodeJS.Timeout | null = null;

  constructor(deps: RunnerDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    // Held outcomes outlive the destination task that renewed their leases: renewed here until recorded.
    this.holdRenewal = setInterval(
      () => {
        if (this.holding.size === 0) return;
        this.deps.store
          .renew(this.deps.owner, [...this.holding], this.now() + this.deps.leaseMs)
          .catch((e) => this.deps.log.warn({ err: e }, 'queue: lease renewal failed'));
      },
      Math.max(100, this.deps.leaseMs / 3),
    );
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

  /** Domains with as many tasks running as queue.destination_concurrency allows, here or in the cluster. */
  private busyDomains(): string[] {
    const busy = [...this.perDomain].filter(([, n]) => n >= this.deps.perDestination).map(([d]) => d);
    const now = this.now();
    for (const [d, until] of this.clusterBusy)
      if (until <= now) this.clusterBusy.delete(d);
      else if (!busy.includes(d)) busy.push(d);
    return busy;
  }

  private async loop(): Promise<void> {
    const { store, owner, leaseMs, concurrency, log } = this.deps;
    // Leases this node id holds at start belong to a run of it that died (SIGKILL, a crash): nothing works
    // on them any more, so they are due now rather than when queue.lease runs out.
    const orphaned = await store.release(owner).catch((e) => {
      log.error({ err: e }, 'queue: releasing the leases of a previous run failed');
      return 0;
    });
    if (orphaned) log.warn({ recipients: orphaned, owner }, 'queue: took back the leases of a previous run');
    while (!this.stopping) {
      // A burst of enqueues is leased together rather than one transaction each.
      if (this.kicked) await new Promise((r) => setTimeout(r, 10));
      this.kicked = false;
      let full = false;
      const free = concurrency - this.active.size;
      if (free > 0) {
        try {
          // Only what free slots can start now, and nothing for a domain at its limit: the rest stays in
          // the store, unleased (another node may take it; a node that dies holds nothing it had not begun).
          // A message with more due recipients than this (or more domains than free slots) is finished by
          // later passes, each with its own DSN: Postfix's one per message would need outcomes kept across
          // passes (docs/architecture.md, the outbound queue).
          const limit = free * 50;
          const batch = await store.lease(owner, this.now(), leaseMs, limit, this.busyDomains());
          full = batch.reduce((n, e) => n + e.recipients.length, 0) >= limit;
          const left = await this.startTasks(batch);
          if (left.length)
            await store.release(owner, left).catch((e) => log.warn({ err: e }, 'queue: releasing leases failed'));
        } catch (e) {
          log.error({ err: e }, 'queue: lease failed');
        }
      }
      if (this.active.size >= concurrency) {
        // Saturated: a finishing task kicks us.
        await this.sleep(this.deps.pollMs);
        continue;
      }
      if (full) continue;
      let wait = this.deps.pollMs;
      try {
        // Mail for a busy domain is due when one of its tasks ends, which kicks us.
        const due = await store.nextDue(this.busyDomains());
        if (due !== null) wait = Math.min(wait, due - this.now());
      } catch {}
      await this.sleep(Math.max(wait, 20));
    }
  }

  /**
   * Starts a leased batch as tasks per destination domain (a few per domain when it has much mail, within
   * queue.destination_concurrency counting the tasks already running, and the cluster's when it has slots);
   * returns the recipient ids that no free slot can take now (to be released).
   */
  private async startTasks(batch: QueueEntry[]): Promise<number[]> {
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
    const left: number[] = [];
    const tasks: Task[] = [];
    const pass: Pass = new Map();
    const startedAt = this.now();
    const wanted = this.sessionsWanted(byDomain);
    const granted = await this.takeSlots(wanted);
    for (const [domain, list] of byDomain) {
      const slots = granted?.get(domain) ?? [];
      const runs = granted ? slots.length : (wanted.get(domain) ?? 0);
      if (this.stopping || runs <= 0) {
        for (const slot of slots) this.deps.slots?.give(domain, slot);
        for (const e of list) for (const r of e.recipients) left.push(r.id);
        continue;
      }
      const size = Math.ceil(list.length / runs);
      for (let i = 0, k = 0; i < list.length; i += size, k++)
        tasks.push({ domain, entries: list.slice(i, i + size), slot: slots[k] });
      // Fewer pieces than slots (rounding): the spare ones go back.
      for (const slot of slots.slice(Math.ceil(list.length / size))) this.deps.slots?.give(domain, slot);
      // What this pass starts of each message, whichever tasks carry it (the released part is not in it).
      for (const e of list) {
        let pm = pass.get(e.message.id);
        if (!pm) {
          pm = { entry: { message: e.message, recipients: [] }, inFlight: new Set(), held: [], startedAt };
          pass.set(e.message.id, pm);
        }
        for (const r of e.recipients) {
          pm.entry.recipients.push(r);
          pm.inFlight.add(r.id);
        }
      }
    }
    for (const t of tasks) this.startTask(t, pass);
    return left;
  }

  /**
   * How many sessions to start per domain: a connection per ten messages at most (a few messages share one
   * session, many spread over several), within queue.destination_concurrency less the domain's running
   * tasks, and within queue.concurrency over all domains.
   */
  private sessionsWanted(byDomain: Map<string, QueueEntry[]>): Map<string, number> {
    const wanted = new Map<string, number>();
    let running = this.active.size;
    for (const [domain, list] of byDomain) {
      const room = Math.min(
        this.deps.perDestination - (this.perDomain.get(domain) ?? 0),
        this.deps.concurrency - running,
      );
      if (this.stopping || room <= 0) continue;
      const runs = Math.min(room, Math.ceil(list.length / 10));
      // As many as the split makes (rounding may make fewer pieces than runs).
      const pieces = Math.ceil(list.length / Math.ceil(list.length / runs));
      wanted.set(domain, pieces);
      running += pieces;
    }
    return wanted;
  }

  /**
   * The cluster's say (null without slots: a single node): the slots taken per domain, maybe fewer than
   * wanted. A domain that came back short is left alone until one of our sessions to it ends or for
   * queue.poll_interval, rather than leased and released again at every pass.
   */
  private async takeSlots(wanted: Map<string, number>): Promise<Map<string, number[]> | null> {
    const slots = this.deps.slots;
    if (!slots) return null;
    const granted = new Map<string, number[]>();
    for (const [domain, want] of wanted) {
      const got = await slots.take(domain, want);
      granted.set(domain, got);
      if (got.length < want) this.clusterBusy.set(domain, this.now() + this.deps.pollMs);
    }
    return granted;
  }

  private startTask({ domain, entries, slot }: Task, pass: Pass) {
    this.perDomain.set(domain, (this.perDomain.get(domain) ?? 0) + 1);
    const task: Promise<void> = this.runDestination(domain, entries, pass).finally(() => {
      this.active.delete(task);
      const n = (this.perDomain.get(domain) ?? 1) - 1;
      if (n > 0) this.perDomain.set(domain, n);
      else this.perDomain.delete(domain);
      // Our own session's slot is free now: the domain has room again.
      if (slot !== undefined) {
        this.deps.slots?.give(domain, slot);
        this.clusterBusy.delete(domain);
      }
      this.kick();
    });
    this.active.add(task);
  }

  private async runDestination(domain: string, entries: QueueEntry[], pass: Pass): Promise<void> {
    const { store, owner, log, leaseMs } = this.deps;
    const ids = entries.flatMap((e) => e.recipients.map((r) => r.id));
    // While the run lasts its leases are renewed: a slow server (a reply to the final dot may take 10
    // minutes, RFC 5321 section 4.5.3.2.6) must not let the lease run out and the recipients be leased
    // and sent again by a second session while the first one is still waiting.
    let renewing = false;
    const renewal = setInterval(
      () => {
        if (renewing) return;
        renewing = true;
        store
          .renew(owner, ids, this.now() + leaseMs)
          .catch((e) => log.warn({ err: e, domain }, 'queue: lease renewal failed'))
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(100, leaseMs / 3),
    );
    // Each message's outcomes are recorded as its transaction ends, while the run goes on (those that end
    // meanwhile together, in one commit): a crash later in the run then sends again only what was in flight,
    // not every message the remote server had already taken before it (and DSNs not again for those either).
    const early = new Set<number>();
    let waiting: Settled[] = [];
    let recording: Promise<void> | null = null;
    const drain = async () => {
      while (waiting.length) {
        const batch = waiting;
        waiting = [];
        // Caught here: nobody awaits this promise until the run ends, and a rejection left until then would
        // end the process (an unhandled rejection). The leases of what was not recorded expire.
        await this.record(domain, pass, batch).catch((e) => log.error({ err: e, domain }, 'queue: recording failed'));
      }
      recording = null;
    };
    const settled = (entry: QueueEntry, outcomes: Map<number, Outcome>) => {
      for (const id of outcomes.keys()) early.add(id);
      waiting.push({ entry, outcomes });
      recording ??= drain();
    };
    let outcomes: Map<number, Outcome>;
    try {
      // Half the lease, counted from now: a long run stops starting transactions and leaves the rest to a
      // new lease, so one destination's backlog does not keep a slot for ever.
      outcomes = await this.deps.deliver(domain, entries, this.abort.signal, Date.now() + leaseMs / 2, settled);
    } catch (e) {
      log.error({ err: e, domain }, 'queue: delivery attempt failed unexpectedly');
      outcomes = new Map();
      for (const en of entries)
        for (const r of en.recipients)
          outcomes.set(r.id, { kind: 'deferred', reply: 'internal error', status: '4.3.0', remoteMta: null });
    } finally {
      clearInterval(renewal);
    }
    await recording;
    const unsettled: number[] = [];
    const rest: Settled[] = [];
    const released: PassMessage[] = [];
    for (const entry of entries) {
      const o = new Map<number, Outcome>();
      const pm = pass.get(entry.message.id)!;
      for (const r of entry.recipients) {
        if (early.has(r.id)) continue;
        const x = outcomes.get(r.id);
        if (x) o.set(r.id, x);
        else {
          unsettled.push(r.id);
          // No longer in flight: what the rest of its message holds need not wait for it.
          pm.inFlight.delete(r.id);
          released.push(pm);
        }
      }
      if (o.size) rest.push({ entry, outcomes: o });
    }
    await this.record(domain, pass, rest, released);
    if (unsettled.length) await store.release(owner, unsettled).catch(() => {});
  }

  /**
   * Records some messages' outcomes in one transaction. Outcomes that call for a DSN wait in their message's
   * pass entry until none of its recipients is in flight; then they go with the message's one DSN, written in
   * this same transaction (a remote sender's queued, a local sender's appended to the mailbox): a crash
   * leaves both or neither. `released` are pass messages some of whose recipients were given back unsettled
   * (they may now be complete).
   */
  private async record(domain: string, pass: Pass, items: Settled[], released: PassMessage[] = []): Promise<void> {
    const { store, owner, log, policy } = this.deps;
    const all: { entry: QueueEntry; decision: Decision }[] = [];
    const touched = new Set<PassMessage>(released);
    // Synchronous up to the first await: a message completed here is claimed by this call alone.
    for (const { entry: en, outcomes } of items) {
      const pm = pass.get(en.message.id)!;
      touched.add(pm);
      for (const r of en.recipients) {
        const o = outcomes.get(r.id);
        if (!o) continue;
        const decision = decide(en.message, r, o, pm.startedAt, policy);
        pm.inFlight.delete(r.id);
        if (decision.report) {
          pm.held.push(decision);
          this.holding.add(r.id);
        } else all.push({ entry: pm.entry, decision });
      }
    }
    const complete: { pm: PassMessage; held: Decision[] }[] = [];
    for (const pm of touched)
      if (pm.inFlight.size === 0 && pm.held.length) {
        complete.push({ pm, held: pm.held });
        pm.held = [];
      }
    const dsns: QueuedDsn[] = [];
    const claimed = complete.flatMap(({ held }) => held.map((d) => d.update.id));
    try {
      for (const { pm, held } of complete) {
        // DSNs are made before the outcome is recorded: recording may delete the message and its content.
        let dsn: Omit<QueuedDsn, 'rcpts'> | null;
        try {
          dsn = await this.deps.report(pm.entry, held);
        } catch (e) {
          // Never recorded without its DSN (that would lose it): the leases run out and the pass is tried again.
          log.error(
            { err: e, queueId: pm.entry.message.queueId, rcpts: held.length },
            'queue: DSN could not be made; its outcomes are left unrecorded, to be tried again when their leases expire',
          );
          continue;
        }
        if (dsn) dsns.push({ rcpts: held.map((d) => d.update.id), ...dsn });
        for (const decision of held) all.push({ entry: pm.entry, decision });
      }
      if (all.length === 0) return;
      const updates: RecipientUpdate[] = all.map((x) => x.decision.update);
      const { done, queued, appended } = await store.update(owner, updates, dsns);
      for (const a of appended) this.deps.announce(dsns[a.dsn].local ?? [], a.results);
      for (const { message: q } of dsns)
        if (q && queued.includes(q.queueId))
          log.info({ queueId: q.queueId, from: q.from, rcpts: q.recipients.length, size: q.size }, 'queue: accepted');
      if (queued.length) this.kick();
      for (const { entry, decision: d } of all)
        log.info(
          {
            queueId: entry.message.queueId,
            rcpt: entry.recipients.find((r) => r.id === d.update.id)?.address,
            status: d.update.status,
            attempts: d.update.attempts,
            reply: d.update.lastReply,
          },
          `queue: ${d.update.status === 'queued' ? 'deferred' : d.update.status}`,
        );
      for (const id of done) log.debug({ queueId: id }, 'queue: message done');
    } catch (e) {
      log.error({ err: e, domain }, 'queue: recording outcomes failed; the leases will expire');
    } finally {
      // Recorded, or left to expire: no longer renewed.
      for (const id of claimed) this.holding.delete(id);
    }
  }

  /**
   * Stops leasing; lets running deliveries finish for up to graceMs, then cuts them short (their
   * unsettled recipients are released for retry) and releases every lease this node still holds.
   */
  async stop(graceMs: number): Promise<void> {
    if (!this.running) return;
    this.stopping = true;
    this.wake?.();
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
    if (this.holdRenewal) clearInterval(this.holdRenewal);
    this.holdRenewal = null;
    await this.deps.slots?.stop();
    await this.deps.store.release(this.deps.owner).catch(() => {});
    this.running = false;
  }
}
