// POP3 command lines to typed commands (RFC 1939 sections 3-7, RFC 2449 section 3, RFC 5034 section 4,
// RFC 2595 section 4). Pure: no I/O, no state; the session decides what a command may do and when.

/** Every verb Petrel knows. */
export type Verb =
  | 'USER'
  | 'PASS'
  | 'APOP'
  | 'AUTH'
  | 'STLS'
  | 'CAPA'
  | 'QUIT'
  | 'STAT'
  | 'LIST'
  | 'RETR'
  | 'DELE'
  | 'NOOP'
  | 'RSET'
  | 'TOP'
  | 'UIDL';

export type Pop3Command =
  | { verb: 'USER'; name: string }
  | { verb: 'PASS'; password: string }
  | { verb: 'APOP'; name: string; digest: string }
  /** AUTH with no mechanism lists the mechanisms; `initial` is the RFC 5034 initial response as written. */
  | { verb: 'AUTH'; mechanism: string | null; initial: string | null }
  | { verb: 'LIST'; msg: number | null }
  | { verb: 'UIDL'; msg: number | null }
  | { verb: 'RETR'; msg: number }
  | { verb: 'DELE'; msg: number }
  | { verb: 'TOP'; msg: number; lines: number }
  | { verb: 'STLS' }
  | { verb: 'CAPA' }
  | { verb: 'QUIT' }
  | { verb: 'STAT' }
  | { verb: 'NOOP' }
  | { verb: 'RSET' };

/** A line that is not a command we can run: an unknown keyword, or a known one with bad arguments. */
export interface ParseError {
  error: 'unknown' | 'syntax';
  /** The keyword as sent, upper-cased, cut to 16 characters (for logs and metrics). */
  keyword: string;
  message: string;
}

/** RFC 2449 section 4: commands may be 255 octets with their CRLF; the session reads lines up to this. */
export const MAX_COMMAND_LINE = 255;

const NO_ARGS = new Set<Verb>(['STLS', 'CAPA', 'QUIT', 'STAT', 'NOOP', 'RSET']);
const KNOWN = new Set<string>([...NO_ARGS, 'USER', 'PASS', 'APOP', 'AUTH', 'LIST', 'RETR', 'DELE', 'TOP', 'UIDL']);

/** Message numbers: decimal, at most 9 digits (no maildrop comes near). */
const NUMBER = /^[0-9]{1,9}$/;
/** TOP's line count: any non-negative number (RFC 1939 section 7); beyond the body it means all of it. */
const LINE_COUNT = /^[0-9]+$/;

const syntax = (keyword: string, message: string): ParseError => ({ error: 'syntax', keyword, message });

/**
 * Parses one command line (without its CRLF). Keywords are case-insensitive; arguments are separated by
 * single spaces (RFC 1939 section 3), though runs of spaces are accepted. PASS takes the rest of the line
 * verbatim as one argument, spaces included (RFC 1939 section 7, PASS discussion).
 */
export function parseCommand(line: Buffer | string): Pop3Command | ParseError {
  const text = typeof line === 'string' ? line : line.toString('utf8');
  const sp = text.indexOf(' ');
  const keyword = (sp < 0 ? text : text.slice(0, sp)).toUpperCase();
  const rest = sp < 0 ? '' : text.slice(sp + 1);
  const shown = keyword.slice(0, 16);
  if (!KNOWN.has(keyword)) return { error: 'unknown', keyword: shown, message: 'Unknown command' };
  const verb = keyword as Verb;
  if (verb === 'PASS') {
    if (rest === '') return syntax(verb, 'PASS needs a password');
    return { verb, password: rest };
  }
  const args = rest.split(' ').filter((a) => a !== '');
  if (args.some((a) => !/^[\x21-\x7e]+$/.test(a))) return syntax(verb, 'Arguments are printable ASCII');
  if (NO_ARGS.has(verb)) {
    if (args.length) return syntax(verb, `${verb} takes no arguments`);
    return { verb } as Pop3Command;
  }
  switch (verb) {
    case 'USER':
      if (args.length !== 1) return syntax(verb, 'USER needs one name');
      return { verb, name: args[0] };
    case 'APOP':
      if (args.length !== 2) return syntax(verb, 'APOP needs a name and a digest');
      return { verb, name: args[0], digest: args[1] };
    case 'AUTH':
      if (args.length > 2) return syntax(verb, 'AUTH takes a mechanism and an optional initial response');
      return { verb, mechanism: args[0]?.toUpperCase() ?? null, initial: args[1] ?? null };
    case 'LIST':
    case 'UIDL': {
      if (args.length > 1) return syntax(verb, `${verb} takes at most one message number`);
      if (args.length === 0) return { verb, msg: null };
      const msg = messageNumber(args[0]);
      return msg === null ? syntax(verb, 'Invalid message number') : { verb, msg };
    }
    case 'RETR':
    case 'DELE': {
      if (args.length !== 1) return syntax(verb, `${verb} needs one message number`);
      const msg = messageNumber(args[0]);
      return msg === null ? syntax(verb, 'Invalid message number') : { verb, msg };
    }
    case 'TOP': {
      if (args.length !== 2) return syntax(verb, 'TOP needs a message number and a line count');
      const msg = messageNumber(args[0]);
      if (msg === null) return syntax(verb, 'Invalid message number');
      if (!LINE_COUNT.test(args[1])) return syntax(verb, 'Invalid line count');
      // RFC 1939 section 7: more lines than the body has sends the entire message, so a huge count clamps.
      return { verb, msg, lines: Math.min(Number(args[1]), Number.MAX_SAFE_INTEGER) };
    }
  }
  return { error: 'unknown', keyword: shown, message: 'Unknown command' };
}

/** A message-number is 1 or more (RFC 1939 section 4); 0 and non-digits are syntax errors. */
function messageNumber(s: string): number | null {
  if (!NUMBER.test(s)) return null;
  const n = Number(s);
  return n >= 1 ? n : null;
}

/** Strict base64 (RFC 4648 section 4): only the alphabet, padding only at the end (RFC 5034 section 4). */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * A SASL client response line (RFC 5034 section 4): "*" cancels; "=" is an empty initial response; anything
 * else must be strict base64. Returns the base64 text ('' for empty), 'cancel', or null when malformed.
 */
export function parseSaslResponse(text: string, initial: boolean): string | 'cancel' | null {
  if (text === '*' && !initial) return 'cancel';
  if (text === '=' && initial) return '';
  if (text === '' && !initial) return '';
  return BASE64.test(text) ? text : null;
}

export function isParseError(c: Pop3Command | ParseError): c is ParseError {
  return 'error' in c;
}
