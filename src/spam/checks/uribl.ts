// URI blocklists (SURBL/URIBL/Spamhaus DBL style): the registered domain of every link, and every IP
// literal reversed, is looked up as an A record under each configured zone, and (spam.uribl.sender_domains)
// so are the domains the sender names itself by: envelope sender, From, Reply-To, HELO, as Spamhaus
// advises for the DBL and rspamd does. An answer 127.x.y.z lists it,
// and its last octet's bits (or the whole address) name what for. All lookups run in parallel under one
// timeout; a lookup that fails scores nothing (URIBL_<zone>_FAIL detail), NXDOMAIN means not listed.
import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { Resolver, Store } from '../../core/ports.ts';
import { isPrivateAddress, notListing, shownQuery, shownZone } from '../../dns/dnsbl-name.ts';
import { isDnsError } from '../../dns/resolver.ts';
import type { Logger } from '../../telemetry/log.ts';
import { listedDomain, registeredDomain } from '../content/domain.ts';
import { fromMailboxes, localDomains, replyToMailboxes } from '../content/sender.ts';
import { type ZoneTrouble, zoneTroubleWarner } from '../dns.ts';
import { type ContentScanner, contentScan, inlineScanner } from '../scan/scanner.ts';
import type { SpamCheck, SpamContext, SpamSymbol } from '../types.ts';

export interface UriblZone {
  zone: string;
  symbol: string;
  score?: number;
  /** Bit masks of the answer's last octet, or whole answer addresses, to the symbol they mean. */
  codes: { mask?: number; address?: string; symbol: string; score?: number }[];
}

/**
 * Parses one `spam.uribl.zones` entry: "zone SYMBOL[:score] [mask:SYMBOL[:score] | a.b.c.d:SYMBOL[:score]]...";
 * null for an empty one. Throws, naming `key` and the entry, on anything that does not parse: a code
 * dropped without a word would leave its answer to the zone's base symbol and score (a "query refused"
 * code scored as a listing).
 */
export function parseZone(spec: string, key = 'spam.uribl.zones'): UriblZone | null {
  const [zone, base, ...codes] = spec.trim().split(/\s+/);
  if (!zone) return null;
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)+\.?$/i.test(zone)) throw new Error(`${key}: bad zone in "${spec}"`);
  const bad = (part: string) =>
    new Error(
      `${key}: "${part}" in "${spec}" is not ${part === base ? 'SYMBOL[:score]' : 'MASK:SYMBOL[:score] or 127.x.y.z:SYMBOL[:score]'}`,
    );
  const number = (x: string | undefined) =>
    x !== undefined && x !== '' && Number.isFinite(Number(x)) ? Number(x) : null;
  const b = base === undefined ? null : /^([A-Z0-9_]+)(?::([^:]*))?$/i.exec(base);
  if (base !== undefined && (!b || (b[2] !== undefined && number(b[2]) === null))) throw bad(base);
  const out: UriblZone = {
    zone: zone.toLowerCase().replace(/\.$/, ''),
    symbol: b
      ? b[1].toUpperCase()
      : `URIBL_${shownZone(zone.toLowerCase())
          .toUpperCase()
          .replace(/[^A-Z0-9]+/g, '_')}`,
    codes: [],
  };
  if (b?.[2] !== undefined) out.score = Number(b[2]);
  for (const c of codes) {
    const m = /^(\d+(?:\.\d+){3}|\d+):([A-Z0-9_]+)(?::([^:]*))?$/i.exec(c);
    if (
      !m ||
      (m[1].includes('.') ? isIP(m[1]) !== 4 : Number(m[1]) > 255) ||
      (m[3] !== undefined && number(m[3]) === null)
    )
      throw bad(c);
    const code = m[1].includes('.') ? { address: m[1] } : { mask: Number(m[1]) };
    out.codes.push({ ...code, symbol: m[2].toUpperCase(), ...(m[3] !== undefined ? { score: Number(m[3]) } : {}) });
  }
  return out;
}

/** The symbols an answer means for a zone. */
export function meaning(z: UriblZone, answer: string, defaultScore: number): { symbol: string; score: number }[] {
  const last = Number(answer.split('.')[3] ?? 0);
  const hits = z.codes.filter((c) => (c.address ? c.address === answer : ((c.mask ?? 0) & last) !== 0));
  if (hits.length) return hits.map((h) => ({ symbol: h.symbol, score: h.score ?? defaultScore }));
  return [{ symbol: z.symbol, score: z.score ?? defaultScore }];
}

/**
 * The names to look up for a message: registered domains (a site on a free host: its own name; not ours),
 * and IP literals reversed, but not a private or loopback one (SpamAssassin's URIDNSBL looks an IP host up
 * only "if it is public": an intranet link would tell the list's operator our network's layout, and no
 * public list lists it).
 */
export function lookupNames(hosts: string[], ours: Set<string>, max: number): string[] {
  const names = new Set<string>();
  for (const h of hosts) {
    if (names.size >= max) break;
    if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(h)) {
      if (!isPrivateAddress(h, { loopback: true })) names.add(h.split('.').reverse().join('.'));
    } else {
      const d = listedDomain(h);
      if (d && !ours.has(d) && !ours.has(registeredDomain(d) ?? d)) names.add(d);
    }
  }
  return [...names];
}

/**
 * The host names a message's sender goes by: envelope sender, the first From and Reply-To, HELO (not an IP
 * literal), then the other From and Reply-To mailboxes' domains.
 */
export function senderHosts(ctx: SpamContext): string[] {
  const hosts: string[] = [];
  const at = ctx.mailFrom?.lastIndexOf('@') ?? -1;
  if (ctx.mailFrom && at > 0) hosts.push(ctx.mailFrom.slice(at + 1));
  const [from, ...moreFrom] = fromMailboxes(ctx.parsed);
  const [replyTo, ...moreReplyTo] = replyToMailboxes(ctx.parsed);
  for (const m of [from, replyTo]) if (m) hosts.push(m.domain);
  if (ctx.helo && /[a-z]/i.test(ctx.helo) && !ctx.helo.startsWith('[')) hosts.push(ctx.helo);
  for (const m of [...moreFrom, ...moreReplyTo]) hosts.push(m.domain);
  return hosts.map((h) => h.toLowerCase());
}

/** Sender names looked up before the links; a header naming more domains has the rest after them. */
const SENDER_NAMES = 4;

export function uriblCheck(deps: {
  resolver: Resolver;
  store: Store;
  config: Config;
  scanner?: ContentScanner;
  log?: Logger;
}): SpamCheck {
  const cfg = deps.config.spam.uribl;
  const trouble = zoneTroubleWarner(deps.log);
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  const zones = cfg.zones.map((z) => parseZone(z)).filter((z): z is UriblZone => z !== null);
  return {
    name: 'uribl',
    network: true,
    async run(ctx, signal) {
      if (!zones.length) return [];
      const { urls, addresses } = await contentScan(ctx, scanner, signal);
      const ours = await localDomains(deps.store);
      // The sender's own names first: they are few, and max_domains must not crowd them out; but no more
      // than SENDER_NAMES, or a Reply-To naming twenty domains would crowd out every link.
      const sender = cfg.sender_domains ? lookupNames(senderHosts(ctx), ours, cfg.max_domains) : [];
      const senders = new Set(sender);
      // Then links the reader is asked to open (href, form action, text), then the domains of the addresses
      // the body gives for replies (rspamd's emails check: a drop box at a listed domain needs no link),
      // then what loads by itself (img src ...), as SpamAssassin's URIDNSBL prefers <a href> domains past
      // uridnsbl_max_domains: thirty image hosts in front must not push the link out of max_domains.
      const hosts = [
        ...urls.filter((u) => u.attr !== 'src').map((u) => u.host),
        ...addresses.map((a) => a.slice(a.lastIndexOf('@') + 1)),
        ...urls.filter((u) => u.attr === 'src').map((u) => u.host),
      ];
      const names = lookupNames(
        [...sender.slice(0, SENDER_NAMES), ...hosts, ...sender.slice(SENDER_NAMES)],
        ours,
        cfg.max_domains,
      );
      const budget = AbortSignal.any([signal, AbortSignal.timeout(cfg.timeout_ms)]);
      const jobs: Promise<SpamSymbol[]>[] = [];
      for (const name of names)
        for (const z of zones) {
          const shown = `${name}${senders.has(name) ? ' [sender]' : ''}`;
          jobs.push(blocklistLookup(deps.resolver, `${name}.${z.zone}`, shown, z, cfg.score, budget, trouble));
        }
      return oneSymbolEach((await Promise.all(jobs)).flat());
    },
  };
}

/** One symbol per name: several listed names add the score once, the detail lists them all. */
export function oneSymbolEach(found: SpamSymbol[]): SpamSymbol[] {
  const bySymbol = new Map<string, SpamSymbol>();
  for (const s of found) {
    const prev = bySymbol.get(s.name);
    if (!prev) bySymbol.set(s.name, s);
    else if (prev.detail && s.detail && prev.detail.length < 300) prev.detail += `, ${s.detail}`;
  }
  return [...bySymbol.values()];
}

/**
 * One blocklist query (an A record under a zone): the symbols its answers mean, none for NXDOMAIN, a
 * zero-score <SYMBOL>_FAIL when the lookup fails. `shown`: what the detail names (the domain, the address).
 */
export async function blocklistLookup(
  res: Resolver,
  query: string,
  shown: string,
  z: UriblZone,
  score: number,
  signal: AbortSignal,
  trouble?: ZoneTrouble,
): Promise<SpamSymbol[]> {
  let answers: string[];
  const tag = z.symbol.replace(/[^A-Z0-9_]/gi, '_').toUpperCase();
  // Details and the log name the zone without its access key (a secret).
  const zone = shownZone(z.zone);
  const q = shownQuery(query, z.zone);
  try {
    answers = await abortable(res.a(query), signal);
  } catch (e) {
    if (isDnsError(e, 'NXDOMAIN')) return [];
    return [{ name: `${tag}_FAIL`, score: 0, detail: `${q}: ${(e as Error).message.replaceAll(z.zone, zone)}` }];
  }
  const out: SpamSymbol[] = [];
  for (const a of answers) {
    // An error code (Spamhaus's 127.255.255.x) or a resolver's own answer: the zone did not answer, and
    // must not score as a listing of every link (the zone's base symbol) when a resolver is refused.
    // SURBL and URIBL answer 127.0.0.1 when they refuse a query (rspamd's SURBL_BLOCKED, URIBL_BLOCKED): not
    // a listing either, unless the zone's codes give it a meaning of their own.
    const refused =
      a === '127.0.0.1' && !z.codes.some((c) => c.address === a || ((c.mask ?? 0) & 1) !== 0)
        ? '127.0.0.1: the zone refused the query (use a resolver of your own)'
        : null;
    const error = notListing(a) ?? refused;
    if (error) {
      out.push({ name: `${tag}_BLOCKED`, score: 0, detail: `${q}: ${error}` });
      trouble?.(zone, error);
      continue;
    }
    for (const m of meaning(z, a, score))
      out.push({ name: m.symbol, score: m.score, detail: `${shown} (${zone} ${a})` });
  }
  return out;
}

function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('timed out'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new Error('timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
