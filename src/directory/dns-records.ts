// The DNS records an administrator publishes for a domain hosted here (printed by init and domain add).
// Client discovery records (SRV, autoconfig) come from client-setup/dns-records.ts as a RecordSource.

export interface DnsRecord {
  name: string;
  type: 'MX' | 'A' | 'AAAA' | 'TXT' | 'SRV' | 'CNAME' | 'TLSA';
  value: string;
  comment: string;
}

/** Extra records other parts contribute (e.g. DKIM public keys), keyed by domain. */
export type RecordSource = (domain: string) => Promise<DnsRecord[]>;

export function baseRecords(domain: string, hostname: string): DnsRecord[] {
  const fq = (n: string) => (n.endsWith('.') ? n : `${n}.`);
  return [
    { name: fq(domain), type: 'MX', value: `10 ${fq(hostname)}`, comment: 'Mail for the domain goes to this server' },
    { name: fq(hostname), type: 'A', value: '<IPv4 address of this server>', comment: 'The server itself' },
    {
      name: fq(hostname),
      type: 'AAAA',
      value: '<IPv6 address of this server>',
      comment: 'The server itself, if it has IPv6',
    },
    { name: fq(domain), type: 'TXT', value: '"v=spf1 mx -all"', comment: 'SPF: only the MX hosts send for the domain' },
    {
      name: `_dmarc.${fq(domain)}`,
      type: 'TXT',
      value: `"v=DMARC1; p=quarantine; rua=mailto:postmaster@${domain}"`,
      comment: 'DMARC policy',
    },
  ];
}

/** Every record a domain publishes: the base records, then what each source adds (DKIM keys, ...). */
export async function domainRecords(domain: string, hostname: string, sources: RecordSource[]): Promise<DnsRecord[]> {
  const extra = await Promise.all(sources.map((src) => src(domain)));
  return [...baseRecords(domain, hostname), ...extra.flat()];
}

/** Zone-file lines with comments. */
export function formatRecords(records: DnsRecord[]): string {
  return records.map((r) => `; ${r.comment}\n${r.name}\t3600\tIN\t${r.type}\t${r.value}`).join('\n') + '\n';
}
