// TCP listeners shared by every protocol: connection limits (total and per IP), implicit TLS,
// a registry of live sessions so shutdown can say goodbye to each.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../telemetry/log.ts';
import { instruments } from '../telemetry/metrics.ts';
import { clientKey, normaliseAddress } from './connection.ts';
import { PerMinuteLimit } from './rate.ts';
import { refusalLog } from './refusal-log.ts';
import type { ServerTls } from './tls.ts';
import { acceptTls } from './tls-accept.ts';

/** What a protocol session exposes to its listener. */
export interface LiveSession {
  /**
   * Shutdown begins: say the protocol's goodbye (SMTP 421, IMAP BYE, POP3 -ERR) and close, at once when
   * idle between commands, else once the running command has been answered (the grace period).
   */
  shutdown(reason: string): Promise<void> | void;
  /**
   * The grace period is over and the session is still busy: say the goodbye where the wire allows it at
   * this point (never inside a response already begun), end the connection, and acknowledge nothing that
   * is not committed. May wait for a commit in flight; the listener destroys the connection LAST_WORD_MS
   * later whatever happens.
   */
  hangUp(): Promise<void> | void;
}

/**
 * After the grace period, how long the last words (and a commit in flight) get before the connections are
 * destroyed: the goodbye goes out behind what the client has not read yet.
 */
export const LAST_WORD_MS = 2000;

export type RefusedReason = 'total' | 'per-ip' | 'rate';

export interface ListenerOptions {
  /** Listener name for logs and metrics (smtp, submission, imaps...). */
  name: string;
  host: string;
  port: number;
  /** Implicit TLS (465, 993, 995): the handshake happens before the protocol starts. */
  tls?: ServerTls;
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** New connections per minute from one IP before connections are refused (0 or absent: no limit). */
  connectionRatePerIp?: number;
  /** Called for each accepted connection; returns the live session (registered until the socket closes). */
  onConnection: (socket: Socket, info: { secure: boolean }) => LiveSession;
  /** Told when a connection is refused by a limit, to answer in the protocol (e.g. SMTP 421) before closing. */
  onRefused?: (socket: Socket, reason: RefusedReason) => void;
  log: Logger;
  /** Seconds a TLS handshake may take. */
  handshakeTimeoutMs?: number;
}

export interface Listener {
  readonly name: string;
  readonly port: number;
  readonly host: string;
  /** Live sessions now. */
  readonly sessions: Set<LiveSession>;
  /** Stops accepting; existing sessions go on. */
  stopAccepting(): Promise<void>;
  /**
   * Sends every session its goodbye and waits up to graceMs for them to close; then hangs up on the busy
   * ones (LiveSession.hangUp) and destroys what is still open LAST_WORD_MS later.
   */
  shutdown(graceMs: number): Promise<void>;
}

/** Waits until every socket has closed or the deadline has passed. */
async function untilClosed(sockets: Set<Socket>, deadline: number): Promise<void> {
  while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

export function startListener(opts: ListenerOptions): Promise<Listener> {
  const sessions = new Set<LiveSession>();
  const sockets = new Set<Socket>();
  const perIp = new Map<string, number>();
  const rate = new PerMinuteLimit(opts.connectionRatePerIp ?? 0);
  const refusals = refusalLog(opts.log, opts.name);
  // allowHalfOpen: a client's FIN does not end our side; the session answers what it pipelined before it,
  // then ends the connection itself (Connection.end).
  const server: Server = createServer({ pauseOnConnect: false, allowHalfOpen: true });
  server.maxConnections = opts.maxConnections + 64; // hard stop; the soft limit below answers politely

  server.on('connection', (socket: Socket) => {
    const ip = normaliseAddress(socket.remoteAddress ?? '');
    // The per-IP limits count an IPv6 client by its /64: one host holds all of it and could otherwise
    // take a fresh allowance per address (clientKey, as the sign-in limiter counts).
    const key = clientKey(ip);
    socket.on('error', () => {}); // errors surface through the session; an unhandled one must not kill us
    let reason: RefusedReason | null = null;
    if (sockets.size >= opts.maxConnections) reason = 'total';
    else if ((perIp.get(key) ?? 0) >= opts.maxConnectionsPerIp) reason = 'per-ip';
    else if (!rate.allow(key)) reason = 'rate';
    if (reason) {
      instruments.rejectedConnections.add(1, { listener: opts.name, reason });
      refusals.refused(ip, key, reason);
      if (opts.onRefused && !opts.tls) opts.onRefused(socket, reason);
      socket.end();
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    sockets.add(socket);
    perIp.set(key, (perIp.get(key) ?? 0) + 1);
    instruments.connections.add(1, { listener: opts.name });
    instruments.activeConnections.add(1, { listener: opts.name });
    let session: LiveSession | null = null;
    socket.once('close', () => {
      sockets.delete(socket);
      const n = (perIp.get(key) ?? 1) - 1;
      if (n <= 0) perIp.delete(key);
      else perIp.set(key, n);
      if (session) sessions.delete(session);
      instruments.activeConnections.add(-1, { listener: opts.name });
    });
    const start = (s: Socket, secure: boolean) => {
      try {
        session = opts.onConnection(s, { secure });
        sessions.add(session);
      } catch (e) {
        opts.log.error({ err: e, listener: opts.name }, 'session failed to start');
        socket.destroy();
      }
    };
    if (opts.tls) {
      acceptTls(socket, opts.tls, opts.handshakeTimeoutMs ?? 30000).then(
        (tls) => tls && start(tls as unknown as Socket, true),
        () => socket.destroy(),
      );
    } else start(socket, false);
  });

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      server.on('error', (e) => opts.log.error({ err: e, listener: opts.name }, 'listener error'));
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : opts.port;
      let stopped: Promise<void> | null = null;
      const listener: Listener = {
        name: opts.name,
        port,
        host: opts.host,
        sessions,
        stopAccepting() {
          stopped ??= new Promise<void>((r) => server.close(() => r()));
          refusals.stop();
          return stopped;
        },
        async shutdown(graceMs) {
          const closed = listener.stopAccepting();
          await Promise.allSettled([...sessions].map((s) => s.shutdown('server shutting down')));
          await untilClosed(sockets, Date.now() + graceMs);
          if (sessions.size > 0) {
            opts.log.info({ listener: opts.name, sessions: sessions.size }, 'grace period over: hanging up');
            const lastWords = Date.now() + LAST_WORD_MS;
            await Promise.race([
              Promise.allSettled([...sessions].map((s) => s.hangUp())),
              new Promise((r) => setTimeout(r, LAST_WORD_MS).unref()),
            ]);
            await untilClosed(sockets, lastWords);
          }
          for (const s of sockets) s.destroy();
          await closed;
        },
      };
      resolve(listener);
    });
  });
}
