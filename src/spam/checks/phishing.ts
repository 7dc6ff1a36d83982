// Phishing heuristics: a display name claiming one of our domains or a protected brand on mail from
// elsewhere, a display name holding another domain's address, From or link domains that look like ours
// or a well-known one (homoglyphs, punycode, mixed scripts), link text showing one domain while the link
// goes to another, and HTML forms asking for passwords or card numbers.
import type { Config } from '../../config/schema.ts';
import type { Store } from '../../core/ports.ts';
import { mixedScript, mixedScriptWords, skeleton } from '../content/confusables.ts';
import { isIpLiteral, registeredDomain, unicodeHost } from '../content/domain.ts';
import { fromMailboxes, localDomains } from '../content/sender.ts';
import { hostShownIn, parseCandidate, unwrapRedirect } from '../content/urls.ts';
import { type ContentScanner, contentScan, inlineScanner, ScanFailed } from '../scan/scanner.ts';
import type { SpamCheck, SpamContext, SpamSymbol } from '../types.ts';
import { AUTH_FACT, type AuthFacts } from './auth.ts';

/** Parses "name=domain,domain" brand entries. */
export function parseBrands(list: string[]): { name: string; domains: Set<string> }[] {
  return list
    .map((b) => {
      const [name, domains = ''] = b.split('=');
      return {
        name: name.trim().toLowerCase(),
        domains: new Set(
          domains
            .split(/[,\s]+/)
            .filter(Boolean)
            .map((d) => d.toLowerCase()),
        ),
      };
    })
    .filter((b) => b.name.length >= 3);
}

/**
 * Public link shorteners: anyone's link can hide behind them, so none is a brand's domain, even when
 * listed under one in spam.phishing.protected_brands (text "linkedin.com" linking to lnkd.in may lead
 * anywhere). A brand's own short-link domain that only leads to it (amzn.to, aka.ms) is no open one.
 */
const OPEN_SHORTENERS = new Set([
  'bit.ly',
  't.co',
  'goo.gl',
  'lnkd.in',
  'fb.me',
  'tinyurl.com',
  'ow.ly',
  'buff.ly',
  'is.gd',
  'rebrand.ly',
  'cutt.ly',
  'shorturl.at',
  'tiny.cc',
]);

/** An address in a display name; matched only from the start of a run (linear in the name's length). */
const DISPLAY_ADDRESS = /(?<![^\s<>"@])[^\s<>"@]+@([a-z0-9.-]+\.[a-z]{2,})/i;

/** Words an impersonator puts beside a brand name ("PayPal Security", "Apple ID Support"). */
const SERVICE_WORDS =
  /\b(?:support|service|services|security|account|accounts|team|billing|verification|verify|alert|alerts|id|customer|help|helpdesk|notification|notifications|payments?|online|no-?reply|inc|ltd|llc|gmbh|corp|corporation|plc|limited)\b/i;

/**
 * Whether `word` is spelt to pass for `brand` (lower case) without being it: the same skeleton, and a
 * letter no one writes it with by chance, a digit, a letter of another script, a capital I inside the word
 * ("PayPaI"), or "rn", "vv", "cl" for m, w, d ("Arnazon"). A lower-case i alone is no trick: "Appie" is a
 * name of its own.
 */
function spoofedWord(word: string, brand: string): boolean {
  const lower = word.toLowerCase();
  if (lower === brand || skeleton(word) !== skeleton(brand)) return false;
  return /[^a-z]/i.test(word) || /[a-z]I/.test(word) || (/rn|vv|cl/.test(lower) && !/rn|vv|cl/.test(brand));
}

/** The display name with each word spelt to pass for `brand` written as the brand. */
function brandSpelt(displayName: string, brand: string): string {
  return displayName.replace(/[\p{L}\p{N}]+/gu, (w) => (spoofedWord(w, brand) ? brand : w));
}

/** A display name claiming to be the brand: the brand alone, or with service words beside it. */
export function claimsBrand(displayName: string, brand: string): boolean {
  const esc = brand.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (!new RegExp(`\\b${esc}\\b`, 'i').test(displayName)) return false;
  const rest = displayName
    .replace(new RegExp(`\\b${esc}(?:\\.com)?\\b`, 'gi'), '')
    .replace(/[^\p{L}\p{N}\s-]/gu, ' ')
    .trim();
  return rest === '' || SERVICE_WORDS.test(rest);
}

/**
 * Whether `name` (lower case) writes the domain `domain` or a name under it ("example.com",
 * "it.example.com", "help@example.com"), as a whole name: "myexample.com" and "example.com.evil.test" are
 * other domains.
 */
export function namesDomain(name: string, domain: string): boolean {
  const esc = domain.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(?<![\\p{L}\\p{N}-])${esc}(?![\\p{L}\\p{N}-]|\\.[\\p{L}\\p{N}])`, 'u').test(name);
}

/** Skeletons of the protected domains, to compare each candidate's skeleton with once. */
export function skeletonIndex(protectedDomains: Iterable<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const d of protectedDomains) out.set(skeleton(unicodeHost(d)), unicodeHost(d));
  return out;
}

/** The protected domain `host` imitates (same skeleton, different name), or null. */
export function imitated(host: string, index: Map<string, string>): string | null {
  const reg = registeredDomain(host);
  if (!reg) return null;
  const shown = unicodeHost(reg);
  const target = index.get(skeleton(shown));
  return target !== undefined && target !== shown ? target : null;
}

/** Whether a URL carries a user part ("user@" or "user:password@") before its host. */
function hasUserinfo(url: string): boolean {
  try {
    const u = new URL(url);
    return u.username !== '' || u.password !== '';
  } catch {
    return false;
  }
}

/**
 * The registered domain of the From address when the auth check (stage 0, AUTH_FACT) authenticated it:
 * DMARC passed for it, or a DKIM signature of that same organisational domain passed (relaxed alignment,
 * RFC 7489 section 3.1.1: news.example.com signs for example.com), which a domain without a DMARC record
 * also gets; or a trusted ARC sealer recorded that it passed DMARC before the sealer changed it (the
 * override the auth check applies, RFC 7489 section 6.7). A pass the auth check does not grant (a
 * signature leaving part of the body unsigned) is not one here. null when nothing authenticated it, or
 * nothing was checked (`spam check`, submitted mail).
 */
export function authenticatedAuthor(ctx: SpamContext, fromDomain: string): string | null {
  const auth = ctx.facts.get(AUTH_FACT) as AuthFacts | undefined;
  if (!auth) return null;
  const org = (d: string) => registeredDomain(d) ?? d.toLowerCase();
  const author = org(fromDomain);
  const decided = !!auth.dmarc?.domain && org(auth.dmarc.domain) === author;
  const dmarc = decided && (auth.dmarc.result === 'pass' || auth.arc?.trusted === true);
  const dkim = (auth.dkim ?? []).some((d) => d.result === 'pass' && org(d.domain) === author);
  return dmarc || dkim ? author : null;
}

export function phishingCheck(deps: { store: Store; config: Config; scanner?: ContentScanner }): SpamCheck {
  const cfg = deps.config.spam.phishing;
  const scanner = deps.scanner ?? inlineScanner(deps.config);
  const brands = parseBrands(cfg.protected_brands).map((b) => ({
    name: b.name,
    domains: new Set([...b.domains].filter((d) => !OPEN_SHORTENERS.has(d))),
  }));
  const brandDomains = new Set(brands.flatMap((b) => [...b.domains]));
  /** Each brand domain's brand (a domain listed under two brands keeps the first). */
  const brandOf = new Map<string, string>();
  for (const b of brands) for (const d of b.domains) if (!brandOf.has(d)) brandOf.set(d, b.name);
  /** Free mail providers (the header check's list): an authenticated address there is anybody's. */
  const freemail = new Set(deps.config.spam.headers.freemail_domains.map((d) => d.toLowerCase()));
  return {
    name: 'phishing',
    // After the auth check: a link mismatch on the author's own site needs to know whether the author is
    // authenticated. The content scan it reads was started (and mostly finished) in stage 0; what is left
    // here is quick.
    stage: 1,
    async run(ctx, signal) {
      const out: SpamSymbol[] = [];
      const scan = contentScan(ctx, scanner, signal);
      const ours = await localDomains(deps.store);
      const protectedDomains = new Set([...ours, ...cfg.well_known_domains.map((d) => d.toLowerCase())]);
      const index = skeletonIndex(protectedDomains);
      const from = fromMailboxes(ctx.parsed)[0];
      if (from) {
        const fromReg = registeredDomain(from.domain) ?? from.domain;
        const name = from.name.toLowerCase();
        // A display name naming one of our domains, on mail whose From is not one of them.
        if (name && !ours.has(from.domain) && !ours.has(fromReg)) {
          const claimed = [...ours].find((d) => namesDomain(name, d));
          if (claimed)
            out.push({
              name: 'PHISH_LOCAL_IMPERSONATION',
              score: cfg.impersonation_score,
              detail: `"${from.name}" <${from.address}>`,
            });
        }
        // A protected brand in the display name, on mail from none of its domains.
        for (const b of brands) {
          // Read from the name as written (case kept: "PayPaI" is the trick), look-alike spellings undone.
          if (!claimsBrand(brandSpelt(from.name, b.name).toLowerCase(), b.name)) continue;
          if ([...b.domains].some((d) => from.domain === d || from.domain.endsWith(`.${d}`))) continue;
          out.push({
            name: 'PHISH_BRAND_IMPERSONATION',
            score: cfg.impersonation_score,
            detail: `${b.name}: <${from.address}>`,
          });
          break;
        }
        // "support@bank.example" <x@elsewhere>: the name shows an address of another domain. Not on a
        // mailing list's message: lists rewrite From for DMARC to "'bob@gmail.com' via Group" <group@list>
        // (the header check exempts lists from the Reply-To test for the same reason).
        const list = ctx.parsed.headerFields.some((f) => /^list-(?:id|post)$/i.test(f.name));
        const shown = list ? null : DISPLAY_ADDRESS.exec(from.name);
        if (shown && (registeredDomain(shown[1]) ?? shown[1].toLowerCase()) !== fromReg)
          out.push({
            name: 'PHISH_DISPLAY_ADDRESS',
            score: cfg.display_address_score,
            detail: `"${from.name}" <${from.address}>`,
          });
        const like = imitated(from.domain, index);
        if (like)
          out.push({
            name: 'PHISH_LOOKALIKE_DOMAIN',
            score: cfg.lookalike_score,
            detail: `From ${unicodeHost(from.domain)} looks like ${like}`,
          });
        else if (mixedScript(from.domain))
          out.push({
            name: 'PHISH_MIXED_SCRIPT',
            score: cfg.mixed_script_score,
            detail: `From ${unicodeHost(from.domain)}`,
          });
      }
      // Words dressed up with look-alike letters: one in the Subject or the display name says enough; the
      // body needs three (a Greek "μ" before a Latin unit is ordinary writing).
      const headerWords = mixedScriptWords(
        `${ctx.parsed.headers.subject.slice(0, 2000)} ${(from?.name ?? '').slice(0, 500)}`,
        3,
      );
      if (headerWords.length)
        out.push({
          name: 'PHISH_MIXED_SCRIPT_TEXT',
          score: cfg.mixed_script_text_score,
          detail: `Subject or sender name: ${headerWords.join(', ')}`,
        });
      // A scan that did not finish (CONTENT_SCAN_* says so) leaves the From findings above standing.
      const scanned = await scan.catch((e) => {
        if (e instanceof ScanFailed) return null;
        throw e;
      });
      if (!scanned) return out;
      const { urls, credentialForm } = scanned;
      const bodyWords = scanned.mixedScriptWords ?? [];
      if (!headerWords.length && bodyWords.length >= 3)
        out.push({
          name: 'PHISH_MIXED_SCRIPT_TEXT',
          score: cfg.mixed_script_text_score,
          detail: `body: ${bodyWords.slice(0, 5).join(', ')}`,
        });
      const hosts = [...new Set(urls.map((u) => u.host))];
      if (!out.some((s) => s.name === 'PHISH_LOOKALIKE_DOMAIN'))
        for (const host of hosts) {
          const like = imitated(host, index);
          if (like) {
            out.push({
              name: 'PHISH_LOOKALIKE_DOMAIN',
              score: cfg.lookalike_score,
              detail: `link ${unicodeHost(host)} looks like ${like}`,
            });
            break;
          }
        }
      if (!out.some((s) => s.name === 'PHISH_MIXED_SCRIPT' || s.name === 'PHISH_LOOKALIKE_DOMAIN'))
        for (const host of hosts)
          if (mixedScript(host)) {
            out.push({
              name: 'PHISH_MIXED_SCRIPT',
              score: cfg.mixed_script_score,
              detail: `link ${unicodeHost(host)}`,
            });
            break;
          }
      // The From domain, when authenticated: its own site shown through a click tracker is no deception.
      // Not a free mail provider's: a phisher's own gmail.com address passes DMARC as well as Google's.
      const signed = from ? authenticatedAuthor(ctx, from.domain) : null;
      const author = signed && !freemail.has(signed) && !freemail.has(from?.domain ?? '') ? signed : null;
      for (const u of urls) {
        if (u.text === undefined) continue;
        const shown = hostShownIn(u.text);
        if (!shown) continue;
        // A link rewritten by a mail security gateway (Safe Links, URL Defense) is judged by where it leads.
        const inner = unwrapRedirect(u.url);
        const target = (inner && parseCandidate(inner, { source: u.source })?.host) || u.host;
        const a = registeredDomain(shown);
        const h = registeredDomain(target) ?? target;
        // A brand's own domains stand for one another (text outlook.com, link to outlook.live.com).
        const sameBrand = a !== null && brandOf.has(a) && brandOf.get(a) === brandOf.get(h);
        // Newsletters show their own site while linking through a click tracker (SendGrid, Mailchimp's
        // list-manage.com, ...), so a mismatch only counts when the text shows a domain worth imitating
        // (ours, a well-known or brand one), or the link goes to a bare IP address; and not when the text
        // shows the authenticated author's own domain (or its brand's). The tracker is never what excuses
        // it: phishers send through ESP accounts they stole, with the same trackers.
        const authors =
          author !== null && a !== null && (a === author || (brandOf.has(a) && brandOf.get(a) === brandOf.get(author)));
        if (
          a &&
          a !== h &&
          !sameBrand &&
          !authors &&
          (protectedDomains.has(a) || brandDomains.has(a) || isIpLiteral(target))
        ) {
          out.push({
            name: 'PHISH_LINK_MISMATCH',
            score: cfg.link_mismatch_score,
            detail: `text ${shown}, link to ${target}`,
          });
          break;
        }
      }
      if (credentialForm) out.push({ name: 'PHISH_CREDENTIAL_FORM', score: cfg.credential_form_score });
      // Links to a bare IP address (whatever spelling: the WHATWG parser turns hex and decimal hosts into
      // dotted ones), and links with a user part before the host ("https://paypal.com@evil.example/", whose
      // host is evil.example): senders with a site have names; the second exists to deceive.
      const toIp = urls.find((u) => isIpLiteral(u.host));
      if (toIp) out.push({ name: 'PHISH_LINK_TO_IP', score: cfg.link_to_ip_score, detail: toIp.host });
      const userinfo = urls.find((u) => hasUserinfo(u.url));
      if (userinfo)
        out.push({ name: 'PHISH_LINK_USERINFO', score: cfg.link_userinfo_score, detail: `link to ${userinfo.host}` });
      return out;
    },
  };
}
