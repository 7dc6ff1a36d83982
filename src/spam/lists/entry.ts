// Allow and block list entries (`petrel spam allow|block`): what an entry may be, its normal form, and
// whether a message's sender matches it. An entry is an address ("user@example.com", matching that
// address and its +tag forms), a domain ("example.com", "*@example.com", matching it and its subdomains,
// as Postfix's access tables do with parent_domain_matches_subdomains), or an IP address or network
// ("192.0.2.0/24", "2001:db8::/32"; a Postfix-style "192.0.2" is the /24, "10/8" the /8).
import { BlockList, isIP, SocketAddress } from 'node:net';
import { domainToASCII } from 'node:url';

export type ParsedEntry =
  | { type: 'address'; value: string }
  | { type: 'domain'; value: string }
  | { type: 'network'; value: string; net: string; prefix: number; family: 4 | 6 };

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function asciiDomain(d: string): string | null {
  // The URL host parser reads "10/8" as "10", and numbers as IPv4 ("12345" is 0.0.48.57): neither is a
  // domain, nor is a name whose last label is all digits (no top-level domain is, RFC 3696 section 2).
  if (/[/\\%?#:]/.test(d)) return null;
  const a = domainToASCII(d.replace(/\.$/, '').toLowerCase());
  if (!a || a.length > 253 || !a.includes('.') || /\.\d+$/.test(a)) return null;
  return a.split('.').every((l) => LABEL.test(l)) ? a : null;
}

/** An address's 4 or 16 octets (isIP said which; an IPv6 address may end in dotted IPv4). */
function octets(ip: string, family: 4 | 6): number[] {
  if (family === 4) return ip.split('.').map(Number);
  let text = ip;
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number);
    text = `${text.slice(0, v4.index)}:${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const groups = (s: string | undefined) => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
  return all.flatMap((g) => [g >> 8, g & 255]);
}

/**
 * The network in its one spelling: host bits cleared (Postfix's cidr tables refuse them; we take the
 * network they name), IPv6 in RFC 5952 form, and an IPv4-mapped network (::ffff:192.0.2.0/120) as the IPv4
 * network, since an IPv4 client is seen by its IPv4 address (RFC 4291 section 2.5.5.2).
 */
function network(ip: string, prefix: number, family: 4 | 6): ParsedEntry {
  let b = octets(ip, family);
  let fam = family;
  let bits = prefix;
  if (fam === 6 && bits >= 96 && b.slice(0, 10).every((x) => x === 0) && b[10] === 255 && b[11] === 255) {
    b = b.slice(12);
    fam = 4;
    bits -= 96;
  }
  b = b.map((x, i) => (i * 8 >= bits ? 0 : i * 8 + 8 <= bits ? x : x & (0xff << (8 - (bits - i * 8)))));
  const net =
    fam === 4
      ? b.join('.')
      : new SocketAddress({
          address: Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16)).join(':'),
          family: 'ipv6',
        }).address;
  const max = fam === 4 ? 32 : 128;
  return { type: 'network', value: bits === max ? net : `${net}/${bits}`, net, prefix: bits, family: fam };
}

/** The entry in normal form, or an error message saying what it should be. */
export function parseEntry(input: string): ParsedEntry | { error: string } {
  let t = input.trim();
  // Postfix access-table spellings: "192.168" is the network 192.168.0.0/16, ".example.com" its subdomains;
  // and the short networks of ip-route(8): "10/8", "192.168.1/24".
  const partial = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?(\/\d{1,3})?$/.exec(t);
  if (partial) {
    const octets = partial.slice(1, 4).filter((x) => x !== undefined);
    t = `${[...octets, '0', '0', '0'].slice(0, 4).join('.')}${partial[4] ?? `/${8 * octets.length}`}`;
  }
  const slash = t.indexOf('/');
  const ipPart = slash >= 0 ? t.slice(0, slash) : t;
  const family = isIP(ipPart);
  if (family) {
    // A zone index (fe80::1%eth0) names an interface of this host: no client comes from it.
    if (ipPart.includes('%')) return { error: `not an address of a client (zone index): ${t}` };
    const max = family === 4 ? 32 : 128;
    const prefix = slash >= 0 ? Number(t.slice(slash + 1)) : max;
    if (
      !Number.isInteger(prefix) ||
      prefix < 0 ||
      prefix > max ||
      (slash >= 0 && !/^\d{1,3}$/.test(t.slice(slash + 1)))
    )
      return { error: `bad prefix length in ${t} (0-${max})` };
    return network(ipPart, prefix, family as 4 | 6);
  }
  // SpamAssassin's whitelist_from spelling of a domain, "*@example.com" (and "*@*.example.com" for its
  // subdomains, which a domain entry matches too); any other wildcard would be kept as a literal that no
  // sender ever is.
  t = t.replace(/^\*@(?:\*\.)?/, '@');
  if (t.replace(/^\*\./, '').includes('*'))
    return {
      error: `wildcards are not supported in ${input.trim()}: give an address, a domain (its subdomains match) or @domain`,
    };
  const at = t.lastIndexOf('@');
  if (at > 0) {
    const local = t.slice(0, at);
    const domain = asciiDomain(t.slice(at + 1));
    if (!domain || /[\s<>]/.test(local) || local.length > 64) return { error: `not an address: ${t}` };
    return { type: 'address', value: `${local.toLowerCase()}@${domain}` };
  }
  const domain = asciiDomain(t.replace(/^@/, '').replace(/^\*?\./, ''));
  if (!domain) return { error: `not an address, domain or IP network: ${t}` };
  return { type: 'domain', value: domain };
}

/** What a message is matched with: its sender identities (lower-cased, domains as A-labels). */
export interface SenderIdentity {
  clientIp?: string;
  /** Addresses that are the message's sender: the envelope sender and From, each when it counts. */
  addresses: string[];
}

/** Compiles entries into one matcher; returns the first entry a sender identity matches. */
export function entryMatcher<E extends { entry: string }>(entries: E[]): (who: SenderIdentity) => E | null {
  const nets: { e: E; list: BlockList; family: 4 | 6 }[] = [];
  // Every network in one list: a miss (nearly every message) is one check; only a hit looks for its entry.
  const any = new BlockList();
  const addresses = new Map<string, E>();
  const domains = new Map<string, E>();
  for (const e of entries) {
    const p = parseEntry(e.entry);
    if ('error' in p) continue;
    if (p.type === 'network') {
      const list = new BlockList();
      list.addSubnet(p.net, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
      any.addSubnet(p.net, p.prefix, p.family === 4 ? 'ipv4' : 'ipv6');
      nets.push({ e, list, family: p.family });
    } else if (p.type === 'address') addresses.set(p.value, e);
    else domains.set(p.value, e);
  }
  return (who) => {
    const fam = who.clientIp ? isIP(who.clientIp) : 0;
    if (fam && nets.length && any.check(who.clientIp!, fam === 4 ? 'ipv4' : 'ipv6'))
      for (const n of nets)
        if (n.family === fam && n.list.check(who.clientIp!, fam === 4 ? 'ipv4' : 'ipv6')) return n.e;
    for (const given of who.addresses) {
      // Entries hold A-labels; an SMTPUTF8 sender may come with U-labels. "example.com." (the absolute
      // form, RFC 1034 section 3.1) is the same domain: a From header may write it so.
      const at = given.lastIndexOf('@');
      const host = given
        .slice(at + 1)
        .toLowerCase()
        .replace(/\.$/, '');
      const ascii = domainToASCII(host) || host;
      const local = given.slice(0, at).toLowerCase();
      // user+tag@domain, then user@domain, as Postfix's access tables look it up (access(5), EXTENSION):
      // a tag must not take a blocked sender past its entry.
      const plus = local.indexOf('+');
      const hit =
        addresses.get(`${local}@${ascii}`) ??
        (plus > 0 ? addresses.get(`${local.slice(0, plus)}@${ascii}`) : undefined);
      if (hit) return hit;
      // The domain and each parent: a.b.example.com, b.example.com, example.com.
      let d = ascii;
      for (;;) {
        const e = domains.get(d);
        if (e) return e;
        const dot = d.indexOf('.');
        if (dot < 0) break;
        d = d.slice(dot + 1);
      }
    }
    return null;
  };
}
