// Forward-confirmed reverse DNS of the client (RFC 8601 section 2.7.3 "iprev"): some PTR name of the IP
// must resolve (A/AAAA) back to the IP. No PTR at all and a PTR that does not confirm score differently;
// a DNS failure scores nothing (it says nothing about the client).
import { isIP } from 'node:net';
import type { Resolver } from '../../core/ports.ts';
import { isDnsError } from '../../dns/resolver.ts';
import { boundedResolver } from '../dns.ts';
import type { SpamCheck } from '../types.ts';

export const FCRDNS_FACT = 'fcrdns';

/** At most this many PTR names are followed (a hostile zone can list hundreds). */
const MAX_NAMES = 5;

export function fcrdnsCheck(opts: { resolver: Resolver; dnsTimeoutMs: number }): SpamCheck {
  return {
    name: 'fcrdns',
    network: true,
    stage: 0,
    async run(ctx, signal) {
      const ip = ctx.clientIp;
      if (!ip || !isIP(ip)) return [];
      const res = boundedResolver(opts.resolver, opts.dnsTimeoutMs, signal);
      let names: string[];
      try {
        names = await res.ptr(ip);
      } catch (e) {
        if (!isDnsError(e, 'NXDOMAIN')) return [{ name: 'RDNS_TEMPERROR', score: 0, detail: (e as Error).message }];
        names = [];
      }
      if (names.length === 0) {
        ctx.facts.set(FCRDNS_FACT, null);
        return [{ name: 'RDNS_NONE', score: 1.5, detail: `no PTR for ${ip}` }];
      }
      const family = isIP(ip);
      for (const n of names.slice(0, MAX_NAMES)) {
        const name = n.replace(/\.$/, '').toLowerCase();
        try {
          const addrs = family === 4 ? await res.a(name) : await res.aaaa(name);
          if (addrs.some((a) => a.toLowerCase() === ip.toLowerCase())) {
            ctx.facts.set(FCRDNS_FACT, name);
            return [{ name: 'RDNS_CONFIRMED', score: 0, detail: name }];
          }
        } catch {
          // NXDOMAIN or failure: try the next name.
        }
      }
      ctx.facts.set(FCRDNS_FACT, null);
      return [
        { name: 'RDNS_NOT_CONFIRMED', score: 1, detail: `${names.slice(0, MAX_NAMES).join(',')} not back to ${ip}` },
      ];
    },
  };
}
