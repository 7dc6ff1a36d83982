// The name an IP address is looked up under in a DNS blocklist zone (RFC 5782), and which answers are
// listings: used by the DNSBL check on clients, by the URI and e-mail blocklists, and by `petrel domain
// check` on our own addresses.
import { isIP } from 'node:net';

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
