// URL extraction from message bodies: href/src/action attributes and link texts of HTML, bare URLs in
// text (with the common obfuscations undone: hxxp, [.] and (dot), HTML entities, percent-encoded hosts),
// each reduced to a normalised host. Bounded: at most `max` URLs per message.
import { trimChars } from '../../core/text.ts';
import { decodeAttribute, htmlToText } from '../../mime/html.ts';
import { normaliseHost } from './domain.ts';
import { startTags } from './tags.ts';

export interface FoundUrl {
  /** The URL as parsed (WHATWG form: IDNA hosts in punycode, numeric IPv4 hosts in dotted form). */
  url: string;
  /** Normalised host (lower-case A-label, or an IP literal). */
  host: string;
  /** pdf: a link annotation's URI in a PDF attachment (content/pdf.ts); office: a document's external link (content/office.ts). */
  source: 'text' | 'html' | 'pdf' | 'office';
  /** For HTML: the attribute it came from; link texts come with `text`. */
  attr?: 'href' | 'src' | 'action';
  /** For <a href>: the visible link text, tags removed, entities decoded, whitespace collapsed. */
  text?: string;
}

const DEFAULT_MAX = 200;
/** HTML looked at per part; links past the first megabyte are not worth the time. */
const MAX_HTML = 1024 * 1024;
/** Text looked at per plain-text part, as for HTML. */
const MAX_TEXT = 1024 * 1024;
/** Text and HTML looked at per message, all parts together. */
const MAX_MESSAGE_TEXT = 2 * 1024 * 1024;
/** Characters of an anchor's content read for its link text, and of a candidate URL parsed. */
const MAX_LINK_TEXT = 2000;
const MAX_URL = 4096;
/** Tags whose attributes point somewhere a reader's client may go or load. */
const LINKING = new Set([
  'a',
  'area',
  'img',
  'form',
  'iframe',
  'frame',
  'link',
  'base',
  'embed',
  'source',
  'input',
  'button',
  'meta',
]);
/**
 * The attributes that hold a link, as what they do: a button's or an input's formaction submits the form
 * there instead of its action (HTML, form submission); xlink:href is SVG 1.1's link (SVG 2 reads href).
 */
const LINK_ATTRS: Record<string, 'href' | 'src' | 'action'> = {
  href: 'href',
  'xlink:href': 'href',
  src: 'src',
  action: 'action',
  formaction: 'action',
};
// Bare URLs: scheme or www. prefixed, or host/path. The host form takes at most 10 labels so that a
// search restarted at every label of "a.a.a.a..." (no "/") does bounded work at each: linear, not
// quadratic, in the text's length.
const BARE =
  /(?:\b(?:https?|ftp):\/\/|\bwww\.)[^\s<>"'`{}|\\^[\]]+|\b[a-z0-9](?:[a-z0-9-]{0,62}\.){1,10}[a-z]{2,24}\/[^\s<>"'`{}|\\^[\]]*/gi;

/** Undoes the obfuscations people use to keep links from being clickable or matched. */
export function deobfuscate(text: string): string {
  return text
    .replace(/\bh(?:xx|\*\*|tt)p(s?)(?:\[:\]|:)\/\//gi, 'http$1://')
    .replace(/\s?(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))\s?/gi, '.')
    .replace(/\[:\]/g, ':');
}

/** Parses a candidate into a FoundUrl, or null when it is not an http(s)/ftp URL with a host. */
export function parseCandidate(candidate: string, base: Omit<FoundUrl, 'url' | 'host'>): FoundUrl | null {
  // WHATWG URL Standard, basic URL parser: leading and trailing C0 control or space are removed, and every
  // ASCII tab and newline, before anything else, so a browser-based client opens "h\tttps://evil.example/"
  // as https://evil.example/, and "\x01http://evil.example/" (an href with "&#1;") too.
  let s = trimChars(
    trimChars(candidate.slice(0, MAX_URL).replace(/[\t\n\r]/g, ''), C0_OR_SPACE, true).trim(),
    TRAILING,
  );
  if (!s) return null;
  if (/^\/\//.test(s)) s = `http:${s}`;
  else if (!/^[a-z][a-z0-9+.-]*:/i.test(s)) s = `http://${s}`;
  if (!/^(?:https?|ftp):/i.test(s)) return null;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  const host = normaliseHost(u.hostname);
  if (!host || (!host.includes('.') && !host.includes(':'))) return null;
  return { ...base, url: u.href, host };
}

/**
 * A link as local url rules (spam.rules) read it: the parser's form (scheme and host in lower case, an IDN
 * host as its A-labels, "xn--...", %-encoded host octets decoded, a default port dropped), with the host's
 * trailing dots dropped ("evil.example." is the same name, absolute: RFC 1034 section 3.1) and the path,
 * query and fragment as RFC 3986 section 6.2.2 compares them: %-encoded unreserved characters decoded
 * ("%6Cogin" is "login", section 6.2.2.2), the other %-encodings in upper case (section 6.2.2.1). The
 * path's own case is kept: servers tell "/Login" from "/login".
 */
export function ruleForm(url: string): string {
  let href = url;
  try {
    const u = new URL(url);
    const host = trimChars(u.hostname, '.');
    if (host && host !== u.hostname) {
      u.hostname = host;
      href = u.href;
    }
  } catch {
    // Not a URL the parser reads (FoundUrl.url always is): matched as it is.
  }
  return href.replace(/%([0-9a-f]{2})/gi, (m, hex: string) => {
    const c = String.fromCharCode(Number.parseInt(hex, 16));
    return /[A-Za-z0-9._~-]/.test(c) ? c : m.toUpperCase();
  });
}

/**
 * The URL a known link-rewriting service's link leads to, or null. Mail security gateways rewrite every
 * link of the mail they pass to go through their own checker, so a forwarded or quoted message shows one
 * site and links to the gateway. Only these, whose format carries the target in the clear:
 * - Microsoft Defender Safe Links: https://<region>.safelinks.protection.outlook.com/?url=<URL>&data=...
 * - Proofpoint URL Defense v1 and v2: https://urldefense.proofpoint.com/v1/url?u=<URL>&k=... and
 *   /v2/url?u=<URL with "%" written "-" and "/" written "_">&d=...
 * - Proofpoint URL Defense v3: https://urldefense.com/v3/__<URL>__;<base64>!!... (some characters of the URL
 *   replaced by "*", none of its host)
 */
export function unwrapRedirect(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  const host = u.hostname.toLowerCase();
  if (host.endsWith('.safelinks.protection.outlook.com')) return u.searchParams.get('url');
  if (host === 'urldefense.proofpoint.com') {
    const q = u.searchParams.get('u');
    if (!q) return null;
    if (u.pathname === '/v1/url') return q;
    if (u.pathname !== '/v2/url') return null;
    try {
      return decodeURIComponent(q.replace(/-/g, '%').replace(/_/g, '/'));
    } catch {
      return null;
    }
  }
  if (host === 'urldefense.com') {
    const m = /^\/v3\/__(.+?)__;/.exec(url.slice(url.indexOf('/v3/')));
    return m ? m[1] : null;
  }
  return null;
}

/**
 * The first whole http(s) URL a link carries as a query value, or null: where an open redirector
 * (google.com/url?q=, redirect.php?goto=, a click tracker's ?url=) sends the reader, as SpamAssassin's
 * redirector_pattern reads them. Looked up in the blocklists beside the link; never trusted as where the
 * link leads (anyone can write "?u=https://paypal.com" after their own host), unlike unwrapRedirect's.
 */
export function embeddedUrl(url: string): string | null {
  if (!url.includes('?')) return null;
  let params: URLSearchParams;
  try {
    params = new URL(url).searchParams;
  } catch {
    return null;
  }
  for (const v of params.values()) if (/^https?:\/\//i.test(v)) return v;
  return null;
}

/** U+0000 to U+0020: what the URL parser trims from both ends of its input. */
const C0_OR_SPACE = Array.from({ length: 0x21 }, (_, i) => String.fromCharCode(i)).join('');

/** Sentence punctuation after a URL ("see http://x.example."), not part of it. */
const TRAILING = `.,;:!?)]}'"`;

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * Adds a found URL and, when it goes through a link-rewriting service or a redirector, the URL it leads to
 * (without the link text, which belongs to the rewritten link): the blocklists look the real destination up too.
 */
function push(out: FoundUrl[], found: FoundUrl, max: number): void {
  out.push(found);
  const inner = out.length < max ? (unwrapRedirect(found.url) ?? embeddedUrl(found.url)) : null;
  const target = inner
    ? parseCandidate(inner, { source: found.source, ...(found.attr && { attr: found.attr }) })
    : null;
  if (target) out.push(target);
}

/**
 * Where a <meta http-equiv="refresh" content="N; url=URL"> sends the page without a click, or null: HTML's
 * shared declarative refresh steps (a number, ";" or ",", an optional "url=", the URL, quotes removed).
 */
function refreshTarget(attributes: { name: string; value: string }[]): string | null {
  const equiv = attributes.find((a) => a.name === 'http-equiv');
  const content = attributes.find((a) => a.name === 'content');
  if (!equiv || !content || decodeAttribute(equiv.value).trim().toLowerCase() !== 'refresh') return null;
  const m = /^\s*[\d.]*\s*[;,]?\s*(?:url\s*=\s*)?(['"]?)(.*)$/is.exec(decodeAttribute(content.value).slice(0, MAX_URL));
  if (!m?.[2]) return null;
  const end = m[1] ? m[2].indexOf(m[1]) : -1;
  return end >= 0 ? m[2].slice(0, end) : m[2];
}

/** URLs from HTML source: attributes of linking tags, link texts of anchors. */
export function urlsFromHtml(source: string, max = DEFAULT_MAX): FoundUrl[] {
  const out: FoundUrl[] = [];
  const html = source.length > MAX_HTML ? source.slice(0, MAX_HTML) : source;
  for (const tag of startTags(html, LINKING)) {
    if (out.length >= max) break;
    if (tag.name === 'meta') {
      const target = refreshTarget(tag.attributes);
      const found = target ? parseCandidate(target, { source: 'html', attr: 'href' }) : null;
      if (found) push(out, found, max);
      continue;
    }
    for (const a of tag.attributes) {
      const attr = Object.hasOwn(LINK_ATTRS, a.name) ? LINK_ATTRS[a.name] : null;
      if (!attr) continue;
      const value = decodeAttribute(a.value);
      let text: string | undefined;
      if (tag.name === 'a' && attr === 'href') {
        // The link text: up to </a>, read at most MAX_LINK_TEXT characters into the anchor.
        const window = html.slice(tag.end, tag.end + MAX_LINK_TEXT);
        const close = window.search(/<\/a/i);
        text = collapse(htmlToText(close < 0 ? window : window.slice(0, close)));
      }
      const found = parseCandidate(value, { source: 'html', attr, ...(text !== undefined ? { text } : {}) });
      if (found) push(out, found, max);
    }
  }
  for (const u of urlsFromText(htmlToText(html), max - out.length)) out.push({ ...u, source: 'html' });
  return out;
}

/** Bare URLs in plain text (after undoing obfuscations). */
export function urlsFromText(text: string, max = DEFAULT_MAX): FoundUrl[] {
  const out: FoundUrl[] = [];
  const clear = deobfuscate(text.length > MAX_TEXT ? text.slice(0, MAX_TEXT) : text);
  BARE.lastIndex = 0;
  for (let m = BARE.exec(clear); m && out.length < max; m = BARE.exec(clear)) {
    const found = parseCandidate(m[0], { source: 'text' });
    if (found) push(out, found, max);
  }
  return out;
}

/**
 * Every URL of a message's text and HTML bodies, HTML first, at most `max`, reading at most
 * MAX_MESSAGE_TEXT characters in all: the per-part limits alone let a message of many parts cost
 * seconds (40 parts of 1 MB without a link, each read to its end).
 */
export function extractUrls(bodies: { plain: string[]; html: string[] }, max = DEFAULT_MAX): FoundUrl[] {
  const out: FoundUrl[] = [];
  let left = MAX_MESSAGE_TEXT;
  for (const [list, read] of [
    [bodies.html, urlsFromHtml],
    [bodies.plain, urlsFromText],
  ] as const)
    for (const body of list) {
      if (out.length >= max || left <= 0) return out;
      const part = body.length > left ? body.slice(0, left) : body;
      left -= Math.min(part.length, list === bodies.html ? MAX_HTML : MAX_TEXT);
      out.push(...read(part, max - out.length));
    }
  return out;
}

/** The host a link text shows, when the text itself looks like a URL or a host name; else null. */
export function hostShownIn(text: string): string | null {
  // A format character (U+200B ZERO WIDTH SPACE, U+00AD SOFT HYPHEN, U+200E...) is not drawn, and the
  // sentence's full stop or comma after the name is not part of it: "www.paypal\u200b.com." reads as
  // www.paypal.com. Nor are brackets or quotes around it: "[www.paypal.com]", "<https://paypal.com/>".
  const bare = deobfuscate(text.replace(/\p{Cf}/gu, '').trim()).replace(/^[([{<"'\u2018\u201c\u00ab]+/, '');
  const t = trimChars(bare, `${TRAILING}>\u2019\u201d\u00bb`);
  const m = /^(?:(?:https?|ftp):\/\/)?((?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,62})\.)+[\p{L}]{2,24})(?:[/:?#]\S*)?$/iu.exec(
    t,
  );
  if (!m) return null;
  return normaliseHost(m[1]) || null;
}

/**
 * The text of an HTML file as a browser opening it from disk decodes it: by its byte order mark, which
 * overrides every other label (WHATWG Encoding, "BOM sniff"), else as `fallback` says. A page in UTF-16
 * read as single octets would show no tag at all.
 */
export function browserText(body: Buffer, fallback: () => string): string {
  if (body.length >= 2 && body[0] === 0xff && body[1] === 0xfe)
    return new TextDecoder('utf-16le').decode(body.subarray(2));
  if (body.length >= 2 && body[0] === 0xfe && body[1] === 0xff)
    return new TextDecoder('utf-16be').decode(body.subarray(2));
  return fallback();
}

/**
 * The links of a message's HTML and SVG attachments (a login page sent as a file posts to its form's
 * action): read as HTML bodies are, at most `max`; the caller picks the files (isHtmlAttachment).
 */
export function htmlAttachmentLinks(
  files: { text(): string; body(): Buffer; part: { type: string } }[],
  max: number,
): FoundUrl[] {
  const out: FoundUrl[] = [];
  let left = MAX_MESSAGE_TEXT;
  for (const f of files) {
    if (out.length >= max || left <= 0) break;
    const body = f.body();
    const html = browserText(body.subarray(0, 2 * MAX_HTML), () =>
      f.part.type === 'text' ? f.text() : body.subarray(0, MAX_HTML).toString('utf8'),
    );
    left -= Math.min(html.length, MAX_HTML);
    out.push(...urlsFromHtml(html, max - out.length));
  }
  return out;
}
