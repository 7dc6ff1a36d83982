// The sender authentication, connection and envelope checks, built from [spam] config (auth, dnsbl,
// fcrdns, helo, greylist). A bad value stops the start with the key's name.
import { parseDuration } from '../../config/duration.ts';
import { localDomains } from '../content/sender.ts';
import { zoneTroubleWarner } from '../dns.ts';
import type { SpamCheck } from '../types.ts';
import { authCheck } from './auth.ts';
import { dnsblCheck, parseZone, skipsTxt } from './dnsbl.ts';
import { fcrdnsCheck } from './fcrdns.ts';
import { greylistCheck } from './greylist.ts';
import { heloCheck } from './helo.ts';
import type { CheckDeps } from './index.ts';
import { senderDomainCheck } from './sender-domain.ts';

export function senderChecks(deps: CheckDeps): SpamCheck[] {
  const c = deps.config.spam;
  const dnsTimeoutMs = c.dns_timeout_ms;
  const out: SpamCheck[] = [];
  if (c.auth.enabled)
    out.push(
      authCheck({
        resolver: deps.resolver,
        dnsTimeoutMs,
        dmarcEnforce: c.auth.dmarc_enforce,
        dmarcNoEnforce: domainSet(c.auth.dmarc_no_enforce),
        arcTrustedSealers: domainSet(c.auth.arc_trusted_sealers),
        dkimPartialBody: c.auth.dkim_partial_body,
        noAuthorDomain: c.auth.no_author_domain,
      }),
    );
  if (c.dnsbl.zones.length)
    out.push(
      dnsblCheck({
        resolver: deps.resolver,
        zones: c.dnsbl.zones.map(parseZone).map((z) => ({ ...z, txt: !skipsTxt(c.dnsbl.skip_txt, z.zone) })),
        defaultScore: c.dnsbl.default_score,
        dnsTimeoutMs,
        trouble: zoneTroubleWarner(deps.log),
      }),
    );
  if (c.fcrdns.enabled) out.push(fcrdnsCheck({ resolver: deps.resolver, dnsTimeoutMs }));
  // Per message: the hosted domains cached for a minute, as the content checks read them.
  const isLocalDomain = async (d: string) => (await localDomains(deps.store)).has(d.toLowerCase());
  if (c.helo.enabled) out.push(heloCheck({ isLocalDomain }));
  if (c.sender_domain.enabled)
    out.push(
      senderDomainCheck({ resolver: deps.resolver, dnsTimeoutMs, isLocalDomain, reject: c.sender_domain.reject }),
    );
  if (c.greylist.enabled)
    out.push(
      greylistCheck({
        store: deps.store.spam,
        delayMs: parseDuration(c.greylist.delay, 'spam.greylist.delay'),
        retryWindowMs: parseDuration(c.greylist.retry_window, 'spam.greylist.retry_window'),
        lifetimeMs: parseDuration(c.greylist.lifetime, 'spam.greylist.lifetime'),
        autoWhitelistAfter: c.greylist.auto_whitelist_after,
      }),
    );
  return out;
}

/** Domains from config, lower case, without a trailing dot. */
function domainSet(list: string[]): Set<string> {
  return new Set(list.map((d) => d.trim().toLowerCase().replace(/\.$/, '')));
}
