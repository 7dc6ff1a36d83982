// Sender authentication with mailauth over our resolver: SPF for MAIL FROM (HELO when MAIL FROM is null,
// RFC 7208 section 2.3/2.4), DKIM (RFC 6376; ed25519 RFC 8463), ARC (RFC 8617 section 5.2) and DMARC
// (RFC 7489 section 6.6: alignment, then the policy). Symbols per result; a DMARC failure under p=reject
// forces a refusal and p=quarantine forces Junk unless the author domain is listed as not enforced, or a
// trusted ARC sealer (spam.auth.arc_trusted_sealers) recorded that the message passed DMARC before it.
// The Authentication-Results value (RFC 8601) and the raw results are left in ctx.facts for the SMTP
// side (the stored header, ARC sealing on forwarding) and for later checks (reputation). A DKIM pass whose
// l= leaves content unsigned is neutral for us (spam.auth.dkim_partial_body), and the stored header says so:
// dkim=policy (RFC 8601 section 2.7.1: signed, but not acceptable to us) and, when DMARC passed on such a
// signature alone, dmarc=fail, so a client, a Sieve script or the next hop reading our ARC seal does not
// see a pass we did not grant.
import { createRequire } from 'node:module';
import { authenticate, type DMARCResult } from 'mailauth';
import { evaluateDmarc } from 'mailauth/lib/dmarc/index.js';
import type { Resolver } from '../../core/ports.ts';
import { toALabel } from '../../dns/resolver.ts';
import type { EnvelopeAddress } from '../../mime/types.ts';
import { registeredDomain } from '../content/domain.ts';
import { type DmarcEvaluation, dmarcEvaluation } from '../dmarc-reports/evaluation.ts';
import { mailauthResolver, sharedLookups } from '../dns.ts';
import { BUDGET_EXHAUSTED } from '../pipeline.ts';
import type { SpamCheck, SpamContext, SpamSymbol } from '../types.ts';

export const AUTH_FACT = 'auth';

export type AuthResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';

/** What the auth check leaves in ctx.facts under AUTH_FACT. */
export interface AuthFacts {
  spf: { result: AuthResult; domain: string | null };
  /** One entry per DKIM-Signature. */
  dkim: { result: AuthResult; domain: string; aligned: boolean }[];
  /**
   * onPartialDkim: the standard evaluation passed, but only through a DKIM signature that leaves part of
   * the body unsigned (a failure here).
   */
  dmarc: {
    result: AuthResult;
    domain: string | null;
    policy: string | null;
    enforced: boolean;
    onPartialDkim?: boolean;
  };
  /** sealer: the domain of the latest ARC set when the chain passes; trusted: in arc_trusted_sealers. */
  arc: { result: AuthResult; sealer: string | null; trusted: boolean };
  /** The Authentication-Results field value after "Authentication-Results: " (authserv-id first). */
  authResults: string;
  /** What a DMARC aggregate report says of this message; null when no DMARC record gave pass or fail. */
  dmarcReport: DmarcEvaluation | null;
}

export interface AuthCheckOptions {
  resolver: Resolver;
  dnsTimeoutMs: number;
  /** Enforce DMARC p=reject/quarantine at all. */
  dmarcEnforce: boolean;
  /** Author domains (lower case) whose policy is scored but not enforced. */
  dmarcNoEnforce: Set<string>;
  /** Sealer domains (lower case) whose valid ARC chain recording dmarc=pass overrides a DMARC failure. */
  arcTrustedSealers?: Set<string>;
  /** spam.auth.dkim_partial_body: what a passing signature that leaves part of the body unsigned counts for. */
  dkimPartialBody?: 'score' | 'fail' | 'accept';
  /** spam.auth.no_author_domain: a message with no author domain is scored, or refused too. */
  noAuthorDomain?: 'score' | 'reject';
  /** A number in [0, 1), for pct= sampling (Math.random unless a test fixes it). */
  random?: () => number;
}

/** Default scores; `spam.weights` overrides any of them by name. */
const SCORES: Record<string, number> = {
  SPF_PASS: -0.5,
  SPF_FAIL: 3,
  SPF_SOFTFAIL: 1.5,
  SPF_NEUTRAL: 0.5,
  SPF_NONE: 0.5,
  SPF_PERMERROR: 1,
  SPF_TEMPERROR: 0,
  DKIM_PASS: -0.5,
  DKIM_FAIL: 2,
  DKIM_PERMERROR: 1,
  DKIM_TEMPERROR: 0,
  DKIM_NONE: 0,
  DKIM_NEUTRAL: 0.5,
  DKIM_POLICY: 1,
  DMARC_PASS: -1,
  DMARC_FAIL: 3,
  DMARC_NONE: 0,
  DMARC_TEMPERROR: 0,
  DMARC_PERMERROR: 0.5,
  // No domain in From at all: nothing for DMARC to check, which is what a spoof that wants none would send.
  DMARC_NO_AUTHOR_DOMAIN: 1,
  // Anyone can seal their own mail: a valid chain is only information unless its sealer is trusted.
  ARC_PASS: 0,
  ARC_FAIL: 1,
  ARC_NONE: 0,
  // A trusted hop vouches that the original passed DMARC (a mailing list that changed the message).
  ARC_TRUSTED: -1,
  // A signature whose l= leaves content after the signed part: what a replayed, appended message looks like.
  DKIM_PARTIAL_BODY: 3,
};

function norm(r: string | undefined): AuthResult {
  if (r === 'temperr') return 'temperror';
  const known = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy'];
  return (known.includes(r ?? '') ? r : 'none') as AuthResult;
}

function sym(prefix: string, result: AuthResult, detail?: string): SpamSymbol {
  const name = `${prefix}_${result.toUpperCase()}`;
  return { name, score: SCORES[name] ?? 0, detail };
}

/** The one Authentication-Results field among mailauth's header lines (it also writes Received-SPF). */
function authResultsValue(headers: string, authservId: string): string {
  const fields = headers.split(/\r\n(?![ \t])/);
  const ar = fields.find((f) => /^authentication-results:/i.test(f));
  return ar ? ar.slice(ar.indexOf(':') + 1).trim() : `${authservId}; none`;
}

/**
 * The Authentication-Results value with our judgement of partial-body signatures: each passing DKIM
 * resinfo mailauth marked "undersized" becomes dkim=policy (the comment stays: it says why), and a DMARC
 * pass that rests on one alone becomes dmarc=fail. Only resinfo starts (after ";") are rewritten: the ARC
 * resinfo's comment may quote other results.
 */
export function withPartialDkim(value: string, dmarcOnPartial: boolean): string {
  let out = value.replace(/(;\s*)dkim=pass(\s+\(undersized signature:)/g, '$1dkim=policy$2');
  if (dmarcOnPartial)
    out = out.replace(
      /(;\s*)dmarc=pass\b/,
      '$1dmarc=fail (passes only with a DKIM signature that leaves part of the body unsigned)',
    );
  return out;
}

/**
 * RFC 7489 section 6.6.2: when neither SPF nor DKIM passed aligned and one of them failed with a temporary
 * error, the receiver "cannot apply the advertised DMARC policy": the DNS failure may hide the pass. Only
 * an identifier that could align counts (the From domain's organisational domain): a signature of some
 * other domain whose key lookup times out could never have passed DMARC, and must not switch a spoof's
 * policy off.
 */
export function dmarcUndecided(
  fromDomain: string | null,
  spf: { result: AuthResult; domain: string | null },
  dkim: { result: AuthResult; domain: string }[],
): boolean {
  if (!fromDomain) return false;
  const org = (d: string) => registeredDomain(d) ?? d.toLowerCase();
  const own = org(fromDomain);
  const couldAlign = (d: string | null) => !!d && org(d) === own;
  return (
    (spf.result === 'temperror' && couldAlign(spf.domain)) ||
    dkim.some((x) => x.result === 'temperror' && couldAlign(x.domain))
  );
}

/** The Authentication-Results value with our DMARC and partial-signature judgements written in. */
function withOurDmarc(value: string, partial: boolean, dmarcOnPartial: boolean, undecided: boolean): string {
  const out = partial ? withPartialDkim(value, dmarcOnPartial) : value;
  return undecided
    ? out.replace(/(;\s*)dmarc=fail\b/, '$1dmarc=temperror (SPF or DKIM of the author domain could not be checked)')
    : out;
}

/**
 * RFC 7489 section 6.6.4: with pct= below 100 the policy applies to that share of the failing messages, and
 * the others get the next less strict one (reject -> quarantine, quarantine -> none). A pct= that is not an
 * integer 0-100 is the default, 100 (sections 6.3 and 6.6.3). DMARCbis (RFC 9989) replaced pct= with t=y,
 * which mailauth applies; many records still say pct=0 for the same thing.
 */
export function sampledPolicy(policy: string | null, record: string | undefined, random: () => number): string | null {
  const tag = (record ?? '')
    .split(';')
    .map((t) => /^\s*pct\s*=\s*(\d{1,3})\s*$/.exec(t))
    .find((m) => m);
  const pct = tag ? Number(tag[1]) : 100;
  if (pct >= 100 || pct < 0 || random() * 100 < pct) return policy;
  return policy === 'reject' ? 'quarantine' : policy === 'quarantine' ? 'none' : policy;
}

/** mailauth's own reading of one From address (it ships no types for this module). */
const { getAddressDomains } = createRequire(import.meta.url)('mailauth/lib/dmarc/author-domain.js') as {
  getAddressDomains(address: string): { authorDomain: string }[];
};

/**
 * Which of several author domains' results speaks for the message: a failure, the strictest policy first,
 * then a temporary error, then no policy; a pass only when every domain passed (one domain's pass does not
 * authenticate another's address beside it for allow lists and contacts).
 */
function dmarcRank(d: DMARCResult): number {
  const result = d.status.result;
  if (result === 'fail') return ({ reject: 0, quarantine: 1 } as Record<string, number>)[d.policy ?? ''] ?? 2;
  return result === 'temperror' ? 3 : result === 'pass' ? 5 : 4;
}

/**
 * The author domains DMARC must judge: every domain mailauth reads in From (RFC 7489 section 6.6.1: with
 * several, each is checked and the strictest failing policy applies; mailauth gives none, RFC 9989 section
 * 5.3.1) and every domain a mail client is shown, our own reading of From (the IMAP ENVELOPE). Where the two
 * parsers differ ("bob@sender .test" is sender.test, RFC 5322 section 4.4, not mailauth's "sender"), the
 * domain the reader sees must not go unchecked. Those mailauth did not decide itself are returned.
 */
function otherAuthorDomains(res: Awaited<ReturnType<typeof authenticate>>, shown: EnvelopeAddress[]): string[] {
  const norm = (d: string) => toALabel(d).replace(/\.$/, '');
  const decided = res.dmarc ? norm(String(res.dmarc.status.header?.from ?? res.dmarc.domain ?? '')) : null;
  const read = ((res.dkim as { headerFrom?: string[] }).headerFrom ?? []).flatMap((a) =>
    getAddressDomains(a).map((e) => norm(e.authorDomain)),
  );
  const seen = shown.flatMap((a) => (a.mailbox && a.host ? [norm(a.host)] : []));
  return [...new Set([...read, ...seen])].filter((d) => d && d !== decided);
}

/** Author domains of one message whose DMARC records are looked up (strictAuthorPolicy's too). */
const MAX_AUTHOR_DOMAINS = 10;

/** ctx.facts key: "<domain> publishes p=<policy>" when an author domain asks for quarantine or reject. */
const UNALIGNED_POLICY = 'auth.unaligned-policy';

/**
 * Looks up the DMARC record of each author domain, as if nothing aligned (a few TXT lookups, no DKIM key or
 * SPF include), and notes in ctx.facts the first that asks for quarantine or reject and is enforced: what
 * failed() defers for when the whole check runs out of time. Never throws.
 */
async function strictAuthorPolicy(
  ctx: SpamContext,
  resolver: ReturnType<typeof mailauthResolver>,
  noEnforce: Set<string>,
): Promise<void> {
  const domains = [
    ...new Set((ctx.parsed.envelope.from ?? []).flatMap((a) => (a.host ? [toALabel(a.host).replace(/\.$/, '')] : []))),
  ].slice(0, MAX_AUTHOR_DOMAINS);
  await Promise.all(
    domains.map(async (domain) => {
      try {
        const e = await evaluateDmarc({
          headerFrom: [domain],
          fromFields: 1,
          spfDomains: [],
          dkimDomains: [],
          resolver: resolver as never,
          strict: true,
        });
        const r = e.response as { policy?: string; p?: string } | undefined;
        const policy = r?.policy ?? r?.p;
        if (
          (policy === 'reject' || policy === 'quarantine') &&
          !noEnforce.has(domain) &&
          !ctx.facts.has(UNALIGNED_POLICY)
        )
          ctx.facts.set(UNALIGNED_POLICY, `${domain} publishes p=${policy}`);
      } catch {
        // No answer: nothing to defer for.
      }
    }),
  );
}

/**
 * DMARC for each of `domains` beside mailauth's own result: the one that decides (dmarcRank) and the
 * resinfo of each added domain for the Authentication-Results header.
 */
async function dmarcForDomains(
  res: Awaited<ReturnType<typeof authenticate>>,
  domains: string[],
  resolver: ReturnType<typeof mailauthResolver>,
): Promise<{ decisive: DMARCResult | null; resinfo: string[] }> {
  const spfDomains = res.spf && res.spf.status.result === 'pass' && res.spf.domain ? [res.spf.domain] : [];
  const dkimDomains = (res.dkim?.results ?? [])
    .filter((r) => r.status.result === 'pass')
    .map((r) => ({ domain: String(r.signingDomain), underSized: (r.status as { underSized?: number }).underSized }));
  // In parallel: each lookup is bounded (spam.dns_timeout_ms), so the whole takes as long as one domain.
  const evaluated = await Promise.all(
    domains.map((domain) =>
      evaluateDmarc({
        headerFrom: [domain],
        fromFields: 1,
        spfDomains,
        dkimDomains,
        arcResult: res.arc || undefined,
        resolver: resolver as never,
        strict: true,
      }),
    ),
  );
  const added = evaluated.flatMap((e) => (e.response ? [e.response] : [])).sort((a, b) => dmarcRank(a) - dmarcRank(b));
  const all = [...(res.dmarc ? [res.dmarc] : []), ...added].sort((a, b) => dmarcRank(a) - dmarcRank(b));
  return {
    decisive: all[0] ?? null,
    resinfo: added.map((r) => (r as { info?: string }).info ?? '').filter(Boolean),
  };
}

/** mailauth's ARC result, as far as the override reads it. */
interface ArcOutcome {
  /** The newest ARC-Message-Signature's verification. */
  signature?: { signingDomain?: string } | false;
  authenticationResults?: { dmarc?: { result?: string; header?: { from?: unknown } } };
  /** The parsed ARC sets, oldest first (a non-enumerable property of mailauth's result). */
  chain?: { 'arc-seal'?: { parsed?: { d?: { value?: unknown } } } }[] | false;
}

/**
 * Whether the chain's latest sealer vouches for the author domain (RFC 8617 section 7.2, the "local policy
 * override" of RFC 7489 section 6.7): the chain passes, its latest set is sealed by a trusted domain, and
 * the ARC-Authentication-Results of that set recorded dmarc=pass for the same From domain. The sealer is
 * the d= of the newest ARC-Seal (RFC 8617 sections 4.1.3, 5.1.1), and that set's ARC-Message-Signature
 * must be the same domain's: an AMS alone seals nothing, so anyone can replay a trusted hop's AMS beside
 * their own AAR under their own seal.
 */
function trustedArc(
  raw: unknown,
  result: AuthResult,
  fromDomain: string | null,
  trusted: Set<string> | undefined,
): { sealer: string | null; trusted: boolean } {
  const a = (raw || null) as ArcOutcome | null;
  const seal = result === 'pass' && a?.chain ? a.chain.at(-1)?.['arc-seal']?.parsed?.d?.value : undefined;
  const sealer = typeof seal === 'string' ? seal.toLowerCase() || null : null;
  if (!sealer || !fromDomain || !trusted?.has(sealer)) return { sealer, trusted: false };
  const signer = a?.signature ? (a.signature.signingDomain ?? '').toLowerCase() : '';
  if (signer !== sealer) return { sealer, trusted: false };
  const dm = a?.authenticationResults?.dmarc;
  const saw = typeof dm?.header?.from === 'string' ? dm.header.from.toLowerCase() : null;
  return { sealer, trusted: dm?.result === 'pass' && saw === fromDomain.toLowerCase() };
}

export function authCheck(opts: AuthCheckOptions): SpamCheck {
  return {
    name: 'auth',
    network: true,
    stage: 0,
    // Unfinished in the time budget, the DMARC policy of the From domain was never applied: slow answers
    // from the sender's own nameservers (DKIM keys, SPF includes) would switch any domain's p=reject off.
    // RFC 7489 sections 6.6.3 (step 4) and 10.3: the receiver may defer, with a 4xy reply, as Postfix does
    // when its DMARC milter times out (milter_default_action = tempfail). Only when an author domain's
    // record (looked up beside the check, UNALIGNED_POLICY) asks for quarantine or reject: a failing
    // resolver of ours, which answers nothing, must degrade the verdict, never hold all mail back.
    failed(detail, ctx) {
      const timedOut = detail === BUDGET_EXHAUSTED;
      const strict = ctx.facts.get(UNALIGNED_POLICY) as string | undefined;
      if (!timedOut || !opts.dmarcEnforce || !strict)
        return [{ name: timedOut ? 'AUTH_TIMEOUT' : 'AUTH_FAIL', score: 0, detail }];
      return [
        {
          name: 'AUTH_TIMEOUT',
          score: 0,
          force: 'greylist',
          always: true,
          detail: `Sender authentication (SPF, DKIM, DMARC) did not finish in time and ${strict}, try again later`,
        },
      ];
    },
    async run(ctx: SpamContext, signal: AbortSignal): Promise<SpamSymbol[]> {
      if (!ctx.clientIp) return [];
      const helo = ctx.helo || ctx.clientIp;
      const resolver = sharedLookups(mailauthResolver(opts.resolver, opts.dnsTimeoutMs, signal));
      if (opts.dmarcEnforce) void strictAuthorPolicy(ctx, resolver, opts.dmarcNoEnforce);
      const res = await authenticate(ctx.raw, {
        ip: ctx.clientIp,
        helo,
        // RFC 7208 section 2.4: with a null reverse-path the identity is postmaster@<HELO name>.
        sender: ctx.mailFrom ? ctx.mailFrom : `postmaster@${helo}`,
        mta: ctx.hostname,
        resolver: resolver as never,
        disableBimi: true,
        // RFC 6376 section 6.1.3: a body hash mismatch is a failure (dkim=fail), not "neutral".
        strict: true,
      });
      const spf = res.spf ? norm(res.spf.status.result) : 'none';
      // RFC 6376 section 8.2: with l=, whatever follows the signed length is anybody's; "assessors might
      // wish to ignore signatures that use the tag" when something does follow. Such a pass is neutral here.
      const partialBody = opts.dkimPartialBody ?? 'score';
      const partial: { domain: string; unsigned: number }[] = [];
      const dkim = (res.dkim?.results ?? []).map((r) => {
        const result = norm(r.status.result);
        const domain = String(r.signingDomain ?? '');
        const unsigned = Number((r.status as { underSized?: number }).underSized ?? 0);
        const ignored = result === 'pass' && unsigned > 0 && partialBody !== 'accept';
        if (ignored) partial.push({ domain, unsigned });
        return { result: ignored ? ('neutral' as const) : result, domain, aligned: !!r.status.aligned };
      });
      const arc = res.arc ? norm(res.arc.status.result) : 'none';
      const allOthers = otherAuthorDomains(res, ctx.parsed.envelope.from ?? []);
      // A From listing thousands of domains would send as many DMARC lookups (and their organisational
      // domains') at once, to names the sender chose: the first MAX_AUTHOR_DOMAINS are checked, and such a
      // message cannot pass DMARC (a pass needs every domain).
      const others = allOthers.slice(0, Math.max(0, MAX_AUTHOR_DOMAINS - (res.dmarc ? 1 : 0)));
      const unchecked = allOthers.length - others.length;
      // RFC 7489 section 6.6.1, RFC 9989 section 5.3.1: with no author domain (no From field, a group with
      // no members, an address without a domain) DMARC cannot run. Neither mailauth nor our reading of From
      // found one: said in the header rather than left out, so a reader (and the next hop) sees why.
      const noAuthor = !res.dmarc && others.length === 0;
      const several = others.length ? await dmarcForDomains(res, others, resolver) : null;
      const d = several ? several.decisive : res.dmarc || null;
      // A DMARC pass that rests on such a signature alone (no aligned SPF; mailauth prefers a full
      // signature when several align) is a failure for us.
      const alignment = (d as { alignment?: { spf?: { result?: string }; dkim?: { underSized?: number } } } | null)
        ?.alignment;
      const dmarcOnPartial =
        partial.length > 0 &&
        d?.status.result === 'pass' &&
        !alignment?.spf?.result &&
        (alignment?.dkim?.underSized ?? 0) > 0;
      const fromDomain = (d?.status?.header?.from ?? d?.domain ?? null) as string | null;
      const spfFacts = { result: spf, domain: res.spf ? (res.spf.domain ?? null) : null };
      let dmarcResult = dmarcOnPartial ? 'fail' : d ? norm(d.status.result) : 'none';
      if (unchecked > 0 && dmarcResult === 'pass') dmarcResult = 'permerror';
      const undecided = dmarcResult === 'fail' && !dmarcOnPartial && dmarcUndecided(fromDomain, spfFacts, dkim);
      if (undecided) dmarcResult = 'temperror';
      const policy = d ? (d.policy ?? d.p ?? null) : null;
      const vouched = trustedArc(res.arc, arc, fromDomain, opts.arcTrustedSealers);
      const enforced =
        opts.dmarcEnforce &&
        !!fromDomain &&
        !(dmarcOnPartial && partialBody === 'score') &&
        !opts.dmarcNoEnforce.has(fromDomain.toLowerCase()) &&
        !d?.testMode &&
        !(dmarcResult === 'fail' && vouched.trusted);
      const facts: AuthFacts = {
        spf: spfFacts,
        dkim,
        dmarc: { result: dmarcResult, domain: fromDomain, policy, enforced, onPartialDkim: dmarcOnPartial },
        arc: { result: arc, sealer: vouched.sealer, trusted: vouched.trusted },
        authResults: withOurDmarc(
          // One resinfo a line, as mailauth folds its own (RFC 5322 section 2.1.1: lines of at most 998 octets).
          [
            authResultsValue(res.headers, ctx.hostname),
            ...(several?.resinfo ?? []),
            // RFC 7489 section 11.2: dmarc=none is also "no aligned identifier could be extracted".
            ...(noAuthor ? ['dmarc=none (no author domain in From)'] : []),
            ...(unchecked > 0
              ? [`dmarc=permerror (${unchecked} more author domains not checked: at most ${MAX_AUTHOR_DOMAINS})`]
              : []),
          ].join(';\r\n '),
          partial.length > 0,
          dmarcOnPartial,
          undecided,
        ),
        // A temporary error has no outcome to report (aggregate or failure report).
        dmarcReport: undecided ? null : dmarcEvaluation((several ? { ...res, dmarc: d } : res) as never),
      };
      ctx.facts.set(AUTH_FACT, facts);

      const out: SpamSymbol[] = [sym('SPF', spf, facts.spf.domain ?? undefined)];
      // One DKIM symbol: the best result among the signatures (a pass outweighs a broken second signature).
      const order: AuthResult[] = ['pass', 'fail', 'policy', 'permerror', 'temperror', 'neutral', 'none'];
      const best = order.find((o) => dkim.some((x) => x.result === o)) ?? 'none';
      out.push(sym('DKIM', best, dkim.map((x) => `${x.result} d=${x.domain}`).join(', ') || undefined));
      if (partial.length)
        out.push({
          name: 'DKIM_PARTIAL_BODY',
          score: SCORES.DKIM_PARTIAL_BODY,
          detail: partial.map((p) => `d=${p.domain} leaves ${p.unsigned} octets unsigned (l=)`).join(', '),
        });
      out.push(sym('ARC', arc === 'pass' || arc === 'fail' ? arc : 'none', vouched.sealer ?? undefined));
      if (vouched.trusted && dmarcResult === 'fail')
        out.push({
          name: 'ARC_TRUSTED',
          score: SCORES.ARC_TRUSTED,
          detail: `${vouched.sealer} sealed it with dmarc=pass for ${fromDomain}: DMARC policy not enforced`,
        });
      if (noAuthor) {
        const field = ctx.parsed.headerFields.some((h) => h.name.toLowerCase() === 'from');
        const why = field ? 'no domain in From' : 'no From field';
        out.push({
          name: 'DMARC_NO_AUTHOR_DOMAIN',
          score: SCORES.DMARC_NO_AUTHOR_DOMAIN,
          detail: why,
          // RFC 7489 section 6.6.1: such messages are "typically rejected" (no From) or "ignored" (a group):
          // refused only when the administrator asks.
          ...(opts.noAuthorDomain === 'reject' && {
            force: 'reject' as const,
            detail: `No author domain in From (${why}): DMARC cannot check who wrote this message`,
          }),
        });
        return out;
      }
      const dm = sym(
        'DMARC',
        dmarcResult,
        fromDomain
          ? `${fromDomain} p=${policy ?? '?'}${dmarcOnPartial ? ': passes only with a DKIM signature that leaves part of the body unsigned' : ''}`
          : undefined,
      );
      const applied = dmarcResult === 'fail' ? sampledPolicy(policy, d?.rr, opts.random ?? Math.random) : policy;
      if (applied !== policy) dm.detail = `${dm.detail ?? ''} (pct=: not sampled, ${applied} applies)`;
      if (dmarcResult === 'fail' && enforced) {
        // RFC 7489 section 6.6.4/10.3: the policy is the domain owner's request; reject during the session.
        if (applied === 'reject') {
          dm.force = 'reject';
          dm.detail = dmarcOnPartial
            ? `DMARC policy of ${fromDomain} rejects this message (its only aligned DKIM signature leaves part of the body unsigned)`
            : `DMARC policy of ${fromDomain} rejects this message (it fails SPF and DKIM alignment)`;
        } else if (applied === 'quarantine') dm.force = 'junk';
      }
      out.push(dm);
      return out;
    },
  };
}
