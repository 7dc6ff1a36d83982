// HELO/EHLO name sanity (RFC 5321 section 4.1.1.1 and 2.3.5: a fully qualified domain name, or an
// address literal in brackets). Names that are bare IPs, single labels, or claim to be this server or one
// of our domains are what spam software sends; each is a symbol. No DNS here.
import { isIP } from 'node:net';
import { canonicalAddress } from '../../net/connection.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

export function heloCheck(opts: { isLocalDomain: (d: string) => Promise<boolean> }): SpamCheck {
  return {
    name: 'helo',
    stage: 0,
    async run(ctx) {
      const helo = ctx.helo?.trim().toLowerCase();
      if (helo === undefined || !ctx.clientIp) return [];
      const out: SpamSymbol[] = [];
      if (helo === '') return [{ name: 'HELO_EMPTY', score: 2 }];
      const literal = /^\[(?:ipv6:)?([^\]]+)\]$/.exec(helo);
      if (literal) {
        // An address literal is allowed; one that is not the client's own address is a lie.
        // One spelling per address: RFC 5321 section 4.1.3 allows IPv6-full and IPv6-comp ("0:0:0:0:0:0:0:1"
        // and "::1"); an IPv4-mapped address is its IPv4 address, as the client address is.
        if (isIP(literal[1]) && canonicalAddress(literal[1]) !== canonicalAddress(ctx.clientIp))
          out.push({ name: 'HELO_IP_MISMATCH', score: 1, detail: `${helo} from ${ctx.clientIp}` });
        return out;
      }
      if (isIP(helo)) out.push({ name: 'HELO_BARE_IP', score: 2, detail: helo });
      else if (!helo.includes('.')) out.push({ name: 'HELO_NOT_FQDN', score: 1.5, detail: helo });
      else if (!/^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9])?(?:\.[a-z0-9_](?:[a-z0-9_-]*[a-z0-9])?)+$/.test(helo))
        out.push({ name: 'HELO_BAD_SYNTAX', score: 1.5, detail: helo });
      else if (helo === ctx.hostname.toLowerCase() || (await opts.isLocalDomain(helo).catch(() => false)))
        out.push({ name: 'HELO_CLAIMS_LOCAL', score: 3, detail: helo });
      return out;
    },
  };
}
