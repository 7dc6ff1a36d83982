// The server's one DNS resolver: node's c-ares resolver pointed at the configured nameservers (or the
// system's), with the answer/absent/failure distinction mail routing and SPF/DKIM need.
import { Resolver as CaresResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { MxRecord, Resolver } from '../core/ports.ts';
import { dnsblName } from './dnsbl-name.ts';
import type { SecureLookup, SecureRecord, SecureType } from './secure.ts';

export type DnsErrorCode = 'NXDOMAIN' | 'TEMPFAIL';

/** A lookup that did not produce an answer: the name does not exist, or DNS failed for now. */
export class DnsError extends Error {
  readonly code: DnsErrorCode;
  override readonly name = 'DnsError';
  /** The node error code behind it (ETIMEOUT, ESERVFAIL, ...), for logs and diagnostics. */
  readonly nodeCode: string;
  constructor(code: DnsErrorCode, query: string, cause: string) {
    super(code === 'NXDOMAIN' ? `${query}: no such domain` : `${query}: DNS lookup failed (${cause})`);
    this.code = code;
    this.nodeCode = cause;
  }
}

export function isDnsError(e: unknown, code?: DnsErrorCode): e is DnsError {
  return e instanceof DnsError && (code === undefined || e.code === code);
}

export interface ResolverOptions {
  /** "ip" or "ip:port" ("[v6]:port"); empty means the system resolvers (/etc/resolv.conf). */
  nameservers: string[];
  timeoutMs: number;
  tries: number;
  /**
   * Our own packets (secure.ts) for the names c-ares refuses to send (EBADNAME): any octet may be part of a
   * label (RFC 2181 section 11), and SPF macros (RFC 7208 section 7.3) put local parts with "+", "=" or "%"
   * into names that pyspf and libspf2 ask about.
   */
  packetLookup?: SecureLookup;
}

/** A name DNS can carry: labels of 1-63 printable ASCII octets, 253 in all (RFC 1035 section 2.3.4). */
function carriable(name: string): boolean {
  return name.length <= 253 && name.split('.').every((l) => l.length > 0 && l.length <= 63 && /^[\x20-\x7e]+$/.test(l));
}

/**
 * The records of `type` owned by `name` or by the end of its CNAME chain in the answer (RFC 1034 section
 * 3.6.2), as c-ares takes them: records of other owners in an answer section are no answer to our question.
 */
function ownAnswer(records: SecureRecord[], name: string, type: SecureType): SecureRecord[] {
  const owners = new Set([name]);
  let cur = name;
  for (let hop = 0; hop < 8; hop++) {
    const alias = records.find((r) => r.type === 'CNAME' && r.name === cur);
    if (!alias) break;
    cur = String(alias.data).toLowerCase().replace(/\.$/, '');
    owners.add(cur);
  }
  return records.filter((r) => r.type === type && owners.has(r.name));
}

/**
 * Lower-case A-label form of a name, without a trailing dot; IP literals untouched. Only a name with
 * non-ASCII characters goes through the URL host parser, which would also percent-decode "%2B" to "+".
 */
export function toALabel(name: string): string {
  const n = name.trim().replace(/\.$/, '').toLowerCase();
  return /[^\x00-\x7f]/.test(n) ? domainToASCII(n) || n : n;
}

/** Builds the resolver from config: [dns] nameservers, timeout_ms, tries. No public resolver is built in. */
export function createResolver(opts: ResolverOptions): Resolver {
  const r = new CaresResolver({ timeout: opts.timeoutMs, tries: opts.tries });
  if (opts.nameservers.length) r.setServers(opts.nameservers);
  // Node's codes: ENOTFOUND is NXDOMAIN, ENODATA is NOERROR without answers of the type.
  const run = async <T>(
    type: SecureType | 'PTR',
    name: string,
    q: () => Promise<T[]>,
    fromPackets?: (r: SecureRecord) => T,
  ): Promise<T[]> => {
    try {
      return await q();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (code === 'ENODATA') return [];
      if (code === 'ENOTFOUND') throw new DnsError('NXDOMAIN', `${type} ${name}`, code);
      if (code === 'EBADNAME' && type !== 'PTR' && fromPackets && opts.packetLookup && carriable(name)) {
        const answer = await opts.packetLookup(name, type);
        if (answer.rcode === 'NXDOMAIN') throw new DnsError('NXDOMAIN', `${type} ${name}`, 'ENOTFOUND');
        return ownAnswer(answer.records, name, type).map(fromPackets);
      }
      throw new DnsError('TEMPFAIL', `${type} ${name}`, code);
    }
  };
  const mxRecord = (m: { exchange: string; priority: number }): MxRecord => ({
    exchange: m.exchange.replace(/\.$/, '').toLowerCase(),
    priority: m.priority,
  });
  const address = (r: SecureRecord) => String(r.data);
  return {
    mx: async (domain) => {
      const name = toALabel(domain);
      const rows = await run(
        'MX',
        name,
        () => r.resolveMx(name),
        (x) => {
          const d = x.data as { preference: number; exchange: string };
          return { exchange: d.exchange, priority: d.preference };
        },
      );
      return rows.map(mxRecord);
    },
    a: (name) => run('A', toALabel(name), () => r.resolve4(toALabel(name)), address),
    aaaa: (name) => run('AAAA', toALabel(name), () => r.resolve6(toALabel(name)), address),
    txt: (name) =>
      run(
        'TXT',
        toALabel(name),
        () => r.resolveTxt(toALabel(name)),
        (x) => (x.data as (Buffer | string)[]).map((c) => c.toString()),
      ),
    ptr: (ip) => {
      // A PTR query for the reverse name (RFC 1035 section 3.5, RFC 3596 section 2.5), not c-ares's reverse():
      // that one (gethostbyaddr) reports every failure, SERVFAIL and timeouts too, as ENOTFOUND, so a broken
      // reverse zone would pass for an address without a name.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
      const name = dnsblName(mapped, isIP(mapped) === 4 ? 'in-addr.arpa' : 'ip6.arpa');
      return run('PTR', ip, () => (name ? r.resolvePtr(name) : r.reverse(ip)));
    },
  };
}

/**
 * The address a reverse-mapping name stands for: "5.0.0.127.in-addr.arpa" is 127.0.0.5 (RFC 1035 section
 * 3.5), 32 nibbles under ip6.arpa an IPv6 address (RFC 3596 section 2.5); null for any other name.
 */
export function reverseNameAddress(name: string): string | null {
  const n = name.trim().replace(/\.$/, '').toLowerCase();
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(n);
  if (v4) {
    const ip = v4.slice(1).reverse().join('.');
    return isIP(ip) === 4 ? ip : null;
  }
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!v6) return null;
  const nibbles = [...v6[1].replaceAll('.', '')].reverse().join('');
  return nibbles.replace(/(.{4})(?!$)/g, '$1:');
}

/**
 * The same resolver shaped as node's `dns.resolve(name, type)`, for libraries that take one (mailauth):
 * absent answers reject with ENODATA / ENOTFOUND as node's would.
 */
export function nodeStyleResolver(res: Resolver): (name: string, type: string) => Promise<unknown[]> {
  return async (name, type) => {
    let out: unknown[];
    try {
      if (type === 'TXT') out = await res.txt(name);
      else if (type === 'MX') out = await res.mx(name);
      else if (type === 'A') out = await res.a(name);
      else if (type === 'AAAA') out = await res.aaaa(name);
      // Callers ask node's way, for the reverse name (mailauth's SPF "ptr" and %{p}, RFC 7208 section 5.5);
      // the port's ptr() takes the address, as c-ares reverse() does.
      else if (type === 'PTR') out = await res.ptr(reverseNameAddress(name) ?? name);
      else throw Object.assign(new Error(`unsupported type ${type}`), { code: 'ENOTIMP' });
    } catch (e) {
      if (isDnsError(e))
        throw Object.assign(new Error(e.message), { code: e.code === 'NXDOMAIN' ? 'ENOTFOUND' : e.nodeCode });
      throw e;
    }
    if (out.length === 0) throw Object.assign(new Error(`${type} ${name}: no records`), { code: 'ENODATA' });
    return out;
  };
}
