// POP3 response lines (RFC 1939 section 3, RFC 2449 sections 3 and 8, RFC 5034 section 4): status lines with
// optional response codes, multi-line lists ending in ".", SASL challenges. Pure formatting, no I/O.

/** Response codes we send: RFC 2449 section 8.1 (IN-USE) and RFC 3206 (AUTH, SYS/TEMP, SYS/PERM). */
export type RespCode = 'IN-USE' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM';

/** RFC 2449 section 4: the first line of a response is at most 512 octets with its CRLF. */
export const MAX_RESPONSE_LINE = 512;

/** Text safe for one response line: no CR, LF or other controls, and short enough for the line limit. */
function clean(text: string, room: number): string {
  const t = text.replace(/[\x00-\x1f\x7f]+/g, ' ');
  if (Buffer.byteLength(t) <= room) return t;
  let cut = t.slice(0, room);
  while (Buffer.byteLength(cut) > room) cut = cut.slice(0, -1);
  return cut;
}

function status(s: '+OK' | '-ERR', text: string, code?: RespCode): string {
  const head = code ? `${s} [${code}]` : s;
  if (!text) return `${head}\r\n`;
  return `${head} ${clean(text, MAX_RESPONSE_LINE - Buffer.byteLength(head) - 3)}\r\n`;
}

/** "+OK text" */
export function ok(text = ''): string {
  return status('+OK', text);
}

/** "-ERR [CODE] text" */
export function err(text: string, code?: RespCode): string {
  return status('-ERR', text, code);
}

/**
 * A multi-line response of short lines (CAPA, LIST, UIDL, AUTH's mechanism list): the status line, each
 * line byte-stuffed if it starts with ".", then the terminating "." line (RFC 1939 section 3).
 */
export function multiLine(first: string, lines: readonly string[]): string {
  let out = ok(first);
  for (const l of lines) out += (l.startsWith('.') ? '.' : '') + l + '\r\n';
  return out + '.\r\n';
}

/** A SASL challenge (RFC 5034 section 4): "+" SP base64; the empty challenge is "+ " alone. */
export function challenge(data: Buffer): string {
  return `+ ${data.toString('base64')}\r\n`;
}

/**
 * The scan listing of a message (RFC 1939 section 5, LIST) and its unique-id listing (section 7, UIDL):
 * "n size" and "n unique-id".
 */
export function listing(n: number, value: number | string): string {
  return `${n} ${value}`;
}
