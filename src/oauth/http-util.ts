// Small HTTP helpers for the sign-in and account pages: bounded body reading, replies, cookies.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { trimChars } from '../core/text.ts';
import { normaliseAddress } from '../net/connection.ts';
import { forwardedClient } from '../net/forwarded.ts';

const MAX_BODY = 16 * 1024;

/** A request body refused: `status` 413 when too large (the connection is then closed), else 400. */
export class BodyError extends Error {
  readonly status: 400 | 413;
  constructor(message: string, status: 400 | 413 = 400) {
    super(message);
    this.status = status;
  }
}

/** The headers of a BodyError's answer: a body too large is not read to its end (RFC 9110 section 15.5.14). */
export const bodyErrorHeaders = (e: BodyError): Record<string, string> =>
  e.status === 413 ? { connection: 'close' } : {};

/**
 * The request body as text, refused beyond 16 KiB (forms and JSON here are tiny): at once when its
 * Content-Length says so, before any of it is read.
 */
export async function readBody(req: IncomingMessage): Promise<string> {
  const tooLarge = () => new BodyError('request body too large', 413);
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw tooLarge();
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Form fields (application/x-www-form-urlencoded) or a JSON object's fields as text: strings as they are,
 * finite numbers as JSON writes them (GET /account/spam answers uid and score as numbers, so a client posts
 * them back as numbers), null as "" (an explicit "no value"). Other values are left out, like a field not
 * sent: a handler tells a missing field (undefined) from an empty one.
 */
export async function readFields(req: IncomingMessage): Promise<Map<string, string>> {
  const text = await readBody(req);
  const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') {
    let v: unknown;
    try {
      v = JSON.parse(text || '{}');
    } catch {
      throw new BodyError('body is not JSON');
    }
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new BodyError('body is not a JSON object');
    const fields = new Map<string, string>();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string') fields.set(k, x);
      else if (typeof x === 'number' && Number.isFinite(x)) fields.set(k, String(x));
      else if (x === null) fields.set(k, '');
    }
    return fields;
  }
  return new Map(new URLSearchParams(text));
}

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' };

export function sendHtml(
  res: ServerResponse,
  status: number,
  html: string,
  headers: Record<string, string | string[]> = {},
) {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(html),
    // The sign-in pages are never framed (clickjacking) and load nothing from elsewhere.
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'",
    ...NO_STORE,
    ...headers,
  });
  res.end(html);
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | string[]> = {},
) {
  const data = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(data),
    ...NO_STORE,
    ...headers,
  });
  res.end(data);
}

/** A request's path without its query and trailing slashes (/\/+$/ cost ~85 ms on a 16 KB URL of slashes). */
export function requestPath(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  return trimChars(q < 0 ? url : url.slice(0, q), '/');
}

export function cookies(req: IncomingMessage): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) m.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return m;
}

/** Who sent a request: the client's address (what the brute-force limiter counts) and whether it came over TLS. */
export interface Client {
  ip: string;
  /** Over TLS, to us or to the trusted proxy in front: the session cookie gets Secure (RFC 6265 4.1.2.5). */
  secure: boolean;
}

/**
 * The client of a request, as the OpenID Provider's own Koa request reads TLS (ctx.secure), so the sign-in
 * and /account pages honour oauth.trust_proxy exactly as the provider's endpoints do: without it, the socket;
 * with it, X-Forwarded-Proto and the X-Forwarded-For address the proxy appended (the entries before it are
 * the client's to write). The address is read as the HTTP listener's request limit reads it
 * (net/forwarded.ts), not from Koa's ctx.ip, which takes an entry with a port ("192.0.2.7:51234") as a
 * whole: a proxy that appends the client's port would give each connection its own brute-force allowance.
 */
export function clientOf(provider: Pick<Provider, 'createContext'>, req: IncomingMessage, res: ServerResponse): Client {
  const ctx = provider.createContext(req, res);
  const socket = normaliseAddress(req.socket.remoteAddress ?? '');
  const ip = ctx.app.proxy ? forwardedClient(req.headers['x-forwarded-for'], socket) : socket;
  return { ip, secure: ctx.secure };
}

/**
 * Whether a browser sent this request from a page of another origin. Browsers since 2023 say so in
 * Sec-Fetch-Site; older ones (Safari before 16.4) send only Origin on a POST, which is then compared with
 * the host the browser addressed (Host, or X-Forwarded-Host from a reverse proxy: a page cannot set
 * either on a cross-origin form). Neither field: no browser (curl, a script), nothing to protect from.
 */
export function crossOrigin(req: IncomingMessage): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  let host: string;
  try {
    host = new URL(origin).host; // "null" (a sandboxed frame, a redirect from elsewhere) does not parse
  } catch {
    return true;
  }
  const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)?.split(',')[0].trim().toLowerCase();
  return host !== first(req.headers.host) && host !== first(req.headers['x-forwarded-host']);
}
