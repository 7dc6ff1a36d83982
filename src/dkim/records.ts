// The DKIM public key records a domain publishes (RFC 6376 section 3.6.2.1), as a RecordSource for
// `petrel init`, `petrel domain add` and `petrel dkim show`.
import type { DnsRecord, RecordSource } from '../directory/dns-records.ts';
import type { DkimKey } from './keys.ts';

/** A TXT value as zone-file character-strings of at most 255 octets each (RFC 1035 section 3.3.14). */
export function txtStrings(value: string): string {
  const parts: string[] = [];
  for (let i = 0; i < value.length; i += 255) parts.push(`"${value.slice(i, i + 255)}"`);
  return parts.join(' ');
}

/** The records of the keys `keysOf` gives for a domain (a keyring's `list`). */
export function dkimRecordSource(keysOf: (domain: string) => Promise<DkimKey[]>): RecordSource {
  return async (domain: string): Promise<DnsRecord[]> =>
    (await keysOf(domain)).map((k) => ({
      name: `${k.selector}._domainkey.${k.domain}.`,
      type: 'TXT',
      value: txtStrings(k.record),
      comment: `DKIM public key (${k.algorithm === 'ed25519' ? 'ed25519-sha256, RFC 8463' : 'rsa-sha256'}), selector ${k.selector}`,
    }));
}
