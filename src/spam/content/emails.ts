// E-mail addresses a message's text gives the reader to write to (a scam's drop box: "reply to
// claims.office@freemail.example"), for the e-mail address blocklists (spam/checks/ebl.ts): found in the
// plain text and in the HTML bodies' text and mailto: links, lower-cased, in order, without repeats.
import { decodeAttribute } from '../../mime/html.ts';
import { startTags } from './tags.ts';

/** Gmail's domains: it ignores dots in the local part, and googlemail.com is gmail.com. */
const GMAIL = new Set(['gmail.com', 'googlemail.com']);

/**
 * An address as the blocklists list it: lower-cased, any "+tag" dropped from the local part (one drop box
 * answers to every tag, as SpamAssassin's HashBL "notag" has it), and a Gmail address in Gmail's own form,
 * without dots, at gmail.com, as MSBL's EBL design asks (ebl-design.html: "Gmail ... also ignores periods
 * in the username, and treats @googlemail.com as equivalent to @gmail.com").
 */
export function normalizeAddress(address: string): string {
  const a = address.toLowerCase();
  const at = a.lastIndexOf('@');
  if (at <= 0) return a;
  let local = a.slice(0, at).replace(/\+.*$/, '');
  let domain = a.slice(at + 1);
  if (GMAIL.has(domain)) {
    local = local.replaceAll('.', '');
    domain = 'gmail.com';
  }
  return local ? `${local}@${domain}` : a;
}

// A local part of the characters addresses are written with in practice (RFC 5322 allows more, which in
// running text are mostly punctuation around an address) and a domain of 2 to 9 labels whose last is
// letters. The look-behind starts a match only where a run of local-part characters starts: without it, a
// long run with no "@" would be tried again from each of its positions (quadratic in its length). Every
// repetition is bounded.
const ADDRESS =
  /(?<![a-z0-9._%+-])[a-z0-9._%+-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?){1,8}/gi;
const MAILTO = /^mailto:(.{3,2048})/is;
/** Tags whose href a reader clicks to write a message. */
const LINKING = new Set(['a', 'area']);
const TLD = /\.[a-z]{2,24}$/i;

/** Text read per body: addresses past the first 256 KB of each are not looked for. */
const MAX_TEXT = 256 * 1024;

/** Up to `max` distinct addresses from texts (decoded plain text, HTML text) and HTML sources' mailto: links. */
export function bodyAddresses(texts: string[], html: string[], max: number): string[] {
  const out = new Set<string>();
  const add = (candidate: string) => {
    if (out.size >= max) return;
    // Dots around the local part or after the domain are the sentence's, not the address's.
    const at = candidate.lastIndexOf('@');
    const local = candidate.slice(0, at).replace(/^\.+|\.+$/g, '');
    const domain = candidate.slice(at + 1).replace(/\.+$/, '');
    if (at <= 0 || !local || local.includes('..') || /[@\s,<>]/.test(local) || !TLD.test(domain)) return;
    out.add(normalizeAddress(`${local}@${domain}`));
  };
  for (const h of html) {
    // The href as the client reads it: character references decoded ("mailto:box&#64;x.example"), and
    // ASCII tab and newline removed as the WHATWG URL parser does.
    for (const tag of startTags(h.slice(0, MAX_TEXT), LINKING)) {
      if (out.size >= max) return [...out];
      const href = tag.attributes.find((a) => a.name === 'href');
      const m =
        href &&
        MAILTO.exec(
          decodeAttribute(href.value)
            .replace(/[\t\n\r]/g, '')
            .trim(),
        );
      if (!m) continue;
      // RFC 6068 section 2: "mailto:" [ to ] [ "?" hfields ]; the addresses are the path's and those of
      // the to, cc and bcc header fields ("mailto:?to=box@x.example" writes to box@x.example).
      const q = m[1].indexOf('?');
      const [path, query] = q < 0 ? [m[1], ''] : [m[1].slice(0, q), m[1].slice(q + 1)];
      const targets = [path];
      for (const field of query.split('&')) {
        const eq = field.indexOf('=');
        if (eq > 0 && /^(?:to|cc|bcc)$/i.test(field.slice(0, eq))) targets.push(field.slice(eq + 1));
      }
      for (let target of targets) {
        try {
          target = decodeURIComponent(target);
        } catch {
          // a malformed escape: the address as written
        }
        // mailto:a@x.example,b@y.example (RFC 6068 section 2) names several.
        for (const one of target.split(',')) add(one.trim());
      }
    }
  }
  for (const t of texts)
    for (const m of t.slice(0, MAX_TEXT).matchAll(ADDRESS)) {
      if (out.size >= max) return [...out];
      add(m[0]);
    }
  return [...out];
}
