// Where mail for a domain goes (RFC 5321 section 5.1): MX hosts by preference, equal preferences shuffled,
// the implicit MX (the domain's own A/AAAA) when there is no MX, null MX (RFC 7505) as a permanent failure.
import type { MxRecord, Resolver } from '../core/ports.ts';
import { isDnsError } from '../dns/resolver.ts';

export interface MxHost {
  name: string;
  preference: number;
  /** The domain itself, used because it has no MX records. */
  implicit: boolean;
  /** An address literal recipient domain ("[192.0.2.1]"): connect there directly. */
  literal?: string;
}

/** Why a domain cannot be routed now: permanent failures bounce, temporary ones are retried. */
export interface RouteFailure {
  permanent: boolean;
  /** Enhanced status code (RFC 3463). */
  status: string;
  text: string;
}

export type Route = { hosts: MxHost[] } | { failure: RouteFailure };

/** Orders MX records by preference, shuffling equal preferences (RFC 5321 section 5.1) with `random`. */
export function orderMx(records: MxRecord[], random: () => number): MxRecord[] {
  const keyed = records.map((r) => ({ r, k: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.k - b.k);
  return keyed.map((x) => x.r);
}

/**
 * Resolves the MX hosts of a recipient domain (an A-label or an address literal). `selfNames` are this
 * server's own names: an MX pointing at us and every less preferred one are dropped (RFC 5321 section 5.1),
 * and a domain left with none would loop.
 */
export async function routeDomain(
  resolver: Resolver,
  domain: string,
  opts: { selfNames: string[]; random?: () => number },
): Promise<Route> {
  const literal = /^\[(?:IPv6:)?([^\]]+)\]$/i.exec(domain);
  if (literal) return { hosts: [{ name: domain, preference: 0, implicit: true, literal: literal[1] }] };
  let records: MxRecord[];
  try {
    records = await resolver.mx(domain);
  } catch (e) {
    if (isDnsError(e, 'NXDOMAIN'))
      return { failure: { permanent: true, status: '5.1.2', text: `domain ${domain} does not exist` } };
    return { failure: { permanent: false, status: '4.4.3', text: (e as Error).message } };
  }
  // RFC 7505 section 3: a single MX with preference 0 and the root as exchange: no mail accepted.
  if (records.some((r) => r.exchange === '' || r.exchange === '.'))
    return { failure: { permanent: true, status: '5.1.10', text: `domain ${domain} accepts no mail (null MX)` } };
  if (records.length === 0) return { hosts: [{ name: domain, preference: 0, implicit: true }] };
  const ordered = orderMx(records, opts.random ?? Math.random);
  const self = new Set(opts.selfNames.map((n) => n.toLowerCase().replace(/\.$/, '')));
  const mine = ordered.find((r) => self.has(r.exchange.toLowerCase().replace(/\.$/, '')));
  const usable = mine ? ordered.filter((r) => r.priority < mine.priority) : ordered;
  if (usable.length === 0)
    return { failure: { permanent: true, status: '5.4.6', text: `mail for ${domain} loops back to myself` } };
  return { hosts: usable.map((r) => ({ name: r.exchange, preference: r.priority, implicit: false })) };
}

/**
 * Addresses of one host, IPv4 first then IPv6. A host that does not exist or has no address answers [];
 * a DNS failure throws (the attempt is retried later).
 */
export async function hostAddresses(resolver: Resolver, host: MxHost): Promise<string[]> {
  if (host.literal) return [host.literal];
  const safe = async (q: Promise<string[]>) => {
    try {
      return await q;
    } catch (e) {
      if (isDnsError(e, 'NXDOMAIN')) return [];
      throw e;
    }
  };
  const [a, aaaa] = await Promise.all([safe(resolver.a(host.name)), safe(resolver.aaaa(host.name))]);
  return [...a, ...aaaa];
}
