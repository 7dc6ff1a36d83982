// The leaves of a message's MIME tree as the content checks see them (text, HTML, attachments), walked
// once per message and cached on the parse, including parts of attached messages (message/rfc822), and
// of an attached message/global sent base64 or quoted-printable (RFC 6532 section 3.7 permits any
// content-transfer-encoding there; the parser leaves encoded message bodies opaque, so they are decoded
// and parsed here, at most MAX_ENCODED_MESSAGES per message).
import { decodeCharset, decodePartBody } from '../../mime/decode.ts';
import { decodeWords } from '../../mime/encoded-words.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { MimePart, ParsedMessage } from '../../mime/types.ts';

export interface Leaf {
  part: MimePart;
  /** The attachment's file name (Content-Disposition filename or Content-Type name), or ''. */
  filename: string;
  /**
   * Every name the part declares, `filename` first: Content-Disposition filename= and Content-Type name=
   * (either parameter in either field), each value of a repeated parameter, the plain form beside an RFC
   * 2231 one. Clients differ in which they save the file under (one takes name=, another the plain value
   * a 2231 form overrides), so each is judged, as amavis judges every declared name.
   */
  names: string[];
  /** Transfer-decoded body (computed on first use). */
  body(): Buffer;
  /** Charset-decoded text for text/* parts (computed on first use), '' otherwise. */
  text(): string;
}

/**
 * Decoded octets looked at per part: enough for magic bytes and the file lists of mail-sized archives
 * (a 7z's is at its end).
 */
const MAX_DECODED = 32 * 1024 * 1024;
export const MAX_LEAVES = 500;

const cache = new WeakMap<ParsedMessage, Leaf[]>();
/** Encoded attached messages (message/global) decoded and parsed per message. */
const MAX_ENCODED_MESSAGES = 10;

/** The messages with more leaves than MAX_LEAVES: those past it go unread. */
const capped = new WeakSet<ParsedMessage>();

export function leaves(raw: Buffer, parsed: ParsedMessage): Leaf[] {
  const hit = cache.get(parsed);
  if (hit) return hit;
  const out: Leaf[] = [];
  let encoded = 0;
  // `src`: the octets the part's offsets are into (an encoded attached message's are into its decoding).
  const walk = (src: Buffer, p: MimePart, depth: number): void => {
    if (depth > 20) return;
    if (out.length >= MAX_LEAVES) {
      capped.add(parsed);
      return;
    }
    if (p.children.length) for (const c of p.children) walk(src, c, depth + 1);
    else if (p.message) walk(src, p.message.root, depth + 1);
    else if (encodedMessage(p) && encoded < MAX_ENCODED_MESSAGES && p.bodyEnd - p.bodyStart <= MAX_DECODED) {
      encoded++;
      const inner = decodePartBody(src, p);
      walk(inner, parseMessage(inner).root, depth + 1);
    } else out.push(leaf(src, p));
  };
  walk(raw, parsed.root, 0);
  cache.set(parsed, out);
  return out;
}

/** Whether the message has more leaves than leaves() returns (MAX_LEAVES). */
export function tooManyLeaves(raw: Buffer, parsed: ParsedMessage): boolean {
  leaves(raw, parsed);
  return capped.has(parsed);
}

/** message/global whose body the parser left opaque for its encoding (base64, quoted-printable). */
function encodedMessage(p: MimePart): boolean {
  return (
    p.type === 'message' && p.subtype === 'global' && (p.encoding === 'base64' || p.encoding === 'quoted-printable')
  );
}

function leaf(raw: Buffer, part: MimePart): Leaf {
  let body: Buffer | undefined;
  let text: string | undefined;
  const filename = (part.disposition?.params.filename ?? part.params.name ?? '').trim();
  return {
    part,
    filename,
    names: declaredNames(part, filename),
    body: () => {
      body ??=
        part.bodyEnd - part.bodyStart > MAX_DECODED * 2
          ? Buffer.alloc(0)
          : UUENCODE.has(part.encoding)
            ? uudecode(raw.subarray(part.bodyStart, part.bodyEnd))
            : decodePartBody(raw, part);
      return body.length > MAX_DECODED ? body.subarray(0, MAX_DECODED) : body;
    },
    text: () => {
      if (text === undefined) {
        if (part.type !== 'text') text = '';
        else {
          if (!body) body = decodePartBody(raw, part);
          text = decodeCharset(body, part.params.charset);
        }
      }
      return text;
    },
  };
}

/**
 * Transfer encodings that name uuencode, which Thunderbird's libmime decodes (x-uuencode, x-uue, uuencode,
 * uue): the file a reader saves from such a part is the decoded one.
 */
const UUENCODE = new Set(['x-uuencode', 'x-uue', 'uuencode', 'uue']);

/**
 * Uuencoded octets decoded (POSIX uuencode: lines led by their length + 32, 6 bits a character, value + 32
 * with "`" or a blank for 0), from after a "begin" line if there is one, up to "end".
 */
export function uudecode(encoded: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil((encoded.length * 3) / 4));
  let n = 0;
  let started = !/^begin /m.test(encoded.subarray(0, 4096).toString('latin1'));
  for (const line of encoded.toString('latin1').split(/\r?\n/)) {
    if (!started) {
      started = line.startsWith('begin ');
      continue;
    }
    if (line === 'end') break;
    const length = (line.charCodeAt(0) - 32) & 63;
    if (!line || length === 0) continue;
    const v = (i: number) => (line.charCodeAt(i) - 32) & 63;
    for (let i = 1, left = length; left > 0 && i + 1 < line.length; i += 4, left -= 3) {
      const [a, b, c, d] = [v(i), v(i + 1), v(i + 2), v(i + 3)];
      out[n++] = (a << 2) | (b >> 4);
      if (left > 1) out[n++] = ((b & 15) << 4) | (c >> 2);
      if (left > 2) out[n++] = ((c & 3) << 6) | d;
    }
  }
  return out.subarray(0, n);
}

const NAME_PARAMS = new Set(['filename', 'name']);

/** The names a part declares (see Leaf.names), trimmed, each once, `first` first. */
function declaredNames(part: MimePart, first: string): string[] {
  const out = new Set<string>(first ? [first] : []);
  const add = (v: string | undefined) => {
    const name = v?.trim();
    if (!name) return;
    out.add(name);
    // A NUL ends the name for whatever reads it as a C string (Win32 CreateFile among them): "a.exe\0.pdf"
    // is saved as a.exe.
    const nul = name.indexOf('\0');
    if (nul > 0) out.add(name.slice(0, nul));
  };
  for (const params of [part.disposition?.params, part.params]) {
    add(params?.filename);
    add(params?.name);
  }
  // Plain values as written (the decoded params keep the first of a repeated name, and a 2231 form over all).
  for (const raw of [part.disposition?.rawParams ?? [], part.rawParams])
    for (const [name, value] of raw)
      if (NAME_PARAMS.has(name.toLowerCase())) add(value.includes('=?') ? decodeWords(value) : value);
  return [...out];
}

/** Text bodies that are not attachments: plain text and HTML source, for URL extraction and phishing. */
export function bodies(raw: Buffer, parsed: ParsedMessage): { plain: string[]; html: string[] } {
  const plain: string[] = [];
  const html: string[] = [];
  for (const l of leaves(raw, parsed)) {
    if (l.part.type !== 'text' || l.part.disposition?.type === 'attachment') continue;
    if (l.part.subtype === 'html') html.push(l.text());
    else plain.push(l.text());
  }
  return { plain, html };
}
