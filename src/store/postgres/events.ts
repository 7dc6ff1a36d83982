// The EventBus of nodes that share one PostgreSQL database: every event is handed to this process's
// subscribers at once (as the in-process bus does) and sent to the other nodes with NOTIFY, whose LISTEN
// connection hands it to theirs. Without it an IMAP session in IDLE on one node heard of a delivery, a
// flag change or an expunge made through another node only at its periodic re-check (minutes later).
// Events are published after their commit, so a node that hears one reads the change. A node whose LISTEN
// connection dropped (or could not be made at first) may have missed some: once it listens again, every
// subscribed account is told to look again. The channel is named after the schema, so nodes on different schemas of one database
// (tests) do not hear each other.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { EventBus, MailEvent } from '../../core/ports.ts';
import { memoryEventBus } from '../../mailbox/events.ts';
import type { Logger } from '../../telemetry/log.ts';
import type { SqlDriver } from '../sql/driver.ts';

/** NOTIFY payloads must stay under 8000 octets; events are sent in batches below this. */
const MAX_PAYLOAD = 7000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;

type Wire = [accountId: number, mailboxId: number | null, modseq: number, kind: MailEvent['kind']];

export interface PostgresEventBus extends EventBus {
  close(): Promise<void>;
}

export function postgresEventBus(opts: { url: string; db: SqlDriver; log: Logger }): PostgresEventBus {
  const local = memoryEventBus();
  const { db, log } = opts;
  /** This process's mark on what it sends: its own notifications come back to it and are skipped. */
  const me = randomBytes(6).toString('base64url');
  let channel: Promise<string> | null = null;
  const named = (schema: string) => `petrel_mail_${createHash('sha256').update(schema).digest('hex').slice(0, 16)}`;
  const channelName = () =>
    (channel ??= db.get<{ s: string }>('SELECT current_schema() AS s').then((r) => named(r?.s ?? '')));
  // Channel failures are retried on next use.
  const channelOrReset = () =>
    channelName().catch((e) => {
      channel = null;
      throw e;
    });

  // ---- sending: batched, one NOTIFY in flight at a time ----
  let pending: Wire[] = [];
  let sending: Promise<void> | null = null;
  const drain = async () => {
    try {
      while (pending.length > 0) {
        const batch = pending;
        pending = [];
        const name = await channelOrReset();
        let part: Wire[] = [];
        let size = 0;
        const notify = async () => {
          if (part.length === 0) return;
          await db.run('SELECT pg_notify(?, ?)', [name, JSON.stringify({ n: me, e: part })]);
          part = [];
          size = 0;
        };
        for (const w of batch) {
          const len = JSON.stringify(w).length + 1;
          if (size + len > MAX_PAYLOAD - 40) await notify();
          part.push(w);
          size += len;
        }
        await notify();
      }
    } catch (e) {
      // The change is committed; the other nodes' sessions see it at their next command or re-check.
      log.warn({ err: (e as Error).message }, 'events: change not announced to the other nodes');
      pending = [];
    }
  };
  const flush = (): Promise<void> => (sending ??= drain().finally(() => (sending = null)));

  // ---- hearing: one LISTEN connection, made with the first subscription ----
  const counts = new Map<number, number>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | null = null;
  /** Whether listening was tried before: events may have been missed since. */
  let tried = false;

  const hear = (msg: pg.Notification) => {
    let body: { n?: string; e?: Wire[] };
    try {
      body = JSON.parse(msg.payload ?? '');
    } catch {
      return;
    }
    if (body.n === me || !Array.isArray(body.e)) return;
    for (const [accountId, mailboxId, modseq, kind] of body.e)
      if (counts.has(accountId)) local.publish({ accountId, ...(mailboxId !== null && { mailboxId }), modseq, kind });
  };

  /** After a gap in listening: every subscribed account looks at its mailbox again (expunges included). */
  const lookAgain = () => {
    for (const accountId of counts.keys()) local.publish({ accountId, modseq: 0, kind: 'expunge' });
  };

  const retry = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, RECONNECT_MAX_MS);
  };

  const connect = (): Promise<void> => {
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 5000 });
      c.on('error', () => {}); // 'end' follows and reconnects
      try {
        await c.connect();
        const name = await channelOrReset();
        c.on('notification', hear);
        await c.query(`LISTEN "${name}"`);
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'events: cannot listen for the other nodes; retrying');
        tried = true;
        await c.end().catch(() => {});
        retry();
        return;
      }
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
      retryMs = RECONNECT_MIN_MS;
      c.on('end', () => {
        if (client === c) client = null;
        if (!closed) {
          log.warn('events: connection for the other nodes lost; reconnecting');
          retry();
        }
      });
      if (tried) lookAgain();
      tried = true;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  return {
    publish(e) {
      local.publish(e);
      pending.push([e.accountId, e.mailboxId ?? null, e.modseq, e.kind]);
      if (!sending) setImmediate(() => void flush());
    },
    subscribe(accountId, fn) {
      counts.set(accountId, (counts.get(accountId) ?? 0) + 1);
      if (!client && !connecting && !retryTimer && !closed) void connect();
      const off = local.subscribe(accountId, fn);
      return () => {
        off();
        const n = (counts.get(accountId) ?? 1) - 1;
        if (n > 0) counts.set(accountId, n);
        else counts.delete(accountId);
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await connecting;
      const c = client;
      client = null;
      await c?.end().catch(() => {});
      await flush();
    },
  };
}
