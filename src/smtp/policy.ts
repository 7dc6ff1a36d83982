// Who may send what: relay rules (no open relay: RFC 5321 section 3.6.2, RFC 2505), trusted networks,
// and which sender addresses an authenticated submitter may use (RFC 6409 section 6.1).
import { BlockList, isIP } from 'node:net';
import type { Account } from '../core/model.ts';
import { canonicalAddressOf } from '../directory/address.ts';
import type { DirectoryService } from '../directory/service.ts';

/** A matcher for smtp.trusted_networks (CIDR or single addresses); throws on a malformed entry. */
export function networkMatcher(cidrs: string[]): (ip: string) => boolean {
  if (cidrs.length === 0) return () => false;
  const list = new BlockList();
  for (const c of cidrs) {
    const [net, bits] = c.trim().split('/');
    const family = isIP(net);
    if (!family) throw new Error(`smtp.trusted_networks: not an address: ${c}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(net, type);
    else {
      const prefix = Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128))
        throw new Error(`smtp.trusted_networks: bad prefix length: ${c}`);
      list.addSubnet(net, prefix, type);
    }
  }
  return (ip) => {
    const family = isIP(ip);
    return family !== 0 && list.check(ip, family === 4 ? 'ipv4' : 'ipv6');
  };
}

/**
 * Whether an authenticated account may use this address as MAIL FROM or in From: (account.sendAs):
 * 'own' = its own address, its +tag forms, and aliases or groups that deliver to it; 'domain' = any
 * address of its domain; 'any' = anything. The null sender is only for 'any'.
 */
export async function senderAllowed(dir: DirectoryService, account: Account, address: string | null): Promise<boolean> {
  if (account.sendAs === 'any') return true;
  if (address === null) return false;
  const canonical = canonicalAddressOf(address);
  if (!canonical) return false;
  if (canonical === account.address) return true;
  const [local, domain] = [
    canonical.slice(0, canonical.lastIndexOf('@')),
    canonical.slice(canonical.lastIndexOf('@') + 1),
  ];
  const ownDomain = account.address.slice(account.address.lastIndexOf('@') + 1);
  if (account.sendAs === 'domain') return domain === ownDomain;
  // Sub-addressing (RFC 5233): user+tag is still the user.
  const plus = local.indexOf('+');
  const base = plus > 0 ? `${local.slice(0, plus)}@${domain}` : canonical;
  if (base === account.address) return true;
  // An alias or group (never a catch-all) that lists this account among its targets.
  const alias = await dir.store.getAlias(base);
  // Targets compared in canonical form: aliases stored before targets were normalised may name it as a U-label.
  return !!alias && alias.kind !== 'catchall' && alias.targets.some((t) => canonicalAddressOf(t) === account.address);
}
