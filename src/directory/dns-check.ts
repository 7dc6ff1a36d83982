// `petrel domain check`: looks up, in the DNS as this server sees it, every record `petrel domain records`
// prints, and says for each whether it is there as printed, missing, or different (and, for TLSA, whether
// the zone is DNSSEC-signed, without which DANE does not apply). What mox's and Stalwart's DNS checks do.

import { dnsblName, notListing } from '../dns/dnsbl-name.ts';
import type { SecureLookup, SecureRecord } from '../dns/secure.ts';
import type { DnsRecord } from './dns-records.ts';

/** problem: breaks something; optional: absent but not needed; custom: differs in a way that may be wanted. */
export type CheckStatus = 'ok' | 'missing' | 'different' | 'unsigned' | 'optional' | 'custom' | 'failed';

export interface RecordCheck {
  record: DnsRecord;
  status: CheckStatus;
  /** What was found, when it matters for the status. */
  found?: string;
}

export const isProblem = (s: CheckStatus) => s === 'missing' || s === 'different' || s === 'failed';

const bare = (n: string) => n.toLowerCase().replace(/\.$/, '');
/** A TXT value as printed ("a" "b" or "ab") or as found (its strings) to one string. */
const txtText = (v: string) => v.trim().replace(/"\s+"/g, '').replace(/^"|"$/g, '');
const txtOf = (r: SecureRecord) =>
  (Array.isArray(r.data) ? r.data : [r.data])
    .map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)))
    .join('');
/** The tag=value pairs of a DKIM key record, compared without spaces. */
const dkimKey = (t: string) => /(?:^|;)\s*p=([^;]*)/i.exec(t)?.[1]?.replace(/\s+/g, '') ?? '';

async function checkOne(lookup: SecureLookup, r: DnsRecord, hostAddrs: Set<string>): Promise<RecordCheck> {
  const name = bare(r.name);
  const got = async (type: Parameters<SecureLookup>[1]) =>
    (await lookup(name, type)).records.filter((x) => x.type === type);
  switch (r.type) {
    case 'MX': {
      const want = bare(r.value.split(/\s+/)[1] ?? '');
      const mx = await got('MX');
      const hosts = mx.map((x) => bare((x.data as { exchange: string }).exchange));
      if (hosts.includes(want)) return { record: r, status: 'ok' };
      return { record: r, status: mx.length ? 'different' : 'missing', found: hosts.join(', ') || undefined };
    }
    case 'A':
    case 'AAAA': {
      const addrs = (await got(r.type)).map((x) => String(x.data));
      if (addrs.length) return { record: r, status: 'ok', found: addrs.join(', ') };
      return { record: r, status: r.type === 'AAAA' ? 'optional' : 'missing' };
    }
    case 'TXT': {
      const want = txtText(r.value);
      const found = (await got('TXT')).map(txtOf);
      const prefix = /^v=[A-Za-z0-9]+/.exec(want)?.[0]?.toLowerCase() ?? '';
      const same = found.filter((f) => f.toLowerCase().startsWith(prefix));
      if (found.includes(want)) return { record: r, status: 'ok' };
      if (same.length === 0) return { record: r, status: 'missing' };
      // A DKIM key must be this one; SPF and DMARC may be the admin's own policy; an MTA-STS id must match.
      if (prefix === 'v=dkim1')
        return {
          record: r,
          status: same.some((f) => dkimKey(f) === dkimKey(want)) ? 'ok' : 'different',
          found: same[0],
        };
      if (prefix === 'v=spf1' || prefix === 'v=dmarc1') return { record: r, status: 'custom', found: same[0] };
      return { record: r, status: 'different', found: same[0] };
    }
    case 'CNAME': {
      const want = bare(r.value);
      const cname = (await got('CNAME')).map((x) => bare(String(x.data)));
      if (cname.includes(want)) return { record: r, status: 'ok' };
      // An A record to the same addresses serves as well.
      const addrs = [...(await got('A')), ...(await got('AAAA'))].map((x) => String(x.data));
      if (addrs.some((a) => hostAddrs.has(a))) return { record: r, status: 'ok', found: addrs.join(', ') };
      return {
        record: r,
        status: cname.length || addrs.length ? 'different' : 'missing',
        found: [...cname, ...addrs].join(', ') || undefined,
      };
    }
    case 'SRV': {
      const [, , port, target] = r.value.split(/\s+/);
      const srv = (await got('SRV')).map((x) => x.data as { port: number; target: string });
      if (srv.some((x) => String(x.port) === port && bare(x.target || '.') === bare(target)))
        return { record: r, status: 'ok' };
      // "Not offered" records may be left out (RFC 6186 section 3.4: absent and "." mean the same to clients).
      if (srv.length === 0) return { record: r, status: target === '.' ? 'optional' : 'missing' };
      return { record: r, status: 'different', found: srv.map((x) => `${x.port} ${x.target}`).join(', ') };
    }
    case 'TLSA': {
      const want = r.value.split(/\s+/).slice(3).join('').toLowerCase();
      const a = await lookup(name, 'TLSA');
      const tlsa = a.records
        .filter((x) => x.type === 'TLSA')
        .map((x) => (x.data as { certificate: Buffer }).certificate.toString('hex'));
      if (tlsa.length === 0) return { record: r, status: 'optional' };
      if (!tlsa.includes(want)) return { record: r, status: 'different', found: tlsa.join(', ') };
      // Published but not validated: senders will not use it (RFC 7672 section 2.2).
      return { record: r, status: a.secure ? 'ok' : 'unsigned' };
    }
  }
}

/** The host name's addresses as the DNS has them (where mail from us comes from). */
export async function hostAddresses(lookup: SecureLookup, hostname: string): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of ['A', 'AAAA'] as const)
    for (const x of (await lookup(bare(hostname), t).catch(() => ({ records: [] as SecureRecord[] }))).records)
      if (x.type === t) out.add(String(x.data));
  return out;
}

/** Checks each record; a lookup that fails is reported as such, not as missing. */
export async function checkRecords(
  lookup: SecureLookup,
  records: DnsRecord[],
  hostname: string,
): Promise<RecordCheck[]> {
  const hostAddrs = await hostAddresses(lookup, hostname);
  const out: RecordCheck[] = [];
  for (const r of records) {
    try {
      out.push(await checkOne(lookup, r, hostAddrs));
    } catch (e) {
      out.push({ record: r, status: 'failed', found: (e as Error).message });
    }
  }
  return out;
}

export interface BlocklistCheck {
  ip: string;
  zone: string;
  /** listed: other servers using this zone refuse or mark our mail; failed: no answer, or the zone's error code. */
  status: 'ok' | 'listed' | 'failed';
  found?: string;
}

/**
 * Our own addresses in DNS blocklists (what mox monitors): each address of the host name looked up in each
 * zone (RFC 5782). 127.255.255.0/24 answers are the zones' error codes (Spamhaus's "query refused", e.g. from
 * a public resolver), and answers outside 127.0.0.0/8 a resolver's own (NXDOMAIN rewriting): not listings.
 */
export async function checkBlocklists(
  lookup: SecureLookup,
  addrs: Iterable<string>,
  zones: string[],
): Promise<BlocklistCheck[]> {
  const out: BlocklistCheck[] = [];
  for (const ip of addrs)
    for (const zone of zones) {
      const name = dnsblName(ip, zone);
      if (!name) continue;
      try {
        const found = (await lookup(name, 'A')).records.filter((r) => r.type === 'A').map((r) => String(r.data));
        const errors = found.filter((a) => notListing(a) !== null);
        const listed = found.filter((a) => !errors.includes(a));
        if (listed.length) out.push({ ip, zone, status: 'listed', found: listed.join(', ') });
        else if (errors.length) out.push({ ip, zone, status: 'failed', found: `error code ${errors.join(', ')}` });
        else out.push({ ip, zone, status: 'ok' });
      } catch (e) {
        out.push({ ip, zone, status: 'failed', found: (e as Error).message });
      }
    }
  return out;
}
