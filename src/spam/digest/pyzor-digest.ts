// The Pyzor body digest, computed as the pyzor 1.x client computes it, so our digests match the network's:
// every text/* part decoded (HTML reduced to its text, scripts and styles dropped), every other leaf as its
// encoded body; each line loses whatever looks unique to one copy (runs of 10+ non-spaces, e-mail
// addresses, URLs) and all whitespace; lines shorter than 8 characters are dropped; of the rest, a message
// of up to 4 lines is digested whole, a longer one by 3 lines at 20% and 3 lines at 60% of its length.
// HTML entities are decoded with the full HTML5 table (the `entities` package), as Python's html.unescape does.
// The digest is the hex SHA-1 of those lines' UTF-8 octets, concatenated.
import { createHash } from 'node:crypto';
import { decodeHTML } from 'entities';
import { parseMessage } from '../../mime/parse.ts';
import type { MimePart, ParsedMessage } from '../../mime/types.ts';
import { pythonDecode } from './python-codecs.ts';
import { a2bQp, decodeUu, headerParam, rawHeader } from './python-email.ts';

/** Python's str.isspace() set (what `\s` and strip() mean to the reference implementation). */
const WS = '\\t\\n\\v\\f\\r \\x1c-\\x1f\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const LONG = new RegExp(`[^${WS}]{10,}`, 'gu');
const EMAIL = new RegExp(`[^${WS}]+@[^${WS}]+`, 'gu');
// re.IGNORECASE makes Python's [a-z] match what lower-cases into it (simple case mapping): also U+0130 (İ),
// U+0131 (ı), U+017F (ſ) and U+212A (K); JS case folding with /iu matches only the last two.
const URL_LIKE = new RegExp(`[a-zA-Z\\u0130\\u0131\\u017f\\u212a]+:[^${WS}]+`, 'gu');
const SPACE = new RegExp(`[${WS}]`, 'gu');
const TRIM = new RegExp(`^[${WS}]+|[${WS}]+$`, 'gu');
/** Python's str.splitlines() boundaries. */
const LINE_BREAK = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

const MIN_LINE = 8;
const ATOMIC_LINES = 4;
const SPEC: [number, number][] = [
  [20, 3],
  [60, 3],
];

/** One line as the digest sees it (pyzor's normalize): unique-looking tokens and whitespace removed. */
export function normalizeLine(s: string): string {
  return s.replace(LONG, '').replace(EMAIL, '').replace(URL_LIKE, '').replace(SPACE, '');
}

/**
 * A text part's octets as pyzor's digest_payloads decodes them: `payload.decode(charset, "ignore")` with
 * the part's charset (get_content_charset: lower-cased; none, or one with non-ASCII characters, is
 * "ascii"), and where Python has no such codec (LookupError) or it fails (UnicodeError), as ASCII.
 */
function decodeText(buf: Buffer, charset: string | undefined): string {
  const cs = charset && !/[^\x00-\x7f]/.test(charset) ? charset : 'ascii';
  return pythonDecode(buf, cs, 'ignore') ?? (pythonDecode(buf, 'ascii', 'ignore') as string);
}

const isSpace = (c: string | undefined) =>
  c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v';

/**
 * Where a start tag at `lt` ends as Python's html.parser finds it (locatestarttagend_tolerant, then
 * check_for_whole_start_tag), or -1 when its end is not in the input. The regex, walked by hand in one
 * pass: attribute names must follow a blank, "/" or quote; a value is quoted (an unclosed quote is no
 * value) or bare (a quote inside a bare value is just a character).
 */
function startTagEnd(html: string, lt: number): number {
  const n = html.length;
  let j = lt + 1;
  // The tag name: [^\t\n\r\f />\x00]* (a vertical tab is part of it; \s elsewhere includes it).
  while (j < n && !/[\t\n\r\f />\0]/.test(html[j])) j++;
  for (;;) {
    let k = j;
    while (k < n && (isSpace(html[k]) || html[k] === '/')) k++;
    const before = html[k - 1];
    if (k >= n || html[k] === '>' || !(isSpace(before) || before === '/' || before === '"' || before === "'")) break;
    // The attribute name: any first character but blank, "/" or ">", then none of blank, "/", "=", ">".
    k++;
    while (k < n && !isSpace(html[k]) && html[k] !== '/' && html[k] !== '=' && html[k] !== '>') k++;
    // An optional value: blanks, "=" (one or more), blanks, then a quoted or a bare value, then blanks.
    let v = k;
    while (v < n && isSpace(html[v])) v++;
    if (html[v] === '=') {
      while (html[v] === '=') v++;
      while (v < n && isSpace(html[v])) v++;
      const q = html[v];
      let ok = true;
      if (q === '"' || q === "'") {
        const close = html.indexOf(q, v + 1);
        if (close < 0) ok = false;
        else v = close + 1;
      } else while (v < n && html[v] !== '>' && !isSpace(html[v])) v++;
      if (ok) {
        while (v < n && isSpace(html[v])) v++;
        k = v;
      }
    }
    while (k < n && (isSpace(html[k]) || (html[k] === '/' && html[k + 1] !== '>'))) k++;
    j = k;
  }
  while (j < n && isSpace(html[j])) j++;
  const next = html[j];
  if (next === '>') return j + 1;
  if (next === '/') return html.startsWith('/>', j) ? j + 2 : -1;
  if (next === undefined || /[a-z=/]/i.test(next)) return -1;
  return j > lt ? j : lt + 1;
}

/**
 * The text of HTML as pyzor's stripper collects it (Python's html.parser fed the part once, never
 * closed): each text run trimmed, joined by spaces. Where the parser goes at each "<" decides the runs:
 * a letter starts a tag, "</" an end tag (or a bogus comment) through the next ">", "<!--" a comment,
 * "<!" and "<?" declarations; any other "<" is a text run of its own ("<<" gives "< <"). Markup that
 * does not end, and a last "<", wait for more input that never comes: the rest is dropped.
 */
export function htmlData(html: string): string {
  const out: string[] = [];
  const lower = html.toLowerCase();
  const push = (s: string) => {
    const t = decodeHTML(s).replace(TRIM, '');
    if (t) out.push(t);
  };
  const n = html.length;
  let i = 0;
  while (i < n) {
    const lt = html.indexOf('<', i);
    if (lt < 0) {
      // Text at the end with an "&" in its last 34 characters not followed by a blank or ";" is kept
      // back as a possibly cut character reference, and never comes (html.parser's goahead).
      const amp = html.lastIndexOf('&');
      if (amp >= Math.max(i, n - 34) && !/[\s;]/.test(html.slice(amp))) break;
      push(html.slice(i));
      break;
    }
    if (lt > i) push(html.slice(i, lt));
    const next = html[lt + 1];
    if (next === undefined) break;
    if (html.startsWith('<!--', lt)) {
      const end = html.indexOf('-->', lt + 4);
      i = end < 0 ? n : end + 3;
      continue;
    }
    if (next === '/') {
      const end = html.indexOf('>', lt + 2);
      i = end < 0 ? n : end + 1;
      continue;
    }
    if (!/[a-z!?]/i.test(next)) {
      out.push('<');
      i = lt + 1;
      continue;
    }
    const end = startTagEnd(html, lt);
    if (end < 0) break; // an unfinished tag waits for input that never comes
    const tagText = html.slice(lt, end);
    // A tag that does not end in ">" or "/>" (bogus input) is text to Python's parser (parse_starttag).
    if (!/\/?>$/.test(tagText.trimEnd()) || next === '!' || next === '?') {
      if (next === '!' || next === '?') {
        // Declarations and processing instructions run to the next ">".
        const gt = html.indexOf('>', lt + 2);
        if (gt < 0) break;
        i = gt + 1;
        continue;
      }
      push(tagText);
      i = end;
      continue;
    }
    i = end;
    // Script and style content is raw text up to the end tag, and none of it is collected.
    const tag = /^<([a-z][a-z0-9]*)/i.exec(html.slice(lt, lt + 40))?.[1]?.toLowerCase();
    if (tag === 'script' || tag === 'style') {
      const end = lower.indexOf(`</${tag}`, i);
      i = end < 0 ? n : end;
    }
  }
  return out.join(' ');
}

const isBase64Char = (c: number) =>
  (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 43 || c === 47;

/**
 * A part's body as Python's email package decodes it for pyzor (Message.get_payload(decode=True)), by the
 * Content-Transfer-Encoding exactly as written, lower-cased (a trailing blank makes it unknown: the body
 * as it is). Base64 is email._encoded_words.decode_b over binascii's lenient a2b_base64, where it differs
 * from our decoder: decoding stops at the first "=" that completes a quad (anything after it, a list
 * footer, junk, is dropped); and base64 whose data characters number one more than a multiple of 4 cannot
 * be decoded with any padding, so Python returns the encoded text itself, lines joined (bpo-27397).
 * Quoted-printable is binascii.a2b_qp, uuencode email.message._decode_uu (python-email.ts).
 */
function pythonDecoded(raw: Buffer, p: MimePart): Buffer {
  const body = raw.subarray(p.bodyStart, p.bodyEnd);
  const cte = (rawHeader(raw, p, 'content-transfer-encoding') ?? '').toLowerCase();
  if (cte === 'quoted-printable') return a2bQp(body);
  if (['x-uuencode', 'uuencode', 'uue', 'x-uue'].includes(cte)) return decodeUu(body) ?? body;
  if (cte !== 'base64') return body;
  const data: number[] = [];
  let pads = 0;
  for (const c of body) {
    if (c === 61) {
      const quad = data.length % 4;
      if (quad >= 2 && quad + ++pads >= 4) break;
    } else if (isBase64Char(c)) {
      data.push(c);
      pads = 0;
    }
  }
  if (data.length % 4 === 1) return Buffer.from(body.toString('latin1').replace(/\r\n|\r|\n/g, ''), 'latin1');
  return Buffer.from(Buffer.from(data).toString('latin1'), 'base64');
}

function payloads(raw: Buffer, parsed: ParsedMessage): string[] {
  const out: string[] = [];
  const walk = (raw: Buffer, p: MimePart): void => {
    if (p.children.length) for (const c of p.children) walk(raw, c);
    else if (p.message) walk(raw, p.message.root);
    else if (p.type === 'message' && p.subtype === 'delivery-status') {
      // Python's email reads this body as header blocks (sub-messages without payloads): nothing to digest.
    } else if (p.type === 'message') {
      // Python's feedparser reads the body of every other message/* part (message/partial,
      // message/external-body, an encoded message/rfc822 our parser leaves opaque) as a message.
      const body = raw.subarray(p.bodyStart, p.bodyEnd);
      walk(body, parseMessage(body).root);
    } else if (p.type === 'text') {
      // get_content_charset reads the parameter even where our parser rejects the field as a whole.
      const ct = p.params.charset === undefined ? rawHeader(raw, p, 'content-type') : undefined;
      const charset = p.params.charset ?? (ct === undefined ? undefined : headerParam(ct, 'charset')?.toLowerCase());
      const text = decodeText(pythonDecoded(raw, p), charset);
      out.push(p.subtype === 'html' ? htmlData(text) : text);
    } else {
      // Non-text leaves go in as their encoded body (get_payload() without decode); 8-bit octets are
      // decoded with the part's charset parameter (default ascii) and errors="replace".
      const body = raw.subarray(p.bodyStart, p.bodyEnd);
      out.push(
        body.some((b) => b > 0x7f)
          ? (pythonDecode(body, p.params.charset ?? 'ascii', 'replace') ??
              (pythonDecode(body, 'ascii', 'replace') as string))
          : body.toString('latin1'),
      );
    }
  };
  walk(raw, parsed.root);
  return out;
}

const linesCache = new WeakMap<ParsedMessage, string[]>();

/**
 * Messages larger than this get no body digest. Pyzor normalises every line of every part, attachments'
 * encoded lines included, before it picks six: about 35 ms of blocked event loop per megabyte here, a
 * second or more for a message with a big attachment. Bulk mail, what digests are for, is far smaller
 * (SpamAssassin's spamc does not even pass on messages over 500 KB).
 */
export const MAX_DIGEST_MESSAGE = 2 * 1024 * 1024;

/**
 * The normalised lines that qualify (what `pyzor predigest` prints before selection); cached per parse.
 * None for a message over MAX_DIGEST_MESSAGE octets.
 */
export function digestLines(raw: Buffer, parsed: ParsedMessage): string[] {
  const hit = linesCache.get(parsed);
  if (hit) return hit;
  const lines: string[] = [];
  if (raw.length > MAX_DIGEST_MESSAGE) {
    linesCache.set(parsed, lines);
    return lines;
  }
  for (const payload of payloads(raw, parsed))
    for (const line of payload.split(LINE_BREAK)) {
      // Cheap pre-test: a line with fewer than 8 non-space characters can never qualify.
      if (line.length < MIN_LINE) continue;
      const norm = normalizeLine(line);
      if (norm.length >= MIN_LINE && [...norm].length >= MIN_LINE) lines.push(norm.replace(/[\udc80-\udcff]/g, ''));
    }
  linesCache.set(parsed, lines);
  return lines;
}

/** The lines that go into the digest, in order. */
export function selectedLines(lines: string[]): string[] {
  if (lines.length <= ATOMIC_LINES) return lines;
  const out: string[] = [];
  for (const [offset, length] of SPEC)
    for (let i = 0; i < length; i++) {
      const line = lines[Math.floor((offset * lines.length) / 100) + i];
      if (line !== undefined) out.push(line);
    }
  return out;
}

/** The Pyzor digest (40 hex characters) of a parsed message. */
export function pyzorDigest(raw: Buffer, parsed: ParsedMessage): string {
  const h = createHash('sha1');
  for (const line of selectedLines(digestLines(raw, parsed))) h.update(Buffer.from(line, 'utf8'));
  return h.digest('hex');
}
