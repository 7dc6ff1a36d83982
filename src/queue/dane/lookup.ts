// Which TLSA records apply to an MX host (RFC 7672 section 2.2): only when the recipient domain's MX RRset
// and the host's address records are DNSSEC-secure, at the CNAME-expanded host name first and the name
// itself second. A failed lookup on the way makes the host unusable (section 2.1.2), never "no DANE".
import { toALabel } from '../../dns/resolver.ts';
import type { SecureAnswer, SecureLookup, SecureRecord } from '../../dns/secure.ts';

export interface TlsaRecord {
  usage: number;
  selector: number;
  matchingType: number;
  data: Buffer;
}

/** The TLSA records that govern TLS to one host, and the names a DANE-TA certificate may carry. */
export interface DanePolicy {
  /** The TLSA base domain (section 2.2.3). */
  base: string;
  records: TlsaRecord[];
  /** Reference identifiers for DANE-TA(2) name checks (section 3.2.2): base, MX host, next-hop domain. */
  names: string[];
}

/** CNAME hops followed before giving up (a loop, or a chain nobody should publish). */
const MAX_HOPS = 8;

/** Follows `name`'s CNAMEs through an answer's records: the last name reached. */
function follow(records: SecureRecord[], name: string): string {
  let cur = name;
  for (let i = 0; i < MAX_HOPS; i++) {
    const c = records.find((r) => r.type === 'CNAME' && r.name === cur);
    if (!c) return cur;
    cur = toALabel(String(c.data));
  }
  return cur;
}

/**
 * A lookup with its CNAME chain run to the end: a stub may get the chain without the target's records
 * (section 2.1.3), so the target is asked again, and the whole is secure only if every step was.
 */
async function resolveChain(lookup: SecureLookup, name: string, type: 'A' | 'AAAA' | 'TLSA') {
  let secure = true;
  let cur = toALabel(name);
  const records: SecureRecord[] = [];
  for (let i = 0; i < MAX_HOPS; i++) {
    const a: SecureAnswer = await lookup(cur, type);
    secure &&= a.secure;
    records.push(...a.records);
    const end = follow(a.records, cur);
    const found = a.records.filter((r) => r.type === type && r.name === end);
    if (found.length || end === cur) return { secure, final: end, found, cname: end !== toALabel(name) };
    cur = end;
  }
  return { secure: false, final: cur, found: [] as SecureRecord[], cname: true };
}

/**
 * Whether `domain`'s MX RRset, or the denial that it has one (the domain is then its own server), is
 * DNSSEC-secure (sections 2.2.1 and 2.2.2); a lookup failure throws.
 */
export async function mxSecure(lookup: SecureLookup, domain: string): Promise<boolean> {
  return (await lookup(domain, 'MX')).secure;
}

/**
 * The DANE policy of one SMTP server `host` on `port`, reached for `domain` (sections 2.2.2 and 2.2.3), or
 * null when DANE does not apply (insecure addresses, no secure TLSA). DNS failures throw.
 */
export async function hostPolicy(
  lookup: SecureLookup,
  domain: string,
  host: string,
  port: number,
): Promise<DanePolicy | null> {
  const name = toALabel(host);
  // Addresses first (section 2.2.2): their status decides whether TLSA is asked at all; unsigned zones
  // behind broken nameservers would otherwise fail TLSA queries and hold the mail.
  let addr = await resolveChain(lookup, name, 'A');
  if (addr.found.length === 0) addr = await resolveChain(lookup, name, 'AAAA');
  if (addr.found.length === 0) return null; // no address: the route finds that too
  let candidates: string[];
  if (addr.secure) candidates = addr.cname ? [addr.final, name] : [name];
  else if (addr.cname && (await lookup(name, 'CNAME')).secure)
    candidates = [name]; // "insecure CNAME" case
  else return null;
  for (const base of candidates) {
    // A CNAME at the TLSA name does not move the base domain (section 2.2.3).
    const t = await resolveChain(lookup, `_${port}._tcp.${base}`, 'TLSA');
    if (!t.secure || t.found.length === 0) continue;
    const records = t.found.map((r) => {
      const d = r.data as { usage: number; selector: number; matchingType: number; certificate: Buffer };
      return { usage: d.usage, selector: d.selector, matchingType: d.matchingType, data: d.certificate };
    });
    return { base, records, names: [...new Set([base, name, toALabel(domain)])] };
  }
  return null;
}

/** A TLSA record in presentation form ("3 1 1 ab12..."), for logs and TLS reports (RFC 8460 4.5). */
export function tlsaString(r: TlsaRecord): string {
  return `${r.usage} ${r.selector} ${r.matchingType} ${r.data.toString('hex')}`;
}
