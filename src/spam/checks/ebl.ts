// E-mail address blocklists (MSBL's EBL; SpamAssassin's HashBL, rspamd's "emails" module): lists of the
// drop boxes scams ask to be answered at, usually at free mailers whose domains no URI blocklist can list.
// The addresses a message gives for replies (Reply-To, From, the envelope sender, then the body text and
// mailto: links; never one at our own domains, which are nobody else's business) are lower-cased, lose
// any +tag, are hashed (SHA-1 by default; the lists publish hashes, so the addresses themselves are not
// sent) and looked up as <hex hash>.<zone>, all in parallel under one timeout. An answer in 127.0.0.0/8 is a listing, its code
// read as for the URI blocklists; a failed lookup scores nothing (<SYMBOL>_FAIL).
import { createHash } from 'node:crypto';
import type { Config } from '../../config/schema.ts';
import type { Resolver, Store } from '../../core/ports.ts';
import { shownZone } from '../../dns/dnsbl-name.ts';
import type { Logger } from '../../telemetry/log.ts';
import { normalizeAddress } from '../content/emails.ts';
import { fromMailboxes, localDomains, replyToMailboxes } from '../content/sender.ts';
import { zoneTroubleWarner } from '../dns.ts';
import { type ContentScanner, contentScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';
import { blocklistLookup, oneSymbolEach, parseZone, type UriblZone } from './uribl.ts';

const HASHES = ['sha1', 'md5', 'sha256'] as const;
type HashName = (typeof HASHES)[number];

export interface EblZone extends UriblZone {
  hash: HashName;
}

/** Parses one `spam.ebl.zones` entry: a URI blocklist entry with an optional "hash=sha1|md5|sha256". */
export function parseEblZone(spec: string): EblZone | null {
  const tokens = spec.trim().split(/\s+/);
  const hashToken = tokens.find((t) => /^hash=/i.test(t));
  const hash = (hashToken?.slice(5).toLowerCase() ?? 'sha1') as HashName;
  if (!HASHES.includes(hash)) throw new Error(`spam.ebl.zones: unknown hash in "${spec}" (sha1, md5 or sha256)`);
  const rest = tokens.filter((t) => t !== hashToken);
  const z = parseZone(rest.join(' '), 'spam.ebl.zones');
  if (!z) return null;
  // A zone without a symbol of its own is named for the kind of list it is.
  if (rest.length < 2)
    z.symbol = `EBL_${shownZone(z.zone)
      .toUpperCase()
      .replace(/[^A-Z0-9]+/g, '_')}`;
  return { ...z, hash };
}

/** The query label for an address under a zone: its hash, in lower-case hex. */
export function addressLabel(address: string, hash: HashName): string {
  return createHash(hash).update(normalizeAddress(address)).digest('hex');
}

export function eblCheck(deps: {
  resolver: Resolver;
  store: Store;
  config: Config;
  scanner?: ContentScanner;
  log?: Logger;
}): SpamCheck {
  const cfg = deps.config.spam.ebl;
  const trouble = zoneTroubleWarner(deps.log);
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  const zones = cfg.zones.map((z) => parseEblZone(z)).filter((z): z is EblZone => z !== null);
  return {
    name: 'ebl',
    network: true,
    async run(ctx, signal) {
      if (!zones.length) return [];
      const { addresses: inBody } = await contentScan(ctx, scanner, signal);
      const ours = await localDomains(deps.store);
      // The first Reply-To and From and the envelope sender, then the body's, then any further Reply-To and
      // From mailboxes: a header naming a dozen addresses must not crowd the body's out of max_addresses.
      const [replyTo, ...moreReplyTo] = replyToMailboxes(ctx.parsed).map((m) => m.address);
      const [from, ...moreFrom] = fromMailboxes(ctx.parsed).map((m) => m.address);
      const first = [replyTo, from, ctx.mailFrom].filter((a): a is string => !!a);
      const addresses = new Set<string>();
      for (const a of [...first, ...inBody, ...moreReplyTo, ...moreFrom]) {
        if (addresses.size >= cfg.max_addresses) break;
        const n = normalizeAddress(a);
        const domain = n.slice(n.lastIndexOf('@') + 1);
        if (n.includes('@') && !ours.has(domain)) addresses.add(n);
      }
      const budget = AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout_ms)]);
      const jobs: Promise<SpamSymbol[]>[] = [];
      for (const a of addresses)
        for (const z of zones)
          jobs.push(
            blocklistLookup(deps.resolver, `${addressLabel(a, z.hash)}.${z.zone}`, a, z, cfg.score, budget, trouble),
          );
      return oneSymbolEach((await Promise.all(jobs)).flat());
    },
  };
}
