// The sender keys reputation is kept under: client IP, its network (/24 for IPv4, /64 for IPv6), the
// registered domains of the envelope sender and of From, the domains of passing DKIM signatures, and the
// From address; a domain or address only when authenticated (SPF, DMARC, aligned DKIM). From the
// pipeline's context when there is one; from the stored message's own trace (our Received and
// Authentication-Results fields) when a user judges it later.
import { isIPv4, isIPv6 } from 'node:net';
import type { ReputationKey } from '../../core/reputation-port.ts';
import { toALabel } from '../../dns/resolver.ts';
import type { ParsedMessage } from '../../mime/types.ts';
import { canonicalAddress, ipv6Network64 } from '../../net/connection.ts';
import { authservIdOf } from '../auth-results.ts';
import { registeredDomain } from '../content/domain.ts';
import { fromMailboxes } from '../content/sender.ts';

/**
 * DKIM results other checks leave in ctx.facts, read defensively (any of these shapes):
 * `facts.get('auth').dkim` (the sender-authentication check: `[{ result, domain, aligned }]`),
 * `facts.get('dkim')` as `[{ domain | d | signingDomain, result | status }]` (result "pass" counts) or as
 * `{ results: [...] }`, or `facts.get('dkim.pass')` as a list of passing signing domains.
 */
export function dkimPassDomains(facts: Map<string, unknown>): string[] {
  const out: string[] = [];
  const pass = facts.get('dkim.pass');
  if (Array.isArray(pass)) for (const d of pass) if (typeof d === 'string') out.push(d);
  const auth = facts.get('auth');
  let dkim = facts.get('dkim');
  if (!dkim && auth && typeof auth === 'object') dkim = (auth as { dkim?: unknown }).dkim;
  if (
    dkim &&
    typeof dkim === 'object' &&
    !Array.isArray(dkim) &&
    Array.isArray((dkim as { results?: unknown }).results)
  )
    dkim = (dkim as { results: unknown[] }).results;
  if (Array.isArray(dkim))
    for (const r of dkim) {
      if (!r || typeof r !== 'object') continue;
      const o = r as Record<string, unknown>;
      const domain = o.domain ?? o.d ?? o.signingDomain;
      const result = o.result ?? o.status;
      const ok =
        result === 'pass' ||
        (result && typeof result === 'object' && (result as { result?: unknown }).result === 'pass');
      if (typeof domain === 'string' && ok) out.push(domain);
    }
  return [...new Set(out.map((d) => d.toLowerCase()))];
}

/** The network an address belongs to: "a.b.c.0/24" or the first four IPv6 groups + "::/64". */
export function networkOf(ip: string): string | null {
  const a = ip.replace(/^::ffff:(?=\d+\.)/i, '');
  if (isIPv4(a)) return `${a.split('.').slice(0, 3).join('.')}.0/24`;
  return isIPv6(a) ? ipv6Network64(a) : null;
}

export interface SenderFacts {
  clientIp?: string;
  mailFrom?: string;
  dkimDomains: string[];
  /** The domain SPF passed for (the envelope sender's, or the HELO name's for a null sender). */
  spfPass?: string;
  /** DMARC passed for the From domain. */
  dmarcPass?: boolean;
}

/** What the sender-authentication check left in ctx.facts ('auth'): SPF's passing domain and DMARC's pass. */
export function authPasses(facts: Map<string, unknown>): Pick<SenderFacts, 'spfPass' | 'dmarcPass'> {
  const auth = facts.get('auth') as { spf?: { result?: unknown; domain?: unknown }; dmarc?: { result?: unknown } };
  if (!auth || typeof auth !== 'object') return {};
  const spf = auth.spf?.result === 'pass' && typeof auth.spf.domain === 'string' ? auth.spf.domain : undefined;
  return { spfPass: spf?.toLowerCase(), dmarcPass: auth.dmarc?.result === 'pass' };
}

/** Everything reputation reads of a message's sender from the pipeline's context. */
export function senderFacts(ctx: { clientIp?: string; mailFrom?: string; facts: Map<string, unknown> }): SenderFacts {
  return {
    clientIp: ctx.clientIp,
    mailFrom: ctx.mailFrom,
    dkimDomains: dkimPassDomains(ctx.facts),
    ...authPasses(ctx.facts),
  };
}

/** A client IP as reputation rows key it: IPv4-mapped IPv6 as plain IPv4, lower case. */
export function ipKey(ip: string): string {
  return canonicalAddress(ip);
}

export function reputationKeys(parsed: ParsedMessage, s: SenderFacts): ReputationKey[] {
  const keys: ReputationKey[] = [];
  if (s.clientIp) {
    const ip = ipKey(s.clientIp);
    keys.push({ kind: 'ip', key: ip });
    const net = networkOf(ip);
    if (net) keys.push({ kind: 'net', key: net });
  }
  // Domains and the From address are anyone's to claim: only an authenticated one carries reputation (as
  // rspamd's SPF and DKIM reputation key only on SPF_ALLOW and DKIM_ALLOW), or a spoof would spend the real
  // domain's good name and its spam would condemn the real domain. The envelope domain when SPF passed for
  // it; From when DMARC passed, or a passing DKIM signature or SPF aligns with it (RFC 7489 section 3.1).
  const org = (d: string) => registeredDomain(d) ?? d.toLowerCase();
  const envDomain = s.mailFrom?.includes('@') ? s.mailFrom.slice(s.mailFrom.lastIndexOf('@') + 1).toLowerCase() : '';
  if (envDomain && s.spfPass === envDomain) keys.push({ kind: 'domain', key: org(envDomain) });
  const from = fromMailboxes(parsed)[0];
  const aligned = (d: string) => from !== undefined && org(d) === org(from.domain);
  if (from && (s.dmarcPass || s.dkimDomains.some(aligned) || (s.spfPass !== undefined && aligned(s.spfPass)))) {
    keys.push({ kind: 'domain', key: org(from.domain) });
    // One form per address: the domain's A-label, however the message wrote it (RFC 6532 allows UTF-8).
    keys.push({
      kind: 'from',
      key: `${from.address.slice(0, from.address.lastIndexOf('@'))}@${toALabel(from.domain)}`,
    });
  }
  for (const d of s.dkimDomains) keys.push({ kind: 'dkim', key: d });
  return keys;
}

/**
 * The domain of "smtp.mailfrom=[local@]domain" or "smtp.helo=domain" in a resinfo: what
 * /\bsmtp\.(?:mailfrom|helo)=(?:[^\s@]*@)?([a-z0-9.-]+)/i captured. That regex scanned the run after each "="
 * again for an "@" (quadratic on a long run of "smtp.helo=_"); here the run's end is found once per run.
 */
export function spfDomain(rest: string): string | null {
  const key = /\bsmtp\.(?:mailfrom|helo)=/gi;
  const stop = /[\s@]/g;
  const domain = /[a-z0-9.-]+/iy;
  const at = (i: number) => {
    domain.lastIndex = i;
    return domain.exec(rest)?.[0] ?? null;
  };
  let end = -1; // the first whitespace or "@" at or after the last "=": the same for every key in one run
  for (let m = key.exec(rest); m; m = key.exec(rest)) {
    const value = m.index + m[0].length;
    if (end < value) {
      stop.lastIndex = value;
      end = stop.exec(rest)?.index ?? rest.length;
    }
    const d = (rest[end] === '@' ? at(end + 1) : null) ?? at(value);
    if (d) return d;
  }
  return null;
}

/**
 * Sender facts recovered from a stored message: the client IP of the topmost Received field our host
 * added ("by <hostname>"), the Return-Path, and DKIM passes from our Authentication-Results (RFC 8601,
 * the authserv-id exactly ours). Only for a copy our filter delivered: there our fields are on top and
 * forged ones with our id were removed; a message a user APPENDed can carry any trace it likes.
 */
export function factsFromTrace(parsed: ParsedMessage, hostname: string): SenderFacts {
  const host = hostname.toLowerCase();
  const out: SenderFacts = { dkimDomains: [] };
  for (const f of parsed.headerFields) {
    const name = f.name.toLowerCase();
    if (
      name === 'received' &&
      !out.clientIp &&
      new RegExp(`\\bby\\s+${escapeRe(host)}(?![\\w.-])`, 'i').test(f.value)
    ) {
      const m = /\[(?:IPv6:)?([0-9a-f:.]+)\]/i.exec(f.value);
      if (m) out.clientIp = m[1];
    } else if (name === 'return-path' && out.mailFrom === undefined) {
      out.mailFrom = f.value.replace(/[<>\s]/g, '');
    } else if (name === 'authentication-results' && authservIdOf(f.value, false) === host) {
      // One resinfo per ";" (RFC 8601 section 2.2). Split first: /dkim=pass[^;]*?header\.d=/g retried
      // from every "dkim=pass" of a long run without ";" is quadratic (an APPENDed message can carry one).
      for (const resinfo of f.value.split(';')) {
        // DMARC passes only when every author domain's resinfo says pass, as the auth check decides.
        const dmarc = /^\s*dmarc=(\w+)/i.exec(resinfo)?.[1].toLowerCase();
        if (dmarc) out.dmarcPass = dmarc === 'pass' && out.dmarcPass !== false;
        const pass = /^\s*(dkim|spf)=pass\b/i.exec(resinfo);
        const method = pass?.[1].toLowerCase();
        const rest = pass ? resinfo.slice(pass[0].length) : '';
        const d = method === 'dkim' && /\bheader\.d=([a-z0-9.-]+)/i.exec(rest);
        if (d) out.dkimDomains.push(d[1].toLowerCase());
        const spf = method === 'spf' ? spfDomain(rest) : null;
        if (spf && out.spfPass === undefined) out.spfPass = spf.toLowerCase();
      }
    }
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
