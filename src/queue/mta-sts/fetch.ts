// Fetching a policy file over HTTPS (RFC 8461 section 3.3): https://mta-sts.<domain>/.well-known/mta-sts.txt,
// the address from our own resolver, the certificate verified for the policy host, no redirects, status
// 200 only, text/plain, at most 64 KB, within a time limit.
import { request } from 'node:https';
import { checkServerIdentity, rootCertificates } from 'node:tls';
import type { Resolver } from '../../core/ports.ts';
import { MAX_POLICY_BYTES } from './policy.ts';

export interface FetchOptions {
  resolver: Resolver;
  /** HTTPS port (443; tests use their own). */
  port: number;
  /** Extra trusted CA certificates (queue.tls_ca), beside the system's roots. */
  ca?: string[];
  timeoutMs: number;
}

/** A web host's addresses through our resolver (IPv4 first), or throws. */
export async function hostAddresses(resolver: Resolver, host: string): Promise<string[]> {
  const v4 = await resolver.a(host).catch(() => [] as string[]);
  const addresses = v4.length ? v4 : await resolver.aaaa(host).catch(() => [] as string[]);
  if (addresses.length === 0) throw new Error(`${host} has no address`);
  return addresses;
}

/** The policy file's text, or throws with the reason. */
export async function fetchPolicyText(domain: string, o: FetchOptions): Promise<string> {
  const host = `mta-sts.${domain}`;
  const addresses = await hostAddresses(o.resolver, host);
  return new Promise<string>((resolve, reject) => {
    const req = request(
      {
        host: addresses[0],
        port: o.port,
        path: '/.well-known/mta-sts.txt',
        method: 'GET',
        servername: host,
        headers: { host, 'user-agent': 'Petrel MTA-STS' },
        ca: o.ca?.length ? [...rootCertificates, ...o.ca] : undefined,
        rejectUnauthorized: true,
        // The certificate must name the policy host, whatever address we connected to.
        checkServerIdentity: (_name, cert) => checkServerIdentity(host, cert),
        agent: false,
        timeout: o.timeoutMs,
      },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          return reject(new Error(`${host}: HTTP ${res.statusCode} (only 200 counts; redirects are not followed)`));
        }
        const type = String(res.headers['content-type'] ?? '').toLowerCase();
        if (!/^text\/plain\s*(;|$)/.test(type)) {
          res.resume();
          return reject(new Error(`${host}: content type "${type}" is not text/plain`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_POLICY_BYTES) {
            req.destroy(new Error(`${host}: policy larger than ${MAX_POLICY_BYTES} octets`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${host}: no complete answer in ${o.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
