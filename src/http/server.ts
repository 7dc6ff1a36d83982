// The HTTP listener: health and readiness now; the seat for web admin, JMAP and OAuth later.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNet, type Socket } from 'node:net';
import { clientKey, normaliseAddress } from '../net/connection.ts';
import { forwardedClient } from '../net/forwarded.ts';
import { PerMinuteLimit } from '../net/rate.ts';
import { refusalLog } from '../net/refusal-log.ts';
import type { ServerTls } from '../net/tls.ts';
import { acceptTls } from '../net/tls-accept.ts';
import type { Logger } from '../telemetry/log.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface HttpDeps {
  /** True when the store answers (readiness). */
  ready: () => Promise<boolean>;
  log: Logger;
  /** Extra routes by exact path, added by later features (JMAP, admin API). */
  routes?: Map<string, Handler>;
  /**
   * Routes by path prefix, tried in order after exact paths (e.g. /.well-known/acme-challenge/, /oauth/).
   * A prefix without a final "/" owns itself and what is below it: "/account" takes "/account/2fa", not "/accounts".
   */
  prefixes?: [string, Handler][];
}

function underPrefix(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function json(res: ServerResponse, status: number, body: unknown) {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

export function httpHandler(deps: HttpDeps): Handler {
  return async (req, res) => {
    // RFC 9112 section 3.2.2: a server MUST accept the absolute form ("GET http://host/path") and take the
    // host from it, not from Host; every route below reads the origin form. No user name (RFC 9110 4.2.4).
    const absolute = /^https?:\/\/([^/?#]*)/i.exec(req.url ?? '');
    if (absolute) {
      if (absolute[1].includes('@') || !absolute[1]) return json(res, 400, { error: 'bad request target' });
      const rest = (req.url ?? '').slice(absolute[0].length);
      req.url = rest.startsWith('/') ? rest : `/${rest}`;
      req.headers.host = absolute[1];
    }
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/healthz' && (req.method === 'GET' || req.method === 'HEAD'))
        return json(res, 200, { status: 'ok' });
      if (path === '/readyz' && (req.method === 'GET' || req.method === 'HEAD')) {
        const ok = await deps.ready().catch(() => false);
        return json(res, ok ? 200 : 503, { status: ok ? 'ready' : 'store unavailable' });
      }
      const h = deps.routes?.get(path);
      if (h) return await h(req, res);
      const mounted = deps.prefixes?.find(([p]) => underPrefix(path, p));
      if (mounted) return await mounted[1](req, res);
      json(res, 404, { error: 'not found' });
    } catch (e) {
      deps.log.error({ err: e, path }, 'http handler failed');
      if (!res.headersSent) json(res, 500, { error: 'internal error' });
      else res.destroy();
    }
  };
}

export interface HttpListener {
  port: number;
  close(graceMs: number): Promise<void>;
}

/** Connection and request limits of the HTTP listener (listeners.http). */
export interface HttpLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Requests per minute from one IP before 429 (0: no limit). */
  requestsPerMinutePerIp: number;
}

const DEFAULT_LIMITS: HttpLimits = { maxConnections: 10000, maxConnectionsPerIp: 200, requestsPerMinutePerIp: 1200 };

/**
 * Whom a request's rate is counted against: the socket's address, or behind a trusted reverse proxy
 * (oauth.trust_proxy) the last X-Forwarded-For entry, the address the proxy appended (the entries before
 * it are the client's to write; net/forwarded.ts), as the OAuth endpoints read it. Without this every user behind the proxy
 * shares one allowance.
 */
export function requestClient(req: IncomingMessage, trustProxy: boolean): string {
  const socket = normaliseAddress(req.socket.remoteAddress ?? '');
  return trustProxy ? forwardedClient(req.headers['x-forwarded-for'], socket) : socket;
}

/**
 * Whether the client's own connection is HTTPS: ours when we serve TLS, else, behind a trusted proxy, what its
 * X-Forwarded-Proto says (the first value, as Koa's ctx.protocol reads it for the OAuth pages' Secure cookies).
 */
function overHttps(req: IncomingMessage, tls: boolean, trustProxy: boolean): boolean {
  if (tls) return true;
  const proto = trustProxy ? req.headers['x-forwarded-proto'] : undefined;
  return typeof proto === 'string' && proto.split(',')[0].trim().toLowerCase() === 'https';
}

/**
 * The Strict-Transport-Security value for listeners.http.hsts_*, or undefined when it is off (max-age -1, the
 * default). 0 is sent as it is: max-age=0 tells a browser to forget the rule (RFC 6797 section 6.1.1).
 */
export function hstsValue(maxAgeS: number, includeSubDomains: boolean): string | undefined {
  if (maxAgeS < 0) return undefined;
  // RFC 6797 section 6.1: max-age in seconds, then the valueless includeSubDomains directive.
  return `max-age=${maxAgeS}${includeSubDomains ? '; includeSubDomains' : ''}`;
}

export function startHttp(
  opts: {
    host: string;
    port: number;
    tls?: ServerTls;
    limits?: HttpLimits;
    trustProxy?: boolean;
    /** Strict-Transport-Security value for answers over HTTPS (hstsValue); none when absent. */
    hsts?: string;
  },
  deps: HttpDeps,
): Promise<HttpListener> {
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const handler = httpHandler(deps);
  // Unauthenticated endpoints (the OAuth login, autoconfig) must not let one client fill the store or the CPU.
  const requests = new PerMinuteLimit(limits.requestsPerMinutePerIp);
  const server: Server = createHttp((req: IncomingMessage, res: ServerResponse) => {
    // Every answer: a browser takes the type as given, never guesses HTML or script from a body; and a page
    // (a Junk report link with its token, a device code) gives other sites its origin only, never its URL.
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'strict-origin-when-cross-origin');
    // RFC 6797 section 7.2: only over secure transport (a browser ignores it over HTTP, section 8.1, and one
    // sent there could be a forger's); the 429 below and every handler's answer carry it.
    if (opts.hsts && overHttps(req, !!opts.tls, opts.trustProxy ?? false))
      res.setHeader('strict-transport-security', opts.hsts);
    // An IPv6 client counts by its /64 (clientKey): one host holds all of it.
    if (!requests.allow(clientKey(requestClient(req, opts.trustProxy ?? false)))) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60', connection: 'close' });
      res.end('{"error":"too many requests"}');
      return;
    }
    void handler(req, res);
  });
  // Limits: slow or idle clients cannot hold sockets forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  const sockets = new Set<Socket>();
  // Connections are accepted here and handed to the HTTP server, after the TLS handshake for HTTPS: the
  // same handshake as every other listener (certificates by SNI, ACME TLS-ALPN-01 answered before it).
  const perIp = new Map<string, number>();
  const refusals = refusalLog(deps.log, 'http');
  const listener = createNet((s: Socket) => {
    s.on('error', () => {});
    const ip = normaliseAddress(s.remoteAddress ?? '');
    const key = clientKey(ip); // an IPv6 client by its /64, as the request limit counts it
    if (sockets.size >= limits.maxConnections || (perIp.get(key) ?? 0) >= limits.maxConnectionsPerIp) {
      refusals.refused(ip, key, sockets.size >= limits.maxConnections ? 'total' : 'per-ip');
      s.destroy();
      return;
    }
    sockets.add(s);
    perIp.set(key, (perIp.get(key) ?? 0) + 1);
    s.once('close', () => {
      sockets.delete(s);
      const n = (perIp.get(key) ?? 1) - 1;
      if (n <= 0) perIp.delete(key);
      else perIp.set(key, n);
    });
    if (!opts.tls) return void server.emit('connection', s);
    acceptTls(s, opts.tls, 20_000).then(
      (t) => t && server.emit('connection', t),
      () => s.destroy(),
    );
  });
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: opts.host, port: opts.port }, () => {
      listener.off('error', reject);
      // The HTTP server never listens itself; 'listening' starts its connection tracking, which enforces
      // headersTimeout/requestTimeout and lets closeIdleConnections() work.
      server.emit('listening');
      const a = listener.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : opts.port,
        close(graceMs) {
          return new Promise<void>((r) => {
            listener.close(() => r());
            refusals.stop();
            server.close(() => {}); // stops the tracking timer (the server itself never listened)
            server.closeIdleConnections();
            setTimeout(() => {
              for (const s of sockets) s.destroy();
            }, graceMs).unref();
          });
        },
      });
    });
  });
}
