// Where an aggregate report may go: the record's rua URIs (mailto only, with the size limit "!10m" that
// RFC 7489 section 6.2 allowed), each outside the policy domain's Organizational Domain confirmed by the
// destination's "<policy domain>._report._dmarc.<destination host>" record (RFC 9990 section 4), which may
// replace the URI with one of the same host. Anything unconfirmed or malformed is dropped.
import type { Resolver } from '../../core/ports.ts';
import { type Destination, parseUri } from '../../reports/mailto.ts';
import { recordTags } from '../../reports/tags.ts';
import { registeredDomain } from '../content/domain.ts';

const hostOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();
const orgDomain = (host: string) => registeredDomain(host) ?? host;

/** The DMARC1 tag lists published at `name` (first tag v=DMARC1), or [] (none, or the lookup failed). */
async function confirmations(resolver: Resolver, name: string): Promise<Map<string, string>[]> {
  if (name.length > 253 || name.split('.').some((l) => l.length > 63)) return [];
  let txt: string[][];
  try {
    txt = await resolver.txt(name);
  } catch {
    return [];
  }
  return txt
    .map((r) => r.join(''))
    .filter((r) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(r))
    .map(recordTags);
}

/**
 * The confirmed destinations of a policy domain's rua URIs, in the order given, each address once. For
 * failure reports the ruf URIs go through the same check with the "ruf" tag (RFC 9991 section 5).
 */
export async function destinations(
  resolver: Resolver,
  policyDomain: string,
  rua: string[],
  tag: 'rua' | 'ruf' = 'rua',
): Promise<Destination[]> {
  const out: Destination[] = [];
  const add = (d: Destination) => {
    if (!out.some((x) => x.address.toLowerCase() === d.address.toLowerCase())) out.push(d);
  };
  // RFC 9990 section 3.5: "up to the Receiver's limits on supported URIs".
  for (const uri of rua.slice(0, 5)) {
    const d = parseUri(uri);
    if (!d) continue;
    const host = hostOf(d.address);
    if (orgDomain(host) === orgDomain(policyDomain)) {
      add(d);
      continue;
    }
    const found = await confirmations(resolver, `${policyDomain}._report._dmarc.${host}`);
    if (found.length === 0) continue;
    const override = found.find((t) => t.get(tag))?.get(tag);
    if (!override) {
      add(d);
      continue;
    }
    // The override must keep the destination host; one that points elsewhere voids both.
    const replaced = override.split(',').map(parseUri);
    if (replaced.some((r) => !r || hostOf(r.address) !== host)) continue;
    for (const r of replaced) if (r) add(r);
  }
  return out;
}
