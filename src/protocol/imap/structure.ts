// ENVELOPE, BODY and BODYSTRUCTURE as IMAP writes them (RFC 9051 sections 7.5.2 and 9), from the parsed
// part tree; where the RFC leaves a choice we write what Dovecot writes, so clients see the same thing.
import { joinContinuations } from '../../mime/params.ts';
import type { Envelope, EnvelopeAddress, MimePart } from '../../mime/types.ts';
import { imapString, withoutNulText } from './encode.ts';

/**
 * nstring for header-derived text: folding removed (CR/LF dropped), NUL shown as U+FFFD (no IMAP string
 * carries NUL, RFC 9051 section 4.3.1), NIL when absent. Like Dovecot, up to
 * four quotes or backslashes are escaped in a quoted string; more make it a literal (both are RFC 9051
 * strings).
 */
function nstr(s: string | null | undefined, utf8: boolean): string {
  if (s === null || s === undefined) return 'NIL';
  const t = withoutNulText(s.replace(/\r?\n/g, ''));
  if ((t.match(/["\\]/g)?.length ?? 0) > 4) return `{${Buffer.byteLength(t)}}\r\n${t}`;
  return imapString(t, utf8);
}

/**
 * Text for humans (the subject), written as Dovecot writes it: unchanged and quoted when it is plain;
 * otherwise (CR, LF, TAB, runs of blanks, blanks at either end, quote, backslash, 8-bit, NUL) as a literal
 * with every run of white space made one space, the ends trimmed and NUL shown as U+FFFD (RFC 9051 section
 * 4.3.1; Dovecot's choice too).
 */
function human(s: string | null, utf8: boolean): string {
  if (s === null) return 'NIL';
  const plain = !/[\0\r\n\t"\\]| {2}|^ | $/.test(s) && (utf8 || !/[^\x00-\x7f]/.test(s));
  if (plain) return `"${s}"`;
  const text = s
    .replace(/\0/g, '\uFFFD')
    .replace(/[\r\n\t ]+/g, ' ')
    .trim();
  if (text === '') return '""';
  if (utf8 && !/[\0\r\n"\\]/.test(text)) return `"${text}"`;
  return `{${Buffer.byteLength(text)}}\r\n${text}`;
}

function addressList(list: EnvelopeAddress[] | null, utf8: boolean): string {
  if (!list || list.length === 0) return 'NIL';
  let out = '(';
  for (const a of list)
    out += `(${human(a.name, utf8)} ${nstr(a.adl, utf8)} ${nstr(a.mailbox, utf8)} ${nstr(a.host, utf8)})`;
  return `${out})`;
}

/** ENVELOPE (RFC 9051 section 7.5.2). */
export function envelopeString(e: Envelope | null, utf8 = false): string {
  if (!e) return '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';
  return `(${nstr(e.date, utf8)} ${human(e.subject, utf8)} ${addressList(e.from, utf8)} ${addressList(
    e.sender,
    utf8,
  )} ${addressList(e.replyTo, utf8)} ${addressList(e.to, utf8)} ${addressList(e.cc, utf8)} ${addressList(
    e.bcc,
    utf8,
  )} ${nstr(e.inReplyTo, utf8)} ${nstr(e.messageId, utf8)})`;
}

/**
 * Parameter list, RFC 2231 continuations joined as Dovecot joins them (joinContinuations); text parts without
 * a charset get charset=us-ascii (RFC 2045 section 5.2).
 */
function params(raw: [string, string][], defaultCharset: boolean, utf8: boolean): string {
  if (raw.length === 0 && !defaultCharset) return 'NIL';
  const parts: string[] = [];
  let seen = false;
  for (const [k, v] of joinContinuations(raw)) {
    if (k.toLowerCase() === 'charset') seen = true;
    parts.push(`${nstr(k, utf8)} ${nstr(v, utf8)}`);
  }
  if (defaultCharset && !seen) parts.push('"charset" "us-ascii"');
  return `(${parts.join(' ')})`;
}

function disposition(p: MimePart, utf8: boolean): string {
  const d = p.disposition;
  const disp = d ? `(${nstr(p.written?.disposition ?? d.type, utf8)} ${params(d.rawParams, false, utf8)})` : 'NIL';
  const lang = p.language?.length ? `(${p.language.map((l) => nstr(l, utf8)).join(' ')})` : 'NIL';
  return `${disp} ${lang} ${nstr(p.location, utf8)}`;
}

function isDefaultPart(p: MimePart): boolean {
  return (
    p.type === 'text' &&
    p.subtype === 'plain' &&
    p.encoding === '7bit' &&
    p.rawParams.length === 1 &&
    p.rawParams[0][0].toLowerCase() === 'charset' &&
    p.rawParams[0][1].toLowerCase() === 'us-ascii' &&
    !p.id &&
    !p.description &&
    !p.md5 &&
    !p.disposition &&
    !p.language &&
    !p.location
  );
}

/**
 * An empty text part, written for a multipart that has no parts (the grammar needs at least one) and for an
 * encapsulated message that was not parsed.
 */
const EMPTY_PART = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const EMPTY_PART_EXTENDED = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)';

/**
 * BODY (extended=false) or BODYSTRUCTURE (extended=true) of a part (RFC 9051 section 7.5.2: body).
 */
export function bodyStructureString(p: MimePart, extended: boolean, utf8 = false, root = true): string {
  if (p.type === 'multipart') {
    let out = '(';
    if (p.children.length === 0) out += extended ? EMPTY_PART_EXTENDED : EMPTY_PART;
    for (const c of p.children) out += bodyStructureString(c, extended, utf8, false);
    out += ` ${nstr(p.written?.subtype ?? p.subtype, utf8)}`;
    if (extended) out += ` ${params(p.rawParams, false, utf8)} ${disposition(p, utf8)}`;
    return `${out})`;
  }
  const text = p.type === 'text';
  // A message whose only part says exactly the defaults (text/plain; charset=us-ascii, 7bit, nothing else)
  // is written as the defaults are, whatever case its header used: Dovecot does so, and these values are
  // case-insensitive (RFC 2045 section 5.1, RFC 2046 section 4.1.2).
  const plain = root && isDefaultPart(p);
  const w = plain ? undefined : p.written;
  let out = `(${nstr(w?.type ?? p.type, utf8)} ${nstr(w?.subtype ?? p.subtype, utf8)} ${params(
    plain ? [] : p.rawParams,
    text,
    utf8,
  )} ${nstr(p.id, utf8)} ${nstr(p.description, utf8)} ${nstr(w?.encoding ?? p.encoding, utf8)} ${p.size}`;
  if (text) out += ` ${p.lines}`;
  else if (p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global')) {
    // Always body-type-msg: body-type-basic MUST NOT be message/rfc822 or message/global (RFC 9051 section 9).
    // An inner message left unparsed (encoded, past a parse limit) is written as Dovecot writes it: an
    // envelope of NILs and an empty text/plain body.
    const inner = p.message
      ? bodyStructureString(p.message.root, extended, utf8, false)
      : extended
        ? EMPTY_PART_EXTENDED
        : EMPTY_PART;
    out += ` ${envelopeString(p.message?.envelope ?? null, utf8)} ${inner} ${p.lines}`;
  }
  if (extended) out += ` ${nstr(p.md5, utf8)} ${disposition(p, utf8)}`;
  return `${out})`;
}
