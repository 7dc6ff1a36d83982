// What nodes sharing one PostgreSQL database tell each other, over NOTIFY/LISTEN: mail changes (IMAP IDLE
// on one node hears a delivery through another, events.ts) and sign-in failures (the brute-force limiter
// counts every node's). Each topic is a channel named after the topic and the schema, so nodes on other
// schemas of the database (tests) do not hear each other. Items are sent in batches after the current
// tick, one NOTIFY in flight per topic; this process's own notifications come back to it and are skipped.
// One LISTEN connection serves every topic, made when the first topic starts listening; when it drops it
// is made again, and each topic is told (`resumed`): what was sent meanwhile was missed.
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Logger } from '../../telemetry/log.ts';
import type { SqlDriver } from '../sql/driver.ts';

/** NOTIFY payloads must stay under 8000 octets; items are sent in batches below this. */
const MAX_PAYLOAD = 7000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/**
 * How often the listening connection is asked a query, and how long it may take: a connection whose
 * server vanished without closing it (a failover, a partition) would otherwise hear nothing, unnoticed.
 */
const HEARTBEAT_MS = 60_000;
const HEARTBEAT_TIMEOUT_MS = 15_000;

export interface Topic<T> {
  /** Sends an item (JSON) to the other nodes. */
  send(item: T): void;
  /** Starts hearing the other nodes' items (idempotent). */
  listen(): void;
}

export interface Notifier {
  /** `hear` gets the items another node sent; `resumed` runs when listening starts again after a gap. */
  topic<T>(name: string, hear: (items: T[]) => void, resumed?: () => void): Topic<T>;
  close(): Promise<void>;
}

export function postgresNotifier(opts: { url: string; db: SqlDriver; log: Logger; heartbeatMs?: number }): Notifier {
  const { db, log } = opts;
  const heartbeatMs = opts.heartbeatMs ?? HEARTBEAT_MS;
  /** This process's mark on what it sends. */
  const me = randomBytes(6).toString('base64url');
  let schema: Promise<string> | null = null;
  const channelOf = async (topic: string) => {
    schema ??= db.get<{ s: string }>('SELECT current_schema() AS s').then((r) => r?.s ?? '');
    try {
      const s = await schema;
      return `petrel_${topic}_${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;
    } catch (e) {
      schema = null; // asked again next time
      throw e;
    }
  };

  interface Listening {
    channel: string;
    hear: (items: unknown[]) => void;
    resumed?: () => void;
  }
  const listening = new Map<string, Listening>();
  /** Each topic's flush: close() sends what is still pending. */
  const flushes = new Set<() => Promise<void>>();
  let client: pg.Client | null = null;
  /** The channels the current connection listens on. */
  let active = new Set<string>();
  let connecting: Promise<void> | null = null;
  let closed = false;
  let retryMs = RECONNECT_MIN_MS;
  let retryTimer: NodeJS.Timeout | null = null;
  /** Whether a connection was tried before: a new one may have missed what was sent since. */
  let tried = false;

  const onNotification = (msg: pg.Notification) => {
    const l = [...listening.values()].find((x) => x.channel === msg.channel);
    if (!l) return;
    let body: { n?: string; e?: unknown[] };
    try {
      body = JSON.parse(msg.payload ?? '');
    } catch {
      return;
    }
    if (body.n === me || !Array.isArray(body.e)) return;
    try {
      l.hear(body.e);
    } catch (e) {
      log.warn({ err: (e as Error).message, channel: msg.channel }, 'notify: an item from another node failed');
    }
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

  const listenOn = async (c: pg.Client, on: Set<string>, channel: string) => {
    if (on.has(channel)) return;
    on.add(channel);
    await c.query(`LISTEN "${channel}"`);
  };

  /** Listens on a channel: on the connection there is, or on one made now. */
  const ensure = async (channel: string) => {
    await connecting;
    if (client) await listenOn(client, active, channel);
    else if (!retryTimer && !closed) await connect();
  };

  const connect = (): Promise<void> => {
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: opts.url, connectionTimeoutMillis: 5000 });
      c.on('error', () => {}); // 'end' follows and reconnects
      const on = new Set<string>();
      try {
        await c.connect();
        c.on('notification', onNotification);
        for (const l of listening.values()) await listenOn(c, on, l.channel);
      } catch (e) {
        log.warn({ err: (e as Error).message }, 'notify: cannot listen for the other nodes; retrying');
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
      active = on;
      retryMs = RECONNECT_MIN_MS;
      const heartbeat = setInterval(() => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), Math.min(HEARTBEAT_TIMEOUT_MS, heartbeatMs));
        });
        Promise.race([c.query('SELECT 1'), late])
          .catch(() => {
            // Dropped (end() cuts a connection whose query hangs) and made again ('end' below); the topics
            // are told they may have missed items.
            void c.end().catch(() => {});
          })
          .finally(() => clearTimeout(timer));
      }, heartbeatMs);
      heartbeat.unref();
      c.on('end', () => {
        clearInterval(heartbeat);
        if (client === c) client = null;
        if (!closed) {
          log.warn('notify: connection for the other nodes lost; reconnecting');
          retry();
        }
      });
      if (tried) for (const l of listening.values()) l.resumed?.();
      tried = true;
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  return {
    topic<T>(name: string, hear: (items: T[]) => void, resumed?: () => void): Topic<T> {
      let pending: T[] = [];
      let sending: Promise<void> | null = null;
      const drain = async () => {
        try {
          const channel = await channelOf(name);
          while (pending.length > 0) {
            const batch = pending;
            pending = [];
            let part: string[] = [];
            let size = 0;
            const notify = async () => {
              if (part.length === 0) return;
              await db.run('SELECT pg_notify(?, ?)', [channel, `{"n":"${me}","e":[${part.join(',')}]}`]);
              part = [];
              size = 0;
            };
            for (const item of batch) {
              const json = JSON.stringify(item);
              if (json.length > MAX_PAYLOAD - 40) continue;
              if (size + json.length + 1 > MAX_PAYLOAD - 40) await notify();
              part.push(json);
              size += json.length + 1;
            }
            await notify();
          }
        } catch (e) {
          log.warn({ err: (e as Error).message, topic: name }, 'notify: not sent to the other nodes');
          pending = [];
        }
      };
      const flush = (): Promise<void> => (sending ??= drain().finally(() => (sending = null)));
      flushes.add(flush);
      let joined: Promise<void> | null = null;
      return {
        send(item) {
          pending.push(item);
          if (!sending) setImmediate(() => void flush());
        },
        listen() {
          if (closed || joined) return;
          joined = channelOf(name)
            .then(async (channel) => {
              listening.set(name, { channel, hear: hear as (items: unknown[]) => void, resumed });
              await ensure(channel);
            })
            .catch((e) => {
              joined = null; // tried again at the next listen()
              log.warn({ err: (e as Error).message, topic: name }, 'notify: cannot listen');
            });
        },
      };
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      await connecting;
      const c = client;
      client = null;
      // Not waited for long: a connection to a server that vanished never answers its goodbye.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        c?.end().catch(() => {}),
        new Promise((r) => {
          timer = setTimeout(r, 2000);
        }),
      ]);
      clearTimeout(timer);
      await Promise.all([...flushes].map((f) => f()));
    },
  };
}
