// Whether the envelope sender's domain (MAIL FROM) and the author's (From) can take mail at all, as
// Postfix's reject_unknown_sender_domain asks: a domain that does not exist, a null MX (RFC 7505 section
// 4.2: the domain sends no mail), or neither MX nor address records (RFC 5321 section 5.1: a bounce could
// go nowhere). The null reverse-path and our own domains are not looked up; a lookup that fails says
// nothing about the sender. spam.sender_domain.reject refuses the first two for MAIL FROM.
import type { Resolver } from '../../core/ports.ts';
import { isDnsError } from '../../dns/resolver.ts';
import { fromMailboxes } from '../content/sender.ts';
import { boundedResolver } from '../dns.ts';
import type { SpamCheck, SpamSymbol } from '../types.ts';

type Finding = 'nxdomain' | 'null-mx' | 'no-mail';

export interface SenderDomainOptions {
  resolver: Resolver;
  dnsTimeoutMs: number;
  isLocalDomain(domain: string): Promise<boolean>;
  /** Refuse (550 5.7.1 at the end of data) a MAIL FROM domain that does not exist or has a null MX. */
  reject: boolean;
}

const SCORES: Record<Finding, number> = { nxdomain: 4, 'null-mx': 4, 'no-mail': 2 };
const NAMES: Record<Finding, string> = { nxdomain: 'NXDOMAIN', 'null-mx': 'NULL_MX', 'no-mail': 'NO_MAIL' };
const WHY: Record<Finding, string> = {
  nxdomain: 'does not exist',
  'null-mx': 'publishes a null MX (sends and takes no mail)',
  'no-mail': 'has neither MX nor address records',
};

/** What DNS says of a domain as a mail domain, or null when it can take mail or DNS failed. */
async function lookUp(res: Resolver, domain: string): Promise<Finding | null> {
  try {
    const mx = await res.mx(domain);
    if (mx.some((r) => r.exchange === '' || r.exchange === '.')) return 'null-mx';
    if (mx.length > 0) return null;
  } catch (e) {
    return isDnsError(e, 'NXDOMAIN') ? 'nxdomain' : null;
  }
  // No MX: the implicit MX is the domain's own address (RFC 5321 section 5.1).
  const found = await Promise.all(
    [res.a(domain), res.aaaa(domain)].map((p) =>
      p.then(
        (list) => (list.length ? 'yes' : 'no'),
        (e) => (isDnsError(e, 'NXDOMAIN') ? 'no' : 'failed'),
      ),
    ),
  );
  if (found.includes('yes') || found.includes('failed')) return null;
  return 'no-mail';
}

const domainOf = (address: string) => address.slice(address.lastIndexOf('@') + 1).toLowerCase();

export function senderDomainCheck(opts: SenderDomainOptions): SpamCheck {
  return {
    name: 'sender-domain',
    network: true,
    stage: 0,
    async run(ctx, signal) {
      const res = boundedResolver(opts.resolver, opts.dnsTimeoutMs, signal);
      const envelope = ctx.mailFrom?.includes('@') ? domainOf(ctx.mailFrom) : null;
      const author = fromMailboxes(ctx.parsed)[0]?.domain ?? null;
      const check = async (domain: string | null) =>
        domain && !domain.startsWith('[') && !(await opts.isLocalDomain(domain)) ? lookUp(res, domain) : null;
      const [env, from] = await Promise.all([check(envelope), author === envelope ? null : check(author)]);
      const out: SpamSymbol[] = [];
      if (env) {
        const s: SpamSymbol = {
          name: `SENDER_DOMAIN_${NAMES[env]}`,
          score: SCORES[env],
          detail: `MAIL FROM domain ${envelope} ${WHY[env]}`,
        };
        if (opts.reject && env !== 'no-mail') s.force = 'reject';
        out.push(s);
      }
      if (from)
        out.push({
          name: `FROM_DOMAIN_${NAMES[from]}`,
          score: SCORES[from],
          detail: `From domain ${author} ${WHY[from]}`,
        });
      return out;
    },
  };
}
