// Host names as the content checks compare them: the registered domain ("example.co.uk" for
// "a.b.example.co.uk") from the public suffix list (the tldts package), IP literals recognised.
import { domainToASCII, domainToUnicode } from 'node:url';
import { getDomain } from 'tldts';
import { trimChars } from '../../core/text.ts';

const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

export function isIpLiteral(host: string): boolean {
  return IPV4.test(host) || host.includes(':');
}

/** Lower-case A-label (punycode) form of a host; '' when it is not a usable host name. */
export function normaliseHost(host: string): string {
  const h = trimChars(
    host
      .trim()
      .replace(/^\[|\]$/g, '')
      .toLowerCase(),
    '.',
  );
  if (!h) return '';
  if (isIpLiteral(h)) return h;
  return domainToASCII(h) || '';
}

/** The registered domain (public suffix + one label), or null for IPs, bare suffixes and non-names. */
export function registeredDomain(host: string): string | null {
  const h = normaliseHost(host);
  if (!h || isIpLiteral(h)) return null;
  return getDomain(h, { allowPrivateDomains: false }) ?? null;
}

/** The Unicode form of a host for display and look-alike comparison. */
export function unicodeHost(host: string): string {
  return domainToUnicode(host) || host;
}
