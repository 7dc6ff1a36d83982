// What other processes on one SQLite database tell the server, over a Unix socket in the data directory
// (the SQLite counterpart of postgres/notify.ts, same Notifier): the `petrel` command is a process of its
// own, and without this an account it removed, disabled or gave a new password kept its IMAP and POP3
// sessions on the running server. The serving process listens (a topic's listen()) and sends nothing: on
// SQLite it is the only server, so it alone has sessions to tell. Other processes send each batch of items
// as one JSON line on a connection of its own; with nobody listening (no server running) it is dropped.
// The socket is the owner's only (0600, in the data directory).
import { randomBytes } from 'node:crypto';
import { chmodSync, rmSync, statSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import type { Logger } from '../../telemetry/log.ts';
import type { Notifier, Topic } from '../postgres/notify.ts';

/** A line longer than this is not ours: the connection is dropped. */
const MAX_LINE = 1024 * 1024;

export function socketNotifier(opts: { path: string; log: Logger }): Notifier {
  const { path, log } = opts;
  const me = randomBytes(6).toString('base64url');
  const hearers = new Map<string, (items: unknown[]) => void>();
  const flushes = new Set<() => Promise<void>>();
  let server: Server | null = null;
  /** The socket file this process made (a later server's, made meanwhile, is left alone at close). */
  let made: number | null = null;
  let closed = false;

  const heard = (line: string) => {
    let body: { t?: string; n?: string; e?: unknown[] };
    try {
      body = JSON.parse(line);
    } catch {
      return;
    }
    const hear = typeof body.t === 'string' ? hearers.get(body.t) : undefined;
    if (!hear || body.n === me || !Array.isArray(body.e)) return;
    try {
      hear(body.e);
    } catch (e) {
      log.warn({ err: (e as Error).message, topic: body.t }, 'notify: an item from another process failed');
    }
  };

  const startServer = () => {
    if (server || closed) return;
    const s = createServer((c) => {
      let buf = '';
      c.setEncoding('utf8');
      c.on('error', () => {});
      c.on('data', (d: string) => {
        buf += d;
        if (buf.length > MAX_LINE) c.destroy();
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          heard(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
    });
    server = s;
    s.on('error', (e) => log.warn({ err: e.message, path }, 'notify: cannot hear other processes (CLI changes)'));
    // A socket file left by a killed server answers nobody: made anew.
    rmSync(path, { force: true });
    s.listen(path, () => {
      try {
        chmodSync(path, 0o600);
        made = statSync(path).ino;
      } catch {}
    });
    s.unref();
  };

  const send = (line: string) =>
    new Promise<void>((resolve) => {
      const c = connect(path);
      c.on('error', () => resolve()); // nobody listening: no server running
      c.on('close', () => resolve());
      c.end(line);
    });

  return {
    topic<T>(name: string, hear: (items: T[]) => void): Topic<T> {
      let pending: T[] = [];
      let sending: Promise<void> | null = null;
      const drain = async () => {
        while (pending.length > 0) {
          const batch = pending;
          pending = [];
          await send(`${JSON.stringify({ t: name, n: me, e: batch })}\n`);
        }
      };
      const flush = (): Promise<void> => (sending ??= drain().finally(() => (sending = null)));
      flushes.add(flush);
      return {
        send(item) {
          if (server) return;
          pending.push(item);
          if (!sending) setImmediate(() => void flush());
        },
        listen() {
          hearers.set(name, hear as (items: unknown[]) => void);
          startServer();
        },
      };
    },
    async close() {
      closed = true;
      await Promise.all([...flushes].map((f) => f()));
      const s = server;
      server = null;
      if (s) {
        await new Promise<void>((r) => s.close(() => r()));
        try {
          if (made !== null && statSync(path).ino === made) rmSync(path, { force: true });
        } catch {}
      }
    },
  };
}
