// DNS blocklists on the client IP (RFC 5782): the query name is the IPv4 address's octets reversed, or
// the IPv6 address's 32 nibbles reversed (section 2.4), under each zone; an A answer in 127.0.0.0/8 is a
// listing whose code says why. Zones and code meanings come from config (spam.dnsbl.zones).
import { isIP } from 'node:net';
import type { Resolver } from '../../core/ports.ts';
import { dnsblName, isPrivateAddress, notListing, shownZone } from '../../dns/dnsbl-name.ts';
import { listingReason } from '../../dns/dnsbl-reason.ts';
import { isDnsError } from '../../dns/resolver.ts';
import { boundedResolver, type ZoneTrouble } from '../dns.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

export interface DnsblCode {
  /** Inclusive range of 127.x.y.z answers as numbers. */
  from: number;
  to: number;
  symbol: string;
  /** A score, or 'reject' to refuse the message whatever the score. */
  score: number | 'reject';
}

export interface DnsblZone {
  zone: string;
  /** Empty: any 127/8 answer is a listing scored `defaultScore` as RBL_<ZONE>. */
  codes: DnsblCode[];
  /** False: a listing's TXT record (its reason) is not looked up (spam.dnsbl.skip_txt); absent: it is. */
  txt?: boolean;
}

/** The least time a listing's TXT lookup is given, however fast its A answer came (a cached one). */
const TXT_WAIT_MIN_MS = 150;

function ipNumber(ip: string): number {
  return ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

/** Symbol-safe upper case of a zone or name. */
const tag = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]+/g, '_');

/**
 * Parses one spam.dnsbl.zones entry: "zone" or "zone=CODE:SYMBOL:SCORE,...", CODE an address or "a-b";
 * SYMBOL is prefixed RBL_ when it is not already. Throws with the entry on a mistake.
 */
export function parseZone(entry: string): DnsblZone {
  const eq = entry.indexOf('=');
  const zone = (eq < 0 ? entry : entry.slice(0, eq)).trim().toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(zone)) throw new Error(`spam.dnsbl.zones: bad zone in "${entry}"`);
  const codes: DnsblCode[] = [];
  if (eq >= 0)
    for (const part of entry.slice(eq + 1).split(',')) {
      const [range, symbol, score] = part.split(':').map((x) => x?.trim());
      const [a, b] = (range ?? '').split('-');
      if (isIP(a) !== 4 || (b !== undefined && isIP(b) !== 4) || !symbol || score === undefined)
        throw new Error(`spam.dnsbl.zones: "${part}" in "${entry}" is not CODE:SYMBOL:SCORE`);
      const n = score === 'reject' ? 'reject' : Number(score);
      if (n !== 'reject' && !Number.isFinite(n)) throw new Error(`spam.dnsbl.zones: bad score in "${part}"`);
      codes.push({
        from: ipNumber(a),
        to: ipNumber(b ?? a),
        symbol: symbol.toUpperCase().startsWith('RBL_') ? tag(symbol) : `RBL_${tag(symbol)}`,
        score: n,
      });
    }
  return { zone, codes };
}

export { dnsblName };

/** Whether spam.dnsbl.skip_txt names `zone` (as parsed: lower case, no final dot). */
export function skipsTxt(skip: string[], zone: string): boolean {
  return skip.some((e) => e.trim().toLowerCase().replace(/\.$/, '') === zone);
}

export function dnsblCheck(opts: {
  resolver: Resolver;
  zones: DnsblZone[];
  defaultScore: number;
  dnsTimeoutMs: number;
  /** Told of a zone's error code or foreign answer (a warning in the log). */
  trouble?: ZoneTrouble;
}): SpamCheck {
  return {
    name: 'dnsbl',
    network: true,
    stage: 0,
    async run(ctx, signal) {
      const ip = ctx.clientIp;
      // A client on a private network is our own relay or a proxy in front of us: no public list lists it,
      // and asking would tell the list's operator our network's layout (rspamd's exclude_private_ips).
      // Loopback is still looked up: 127.0.0.2 is every list's test entry (RFC 5782 section 5).
      if (!ip || opts.zones.length === 0 || isPrivateAddress(ip)) return [];
      const res = boundedResolver(opts.resolver, opts.dnsTimeoutMs, signal);
      // The TXT record of a listing, asked for only once the A answer lists the client (as Postfix does), so a
      // client no list names costs one query per zone, not two. It is waited for at most twice as long as
      // that answer took (at least TXT_WAIT_MIN_MS, at most a lookup's limit): the same server answering the
      // same name; a list that ignores TXT queries must not hold the verdict back. Failing, it says nothing.
      const listingText = async (name: string, zone: string, aMs: number): Promise<string> => {
        const waitMs = Math.min(opts.dnsTimeoutMs, Math.max(TXT_WAIT_MIN_MS, 2 * aMs));
        try {
          return listingReason(await boundedResolver(opts.resolver, waitMs, signal).txt(name), zone);
        } catch {
          return '';
        }
      };
      const perZone = await Promise.all(
        opts.zones.map(async (z): Promise<SpamSymbol[]> => {
          const name = dnsblName(ip, z.zone);
          if (!name) return [];
          // Symbols, details and the log name the zone without its access key (a secret).
          const zone = shownZone(z.zone);
          let answers: string[];
          const asked = performance.now();
          try {
            answers = await res.a(name);
          } catch (e) {
            if (isDnsError(e, 'NXDOMAIN')) return [];
            return [
              { name: `RBL_${tag(zone)}_TEMPERROR`, score: 0, detail: (e as Error).message.replaceAll(z.zone, zone) },
            ];
          }
          // Only 127.0.0.0/8 answers mean a listing; an error code or a resolver's own answer tells the
          // admin, with a zero score, that the zone does not work from here.
          const listed = answers.filter((a) => !notListing(a));
          const errors = answers.map(notListing).filter((e) => e !== null);
          const out: SpamSymbol[] = [];
          if (errors.length) {
            out.push({ name: `RBL_${tag(zone)}_BLOCKED`, score: 0, detail: `${zone}: ${errors.join('; ')}` });
            opts.trouble?.(zone, errors.join('; '));
          }
          const hits: SpamSymbol[] = [];
          if (z.codes.length === 0 && listed.length)
            hits.push({ name: `RBL_${tag(zone)}`, score: opts.defaultScore, detail: `${zone} ${listed.join(',')}` });
          for (const a of listed)
            for (const c of z.codes)
              if (ipNumber(a) >= c.from && ipNumber(a) <= c.to && !hits.some((s) => s.name === c.symbol)) {
                const detail = `${ip} listed in ${zone} (${a})`;
                // The refusal the client reads names the listing by its symbol, not the zone: a zone queried
                // under a key (Spamhaus DQS "<key>.zen.dq.spamhaus.net") would hand the key to every
                // refused client (Spamhaus's Postfix guide has rbl_reply_maps say "blocked using ZEN").
                hits.push(
                  c.score === 'reject'
                    ? {
                        name: c.symbol,
                        score: 0,
                        force: 'reject',
                        detail: `Client host ${ip} listed in ${c.symbol} (${a})`,
                      }
                    : { name: c.symbol, score: c.score, detail },
                );
              }
          // The list's reason after "; ", as Postfix's default reply puts $rbl_reason: a refusal's detail is
          // the 550 text (spam/inbound.ts makes it one line of printable ASCII again, whatever the detail).
          const reason =
            hits.length && z.txt !== false ? await listingText(name, z.zone, performance.now() - asked) : '';
          if (reason) for (const h of hits) h.detail = `${h.detail}; ${reason}`;
          return [...out, ...hits];
        }),
      );
      return perZone.flat();
    },
  };
}
