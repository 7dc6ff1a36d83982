// The MTA-STS policy Petrel publishes for the domains it hosts (RFC 8461 section 3.2): served by the HTTP
// listener at https://mta-sts.<domain>/.well-known/mta-sts.txt, announced by the "_mta-sts" TXT record
// (whose id follows the policy's text, so a changed policy gets a new id) that `petrel init` and
// `petrel domain add` print with the other DNS records.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { DnsRecord, RecordSource } from '../directory/dns-records.ts';
import type { Handler } from '../http/server.ts';

const MAX_AGE = 31_557_600;

/** The policy file: version, mode, our MX host names, max_age (section 3.2). */
export function ownPolicy(config: Config): string {
  const s = config.smtp;
  const maxAge = Math.min(MAX_AGE, Math.floor(parseDuration(s.mta_sts_max_age, 'smtp.mta_sts_max_age') / 1000));
  const mx = s.mta_sts_mode === 'none' ? [] : [config.server.hostname, ...s.mta_sts_mx];
  const lines = [
    'version: STSv1',
    `mode: ${s.mta_sts_mode}`,
    ...mx.map((m) => `mx: ${m.toLowerCase()}`),
    `max_age: ${maxAge}`,
  ];
  return `${lines.join('\r\n')}\r\n`;
}

/** The TXT record's id: 1-32 letters and digits (section 3.1), from the policy's text. */
export const ownPolicyId = (policy: string) => createHash('sha256').update(policy).digest('hex').slice(0, 20);

/** The hosted domain a request names in its Host header (mta-sts.<domain>), or null. */
function policyDomain(req: IncomingMessage): string | null {
  const host = String(req.headers.host ?? '')
    .toLowerCase()
    .replace(/:\d+$/, '')
    .replace(/\.$/, '');
  return /^mta-sts\.[a-z0-9.-]+$/.test(host) ? host.slice('mta-sts.'.length) : null;
}

export function mtaStsRoutes(deps: {
  config: Config;
  isLocalDomain(domain: string): Promise<boolean>;
}): Map<string, Handler> {
  const policy = ownPolicy(deps.config);
  const serve: Handler = async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    const domain = policyDomain(req);
    if (!domain || !(await deps.isLocalDomain(domain))) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    // Senders must not use HTTP caching (section 3.3); say so to caches in between too.
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(policy),
      'cache-control': 'no-store',
    });
    res.end(req.method === 'HEAD' ? undefined : policy);
  };
  return new Map([['/.well-known/mta-sts.txt', serve]]);
}

/** The records that publish the policy: the TXT record with its id, and the policy host's name. */
export function mtaStsRecords(config: Config): RecordSource {
  return async (domain) => {
    const fq = (n: string) => (n.endsWith('.') ? n : `${n}.`);
    const id = ownPolicyId(ownPolicy(config));
    const out: DnsRecord[] = [
      {
        name: `mta-sts.${fq(domain)}`,
        type: 'CNAME',
        value: fq(config.server.hostname),
        comment: `MTA-STS policy host (RFC 8461): the HTTPS listener serves the policy; its certificate must name mta-sts.${domain} (add it to acme.domains)`,
      },
      {
        name: `_mta-sts.${fq(domain)}`,
        type: 'TXT',
        value: `"v=STSv1; id=${id}"`,
        comment: `MTA-STS (RFC 8461), mode ${config.smtp.mta_sts_mode}; the id changes when the policy does`,
      },
    ];
    return out;
  };
}
