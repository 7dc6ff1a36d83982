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

/** A host name's labels: 1 to 63 letters, digits, hyphens inside, underscores (RFC 1035 section 2.3.1, loosely). */
const NAME = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/;

/**
 * The registered domain (public suffix + one label), or null for IPs, bare suffixes and non-names. Only it
 * must be a valid name: the labels in front of it are its owner's to write as they like ("-x.", "x-.", a
 * wildcard record answers for them all, and browsers follow such links), so they are not validated.
 */
export function registeredDomain(host: string): string | null {
  return domainOf(host, false);
}

/**
 * The name a URI blocklist lists a host under: the registered domain, except that a site on a free host of
 * the Public Suffix List's private section is the site ("evil.github.io", "x.web.app"), as rspamd's 2tld
 * list and SURBL's two-level-tlds have it: lists list the site, never the host. The host itself (a private
 * suffix, "s3.amazonaws.com") falls back to its registered domain.
 */
export function listedDomain(host: string): string | null {
  return domainOf(host, true) ?? domainOf(host, false);
}

function domainOf(host: string, allowPrivateDomains: boolean): string | null {
  const h = normaliseHost(host);
  if (!h || isIpLiteral(h)) return null;
  const d = getDomain(h, { allowPrivateDomains, validateHostname: false });
  return d && d.length <= 253 && NAME.test(d) ? d : null;
}

/** The Unicode form of a host for display and look-alike comparison. */
export function unicodeHost(host: string): string {
  return domainToUnicode(host) || host;
}
