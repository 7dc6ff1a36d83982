// What an SMTP client reads and writes, as pure functions: server replies (RFC 5321 section 4.2) with
// enhanced status codes (RFC 2034), EHLO keywords (section 4.1.1.1), xtext (RFC 3461 section 4).

/** One assembled reply: three-digit code, enhanced status code if the server gave one, text lines. */
export interface Reply {
  code: number;
  /** "X.Y.Z" (RFC 3463), or null when the server does not use ENHANCEDSTATUSCODES. */
  enhanced: string | null;
  /** Text of each line without the code, separator and enhanced code. */
  lines: string[];
}

export class ReplySyntaxError extends Error {
  constructor(line: string) {
    super(`malformed SMTP reply line: ${JSON.stringify(line.slice(0, 80))}`);
    this.name = 'ReplySyntaxError';
  }
}

/**
 * One reply line, RFC 5321 section 4.2: Reply-code [ SP textstring ] CRLF for the last line,
 * Reply-code "-" [ textstring ] CRLF before it. A bare code (no text) is allowed on the last line.
 */
export function parseReplyLine(line: string): { code: number; last: boolean; text: string } {
  const m = /^([2-5][0-9][0-9])(?:([ -])(.*))?$/s.exec(line);
  if (!m) throw new ReplySyntaxError(line);
  return { code: Number(m[1]), last: m[2] !== '-', text: m[3] ?? '' };
}

const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)/;

/** Assembles the lines of one reply (all with the same code) into a Reply. */
export function assembleReply(lines: string[]): Reply {
  if (lines.length === 0) throw new ReplySyntaxError('');
  const parsed = lines.map(parseReplyLine);
  const code = parsed[0].code;
  // RFC 5321 section 4.2.1: every line of a reply carries the same code; which one a mix means is unknown.
  const other = parsed.findIndex((p) => p.code !== code);
  if (other >= 0) throw new ReplySyntaxError(`mixed reply codes: ${lines[other]}`);
  // RFC 2034 section 4: the enhanced code starts each line's text, its class matching the reply's.
  const first = ENHANCED.exec(parsed[0].text);
  const enhanced = first && first[1] === String(code)[0] ? `${first[1]}.${first[2]}.${first[3]}` : null;
  const strip = (t: string) => (enhanced && t.startsWith(enhanced) ? t.slice(enhanced.length).trimStart() : t);
  return { code, enhanced, lines: parsed.map((p) => strip(p.text)) };
}

/** "250 2.1.5 Ok": the reply as one line, for logs, the queue listing and DSN Diagnostic-Code. */
export function formatReply(r: Reply): string {
  return [String(r.code), r.enhanced, r.lines.join(' ')].filter((x) => x).join(' ');
}

export const isPositive = (r: Reply) => r.code >= 200 && r.code < 400;
export const isTransient = (r: Reply) => r.code >= 400 && r.code < 500;
export const isPermanent = (r: Reply) => r.code >= 500;

/** EHLO keywords (upper case) to their parameters (RFC 5321 section 4.1.1.1); the first line is the greeting. */
export function parseEhlo(r: Reply): Map<string, string[]> {
  const caps = new Map<string, string[]>();
  for (const line of r.lines.slice(1)) {
    const [kw, ...params] = line.trim().split(/\s+/);
    if (kw && /^[A-Za-z0-9][A-Za-z0-9-]*$/.test(kw)) caps.set(kw.toUpperCase(), params);
  }
  return caps;
}

/**
 * xtext (RFC 3461 section 4): "+" and "=", controls, space and non-ASCII octets are written "+HH"
 * (upper-case hex). Used for ENVID and ORCPT values.
 */
export function encodeXtext(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b >= 33 && b <= 126 && b !== 43 && b !== 61) out += String.fromCharCode(b);
    else out += `+${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeXtext(s: string): string {
  return Buffer.from(
    s.replace(/\+([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

/**
 * ORCPT value as given to RCPT TO (RFC 3461 section 4.2): "addr-type;xtext". Our queue keeps the
 * decoded "addr-type;address" form; an address without a type is taken as rfc822.
 */
export function orcptParam(orcpt: string): string {
  const semi = orcpt.indexOf(';');
  const type = semi > 0 ? orcpt.slice(0, semi) : 'rfc822';
  const addr = semi > 0 ? orcpt.slice(semi + 1) : orcpt;
  return `${type};${encodeXtext(addr)}`;
}

/** True when every octet is 7-bit (no 8BITMIME or SMTPUTF8 needed for it). */
export function isAscii(b: Buffer | string): boolean {
  const buf = typeof b === 'string' ? Buffer.from(b) : b;
  for (let i = 0; i < buf.length; i++) if (buf[i] > 127) return false;
  return true;
}

/**
 * DATA content, RFC 5321 section 4.5.2: a line starting with "." gets one more "."; the content ends
 * with CRLF and the terminator "." CRLF follows. Input lines must already end in CRLF.
 */
export function dotStuff(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  if (data.length > 0 && data[0] === 46) {
    parts.push(Buffer.from('.'));
  }
  for (let i = data.indexOf(10); i >= 0 && i < data.length - 1; i = data.indexOf(10, i + 1)) {
    if (data[i + 1] === 46) {
      parts.push(data.subarray(start, i + 1), Buffer.from('.'));
      start = i + 1;
    }
  }
  parts.push(data.subarray(start));
  const endsWithCrlf = data.length >= 2 && data[data.length - 2] === 13 && data[data.length - 1] === 10;
  parts.push(Buffer.from(endsWithCrlf || data.length === 0 ? '.\r\n' : '\r\n.\r\n'));
  return Buffer.concat(parts);
}

/** Rewrites bare LF and bare CR line ends to CRLF (what the wire and DKIM signing need). */
export function toCrlf(data: Buffer): Buffer {
  let bare = false;
  for (let i = 0; i < data.length; i++) {
    const c = data[i];
    if ((c === 10 && (i === 0 || data[i - 1] !== 13)) || (c === 13 && data[i + 1] !== 10)) {
      bare = true;
      break;
    }
  }
  if (!bare) return data;
  return Buffer.from(data.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}
