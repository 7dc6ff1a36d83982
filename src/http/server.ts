// The HTTP listener: health and readiness now; the seat for web admin, JMAP and OAuth later.
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { Socket } from 'node:net';
import type { Logger } from '../telemetry/log.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

export interface HttpDeps {
  /** True when the store answers (readiness). */
  ready: () => Promise<boolean>;
  log: Logger;
  /** Extra routes by exact path, added by later features (JMAP, admin API). */
  routes?: Map<string, Handler>;
  /** Handlers owning every path under a prefix ("/oauth/"; "/account" also takes "/account/..."), in order. */
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

export function startHttp(
  opts: { host: string; port: number; tls?: { cert: string; key: string } },
  deps: HttpDeps,
): Promise<HttpListener> {
  const handler = httpHandler(deps);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => void handler(req, res);
  const server: Server = opts.tls
    ? createHttps({ cert: opts.tls.cert, key: opts.tls.key }, onRequest)
    : createHttp(onRequest);
  // Limits: slow or idle clients cannot hold sockets forever.
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  server.maxHeadersCount = 100;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : opts.port,
        close(graceMs) {
          return new Promise<void>((r) => {
            server.close(() => r());
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
