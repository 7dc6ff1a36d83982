// Turns HTML into plain text for search and previews: tags dropped, scripts and styles removed,
// entities decoded. A linear scan with indexOf, so hostile markup cannot make it quadratic.
import { decodeHTML, decodeHTMLAttribute } from 'entities';

// Named character references come from the HTML Living Standard's full table (section 13.5, via the
// `entities` package): "https&colon;//x&period;example" is a link in every client. Two are kept apart
// for text: a no-break space reads as a space, and a soft hyphen is not drawn.
const TEXT_OVERRIDES: Record<string, string> = { nbsp: ' ', shy: '' };

// Elements whose start or end breaks the line.
const BLOCK = new Set([
  'br',
  'p',
  'div',
  'tr',
  'li',
  'ul',
  'ol',
  'table',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'blockquote',
  'pre',
  'hr',
  'section',
  'article',
  'header',
  'footer',
  'dt',
  'dd',
]);

// Elements whose content is not text to read.
const SKIP = new Set(['script', 'style', 'head', 'title', 'noscript', 'template']);

const ENTITY = /&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[a-zA-Z][a-zA-Z0-9]{1,31});?/g;

function entity(whole: string, body: string): string {
  if (body[0] === '#') {
    const code = body[1] === 'x' || body[1] === 'X' ? Number.parseInt(body.slice(2), 16) : Number(body.slice(1));
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\ufffd';
    return String.fromCodePoint(code);
  }
  const override = TEXT_OVERRIDES[body] ?? TEXT_OVERRIDES[body.toLowerCase()];
  if (override !== undefined) return override;
  const decoded = decodeHTML(whole);
  if (decoded !== whole) return decoded;
  // "&AMP;" is in the table, "&Amp;" is not; old mailers write either.
  const lower = decodeHTML(whole.toLowerCase());
  return lower !== whole.toLowerCase() ? lower : whole;
}

/** Decodes HTML character references in text (every named one of HTML5, all numeric ones). */
export function decodeEntities(s: string): string {
  return s.indexOf('&') < 0 ? s : s.replace(ENTITY, entity);
}

/**
 * Decodes character references in an attribute value as a browser does (HTML Living Standard section
 * 13.2.5.73): a reference without its ";" followed by a letter, digit or "=" is left as written there, so
 * "?a=1&copy=2" keeps its query.
 */
export function decodeAttribute(s: string): string {
  return s.indexOf('&') < 0 ? s : decodeHTMLAttribute(s);
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/** Plain text of an HTML document: whitespace collapsed, block elements on their own lines. */
export function htmlToText(html: string): string {
  // Text is collected raw and normalised once at the end (cheaper than per chunk); NUL marks
  // a line break from a block element, so NULs in the input are dropped first.
  if (html.includes('\u0000')) html = html.replaceAll('\u0000', '');
  const out: string[] = [];
  const unclosed = new Set<string>();
  const len = html.length;
  const text = (s: string): void => {
    if (s !== '') out.push(s);
  };
  let i = 0;
  while (i < len) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      text(html.slice(i));
      break;
    }
    text(html.slice(i, lt));
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? len : end + 3;
      continue;
    }
    let j = lt + 1;
    const closing = html.charCodeAt(j) === 47;
    if (closing) j++;
    const c = html.charCodeAt(j);
    if (!isLetter(c) && c !== 33 && c !== 63) {
      // A bare "<" in text (e.g. "a < b").
      out.push('<');
      i = lt + 1;
      continue;
    }
    const gt = html.indexOf('>', j);
    if (gt < 0) break; // an unterminated tag runs to the end
    let k = j;
    while (k < gt && (isLetter(html.charCodeAt(k)) || (html.charCodeAt(k) >= 48 && html.charCodeAt(k) <= 57))) k++;
    const name = html.slice(j, k).toLowerCase();
    i = gt + 1;
    if (!closing && SKIP.has(name) && !unclosed.has(name)) {
      // Skip to the end tag; remember a missing one so later start tags do not search again.
      const re = new RegExp('</' + name, 'gi');
      re.lastIndex = i;
      const end = re.exec(html);
      if (end === null) unclosed.add(name);
      else {
        const close = html.indexOf('>', end.index);
        i = close < 0 ? len : close + 1;
      }
      continue;
    }
    if (BLOCK.has(name)) out.push('\u0000');
    else if (name === 'td' || name === 'th') out.push(' ');
  }
  return decodeEntities(out.join('').replace(/\s+/g, ' '))
    .replace(/ ?\u0000[ \u0000]*/g, '\n')
    .trim();
}
