// HTTP routes for automatic client setup. Only domains this server hosts get an answer (404 otherwise);
// whether an account exists is never revealed (a profile for any address of a hosted domain).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from '../http/server.ts';
import { autoconfigXml } from './autoconfig.ts';
import { autodiscoverError, autodiscoverXml, requestedAddress } from './autodiscover.ts';
import type { ClientSetup } from './endpoints.ts';
import { mobileconfig } from './mobileconfig.ts';
import { parseEmail } from './xml.ts';

export interface ClientSetupDeps {
  setup: ClientSetup;
  isLocalDomain(domain: string): Promise<boolean>;
}

/** Largest Autodiscover request body read (a real one is under 1 KiB). */
const MAX_BODY = 16 * 1024;

function send(res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), ...extra });
  res.end(body);
}

const notFound = (res: ServerResponse) => send(res, 404, 'text/plain; charset=utf-8', 'not found\n');

// A 405 lists every method the resource has (RFC 9110 sections 10.2.1 and 15.5.6): HEAD is served with GET.

function query(req: IncomingMessage): URLSearchParams {
  const q = (req.url ?? '').indexOf('?');
  return new URLSearchParams(q >= 0 ? (req.url ?? '').slice(q + 1) : '');
}

/** The mail domain of an autoconfig request: from ?emailaddress=, else the Host (autoconfig.<domain>). */
function autoconfigDomain(req: IncomingMessage): string | null {
  const email = parseEmail(query(req).get('emailaddress'));
  if (email) return email.domain;
  const host = (req.headers.host ?? '').toLowerCase().replace(/:\d+$/, '');
  if (!/^[a-z0-9.-]+$/.test(host)) return null;
  return host.startsWith('autoconfig.') ? host.slice('autoconfig.'.length) : host || null;
}

/** The request body as text, or null when it is larger than MAX_BODY (the rest is drained, not kept). */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
      req.resume();
      return resolve(null);
    }
    let size = 0;
    const parts: Buffer[] = [];
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) return void parts.push(c);
      req.off('data', onData);
      req.resume();
      resolve(null);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export function clientSetupRoutes(deps: ClientSetupDeps): Map<string, Handler> {
  const autoconfig: Handler = async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'GET only\n', { allow: 'GET, HEAD' });
    const domain = autoconfigDomain(req);
    if (!domain) return send(res, 400, 'text/plain; charset=utf-8', 'emailaddress missing\n');
    if (!(await deps.isLocalDomain(domain))) return notFound(res);
    send(res, 200, 'application/xml; charset=utf-8', autoconfigXml(deps.setup, domain));
  };

  // Autodiscover (POX): POST with an XML request naming the address.
  const autodiscover: Handler = async (req, res) => {
    if (req.method !== 'POST') return send(res, 405, 'text/plain', 'POST only\n', { allow: 'POST' });
    const body = await readBody(req);
    if (body === null) return send(res, 413, 'text/plain', 'request too large\n', { connection: 'close' });
    const email = parseEmail(requestedAddress(body));
    if (!email) return send(res, 400, 'application/xml; charset=utf-8', autodiscoverError());
    if (!(await deps.isLocalDomain(email.domain))) return notFound(res);
    send(res, 200, 'application/xml; charset=utf-8', autodiscoverXml(deps.setup, email.address));
  };

  const apple: Handler = async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain', 'GET only\n', { allow: 'GET, HEAD' });
    const email = parseEmail(query(req).get('email'));
    if (!email) return send(res, 400, 'text/plain; charset=utf-8', 'email missing or invalid\n');
    if (!(await deps.isLocalDomain(email.domain))) return notFound(res);
    const profile = mobileconfig(deps.setup, email.address, email.domain);
    if (!profile) return notFound(res);
    send(res, 200, 'application/x-apple-aspen-config; charset=utf-8', profile, {
      'content-disposition': `attachment; filename="${email.domain}.mobileconfig"`,
    });
  };

  return new Map<string, Handler>([
    ['/.well-known/autoconfig/mail/config-v1.1.xml', autoconfig],
    ['/mail/config-v1.1.xml', autoconfig],
    ['/autodiscover/autodiscover.xml', autodiscover],
    ['/Autodiscover/Autodiscover.xml', autodiscover],
    ['/apple/mobileconfig', apple],
  ]);
}
