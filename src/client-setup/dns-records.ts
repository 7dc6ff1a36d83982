// DNS records that let clients find the servers by themselves: SRV records (RFC 6186, with the implicit
// TLS services of RFC 8314 section 5.1) and the autoconfig/autodiscover host names.
import type { DnsRecord, RecordSource } from '../directory/dns-records.ts';
import type { ClientSetup } from './endpoints.ts';

/**
 * SRV priorities: lower is tried first (RFC 6186 section 3.4, compared across IMAP and POP3 too).
 * Implicit TLS before STARTTLS (RFC 8314 section 5.1 and its appendix: clients should prefer it), IMAP
 * before POP3.
 */
const PRIORITY: Record<string, number> = {
  _imaps: 0,
  _imap: 10,
  _pop3s: 20,
  _pop3: 30,
  _submissions: 0,
  _submission: 10,
};

export function clientSetupRecords(setup: ClientSetup): RecordSource {
  return async (domain) => {
    const fq = (n: string) => (n.endsWith('.') ? n : `${n}.`);
    const host = fq(setup.host);
    const out: DnsRecord[] = setup.endpoints.map((e) => ({
      name: `${e.srv}._tcp.${fq(domain)}`,
      type: 'SRV',
      value: `${PRIORITY[e.srv]} 1 ${e.port} ${host}`,
      // POP3's command for it is STLS (RFC 2595 section 4).
      comment: `${e.protocol.toUpperCase()} ${e.security === 'tls' ? 'over TLS' : e.protocol === 'pop3' ? 'with STLS' : 'with STARTTLS'} (RFC 6186, RFC 8314)`,
    }));
    // RFC 6186 section 3.4: "." as target says a service is not offered here.
    const offered = new Set(setup.endpoints.map((e) => e.srv));
    for (const srv of Object.keys(PRIORITY))
      if (!offered.has(srv))
        out.push({
          name: `${srv}._tcp.${fq(domain)}`,
          type: 'SRV',
          value: '0 0 0 .',
          comment: 'Not offered (RFC 6186)',
        });
    out.push(
      { name: `autoconfig.${fq(domain)}`, type: 'CNAME', value: host, comment: 'Thunderbird autoconfig' },
      { name: `autodiscover.${fq(domain)}`, type: 'CNAME', value: host, comment: 'Outlook Autodiscover' },
    );
    return out;
  };
}
