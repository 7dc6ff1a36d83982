// The name an IP address is looked up under in a DNS blocklist zone (RFC 5782), which answers are listings,
// and which addresses are not to be asked about (private networks): used by the DNSBL check on clients, by
// the URI and e-mail blocklists, and by `petrel domain check` on our own addresses.
import { BlockList, isIP } from 'node:net';

/** The query name for an IP under a zone (RFC 5782 section 2.1 and 2.4); null for something not an IP. */
export function dnsblName(ip: string, zone: string): string | null {
  const family = isIP(ip);
  if (family === 4) return `${ip.split('.').reverse().join('.')}.${zone}`;
  if (family !== 6) return null;
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return dnsblName(v4[1], zone);
  // The last 32 bits written dotted (RFC 4291 section 2.2: "::13.1.68.3", NAT64's "64:ff9b::192.0.2.33") are
  // two groups. Then expand "::" and pad each group to four nibbles.
  const hex = ip.toLowerCase().replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_, a, b, c, d) => {
    const h = (x: string, y: string) => ((Number(x) << 8) | Number(y)).toString(16);
    return `${h(a, b)}:${h(c, d)}`;
  });
  const [head, tail] = hex.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t];
  const nibbles = groups.map((g) => g.padStart(4, '0')).join('');
  return `${[...nibbles].reverse().join('.')}.${zone}`;
}

/**
 * Why a blocklist's A answer is not a listing, or null when it is one. RFC 5782 section 2.3: a listing
 * answers in 127.0.0.0/8. 127.255.255.0/24 are the operators' error codes (Spamhaus: .252 a typo in the
 * zone, .254 a query through a public resolver, .255 too many queries), which rspamd scores as *_BLOCKED,
 * never as a listing; an answer outside 127.0.0.0/8 is a resolver's own (one that rewrites NXDOMAIN).
 */
export function notListing(answer: string): string | null {
  if (!answer.startsWith('127.')) return `${answer} is outside 127.0.0.0/8 (a resolver rewriting answers?)`;
  if (answer.startsWith('127.255.255.')) return `${answer}: the zone refused the query (use a resolver of your own)`;
  return null;
}

// Private and link-local networks (RFC 1918, RFC 6598 shared, RFC 3927, RFC 4193, RFC 4291), and loopback.
const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
] as const)
  PRIVATE.addSubnet(net, bits, 'ipv4');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');
const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * Whether an address is on a private or link-local network (or, with `loopback`, this host): one no public
 * blocklist lists, and whose lookup would tell the list's operator the layout of our network.
 */
export function isPrivateAddress(ip: string, opts: { loopback?: boolean } = {}): boolean {
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? (isIP(ip) === 4 ? ip : null);
  const [addr, type] = v4 ? [v4, 'ipv4' as const] : isIP(ip) === 6 ? [ip, 'ipv6' as const] : [null, null];
  if (!addr || !type) return false;
  return PRIVATE.check(addr, type) || (!!opts.loopback && LOOPBACK.check(addr, type));
}

/**
 * A zone as symbols, details and logs may show it: without an access key as its first label (Spamhaus
 * DQS "<key>.zen.dq.spamhaus.net", Abusix "<key>.combined.mail.abusix.zone"), which is a secret: symbols
 * reach X-Spam-Status in users' mailboxes and details the log. A first label of 20 or more letters and
 * digits in a zone of three labels or more is taken for a key (no list names a zone so).
 */
export function shownZone(zone: string): string {
  const dot = zone.indexOf('.');
  return dot >= 20 && /^[a-z0-9]+$/i.test(zone.slice(0, dot)) && zone.indexOf('.', dot + 1) > 0
    ? zone.slice(dot + 1)
    : zone;
}

/** A query name under `zone` as it may be shown (shownZone). */
export function shownQuery(query: string, zone: string): string {
  const shown = shownZone(zone);
  return shown !== zone && query.endsWith(`.${zone}`) ? `${query.slice(0, -zone.length)}${shown}` : query;
}
