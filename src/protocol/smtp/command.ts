// SMTP command lines (RFC 5321 section 4.1.1): the verb and its argument, and the typed arguments of the
// commands that have a grammar (MAIL, RCPT, EHLO/HELO/LHLO, BDAT, AUTH).
import { isUtf8 } from 'node:buffer';
import { type EsmtpParam, parseParams } from './params.ts';
import { isDomain, parsePath, type SmtpAddress } from './path.ts';

export interface CommandLine {
  /** Upper-cased verb. */
  verb: string;
  /** Everything after the verb and one space, as sent. */
  arg: string;
}

/** `param`: the path was fine and a parameter after it was not (501 5.5.4, not a bad-address 5.1.x). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string; param?: true };

/** Splits a command line (without CRLF). Bytes that are not UTF-8 make it a syntax error. */
export function parseCommandLine(bytes: Buffer): Parsed<CommandLine> {
  if (!isUtf8(bytes)) return { ok: false, reason: 'command line is not valid UTF-8' };
  const s = bytes.toString('utf8');
  if (/[\x00-\x08\x0a-\x1f\x7f]/.test(s)) return { ok: false, reason: 'control characters in command line' };
  const sp = s.indexOf(' ');
  const verb = (sp < 0 ? s : s.slice(0, sp)).toUpperCase();
  if (!/^[A-Z]{1,12}$/.test(verb)) return { ok: false, reason: 'unrecognised command' };
  return { ok: true, value: { verb, arg: sp < 0 ? '' : s.slice(sp + 1) } };
}

/**
 * EHLO/HELO/LHLO argument: a Domain or an address-literal (RFC 5321 section 4.1.1.1). Many real clients
 * send a bare hostname that is not fully qualified; that is accepted, anything with spaces or junk is not.
 */
export function parseHelo(arg: string): Parsed<string> {
  const a = arg.trim();
  if (a === '') return { ok: false, reason: 'a domain name is required' };
  if (/^\[[\x21-\x5a\x5e-\x7e]+\]$/.test(a) || isDomain(a.replace(/\.$/, ''))) return { ok: true, value: a };
  // Hostnames with '_' (common on desktops) are not Domains but are harmless in the Received field.
  if (a.length <= 255 && /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*\.?$/.test(a)) return { ok: true, value: a };
  return { ok: false, reason: 'invalid domain name' };
}

export interface PathCommand {
  /** null: the null reverse-path "<>" (MAIL) or "<Postmaster>" (RCPT, see `postmaster`). */
  path: SmtpAddress | null;
  postmaster: boolean;
  params: EsmtpParam[];
}

/** "FROM:<path> params" / "TO:<path> params". A space after the colon is tolerated (widespread). */
function pathCommand(arg: string, keyword: 'FROM:' | 'TO:', isMail: boolean): Parsed<PathCommand> {
  if (arg.slice(0, keyword.length).toUpperCase() !== keyword)
    return { ok: false, reason: `syntax: ${isMail ? 'MAIL FROM:<address>' : 'RCPT TO:<address>'}` };
  const rest = arg.slice(keyword.length).replace(/^ +/, '');
  const p = parsePath(rest, { allowEmpty: isMail, allowPostmaster: !isMail });
  if (!p.ok) return p;
  if (p.rest !== '' && p.rest[0] !== ' ') return { ok: false, reason: 'junk after the address' };
  const params = parseParams(p.rest);
  if (!params.ok) return { ok: false, reason: params.reason, param: true };
  return { ok: true, value: { path: p.path, postmaster: p.postmaster, params: params.params } };
}

export const parseMail = (arg: string) => pathCommand(arg, 'FROM:', true);
export const parseRcpt = (arg: string) => pathCommand(arg, 'TO:', false);

/** BDAT chunk-size [LAST] (RFC 3030 section 2); extra spaces are tolerated, as Postfix does. */
export function parseBdat(arg: string): Parsed<{ size: number; last: boolean }> {
  const m = /^ *(\d{1,15})(?: +(LAST))? *$/i.exec(arg);
  if (!m) return { ok: false, reason: 'syntax: BDAT <size> [LAST]' };
  return { ok: true, value: { size: Number(m[1]), last: m[2] !== undefined } };
}

/** AUTH mechanism [initial-response] (RFC 4954 section 4). */
export function parseAuth(arg: string): Parsed<{ mechanism: string; initial: string | null }> {
  const m = /^([A-Za-z0-9_-]{1,20})(?: +([A-Za-z0-9+/]+={0,2}|=))? *$/.exec(arg);
  if (!m) return { ok: false, reason: 'syntax: AUTH <mechanism> [initial-response]' };
  return { ok: true, value: { mechanism: m[1].toUpperCase(), initial: m[2] ?? null } };
}
