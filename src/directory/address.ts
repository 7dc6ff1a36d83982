// Address and domain syntax for accounts, aliases and domains we host (stricter than RFC 5321 on purpose).
import { domainToASCII } from 'node:url';
import { PetrelError } from '../core/errors.ts';

/** Lower-case ASCII form of a domain (IDNs as A-labels), or an INVALID_ARGUMENT error. */
export function normaliseDomain(input: string): string {
  const d = domainToASCII(input.trim().replace(/\.$/, '').toLowerCase());
  if (
    !d ||
    d.length > 253 ||
    !d.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l) || /^xn--[a-z0-9-]+$/.test(l))
  )
    throw new PetrelError('INVALID_ARGUMENT', `not a valid domain name: ${input}`);
  return d;
}

/**
 * Whether mail to a domain (an A-label, as normaliseDomain gives) can leave for the internet: at least two
 * labels. "localhost" or a bare host name is ours or nobody's; the queue refuses it (routableAddress).
 */
export function isRoutableDomain(domain: string): boolean {
  return /^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(domain);
}

/**
 * Splits and checks an address we host. Local parts are dot-atoms of letters, digits and . _ - (no '+',
 * which is the sub-address separator, and no quoting): what every client and MTA handles.
 */
export function parseHostedAddress(input: string): { localPart: string; domain: string; address: string } {
  const at = input.lastIndexOf('@');
  if (at <= 0) throw new PetrelError('INVALID_ARGUMENT', `not a valid address: ${input}`);
  const localPart = input.slice(0, at).toLowerCase();
  const domain = normaliseDomain(input.slice(at + 1));
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/.test(localPart) || localPart.length > 64)
    throw new PetrelError('INVALID_ARGUMENT', `not a valid local part: ${input.slice(0, at)}`);
  return { localPart, domain, address: `${localPart}@${domain}` };
}

/**
 * Lower-cased local@domain with the domain as an A-label (RFC 5890 section 2.3.2.1), or null when the
 * domain is not valid: the form addresses are stored in, so an address given in any form (case, U-label,
 * A-label) finds the same entry.
 */
export function canonicalAddress(localPart: string, domain: string): string | null {
  try {
    return `${localPart.toLowerCase()}@${normaliseDomain(domain)}`;
  } catch {
    return null;
  }
}

/** canonicalAddress of an address given whole (a user name at sign-in, an alias target), or null. */
export function canonicalAddressOf(address: string): string | null {
  const at = address.lastIndexOf('@');
  return at > 0 ? canonicalAddress(address.slice(0, at), address.slice(at + 1)) : null;
}
