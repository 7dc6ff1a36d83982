// The DANE TLSA record (RFC 7672) that lets other servers authenticate this one's SMTP certificate: usage
// DANE-EE, the SHA-256 of the public key ("3 1 1", section 3.1.1), for the certificate served now for
// server.hostname. Printed with a domain's records; only meaningful in a DNSSEC-signed zone.
import { X509Certificate } from 'node:crypto';
import type { DnsRecord, RecordSource } from '../directory/dns-records.ts';
import type { CertificateSet } from '../net/certificates.ts';
import { association } from '../queue/dane/verify.ts';

/** "3 1 1 <hex>" for a certificate (the first of a PEM chain: the server's own). */
export function tlsaFor(certPem: string): string {
  return `3 1 1 ${association(new X509Certificate(certPem), 1, 1).toString('hex')}`;
}

/**
 * `sharedStore`: several nodes may serve this host name (PostgreSQL). A self-signed certificate is then the
 * one this data directory made, which no other node serves (each makes its own), so no record is printed:
 * one true of a single node would have DANE-checking senders defer the mail the others receive.
 */
export function daneRecords(
  hostname: string,
  certs: CertificateSet,
  opts: { sharedStore?: boolean } = {},
): RecordSource {
  return async () => {
    if (opts.sharedStore && certs.selfSignedFor(hostname)) return [];
    const fq = hostname.endsWith('.') ? hostname : `${hostname}.`;
    const record: DnsRecord = {
      name: `_25._tcp.${fq}`,
      type: 'TLSA',
      value: tlsaFor(certs.certificateFor(hostname)),
      comment:
        'DANE (RFC 7672), only if the zone is DNSSEC-signed: the key of the certificate served now; keep it across renewals (acme.reuse_key) or publish the next key first',
    };
    return [record];
  };
}
