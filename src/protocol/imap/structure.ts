// ENVELOPE, BODY and BODYSTRUCTURE as IMAP writes them (RFC 9051 sections 7.5.2 and 9), from the parsed
// part tree; where the RFC leaves a choice we write what Dovecot writes, so clients see the same thing.
import type { Envelope, EnvelopeAddress, MimePart } from '../../mime/types.ts';
import { imapString } from './encode.ts';

/** nstring for header-derived text: folding removed (CR/LF dropped), NIL when absent. */
function nstr(s: string | null | undefined, utf8: boolean): string {
  if (s === null || s === undefined) return 'NIL';
  return imapString(s.replace(/\r?\n/g, ''), utf8);
}

/** Text for humans (subject): folding removed and tabs turned into spaces, as Dovecot does. */
function human(s: string | null, utf8: boolean): string {
  if (s === null) return 'NIL';
  return imapString(s.replace(/\r?\n/g, '').replace(/\t/g, ' '), utf8);
}

function addressList(list: EnvelopeAddress[] | null, utf8: boolean): string {
  if (!list || list.length === 0) return 'NIL';
  let out = '(';
  for (const a of list)
    out += `(${nstr(a.name, utf8)} ${nstr(a.adl, utf8)} ${nstr(a.mailbox, utf8)} ${nstr(a.host, utf8)})`;
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

/** Parameter list; text parts without a charset get charset=us-ascii as Dovecot writes it (RFC 2045 5.2). */
function params(raw: [string, string][], defaultCharset: boolean, utf8: boolean): string {
  if (raw.length === 0 && !defaultCharset) return 'NIL';
  const parts: string[] = [];
  let seen = false;
  for (const [k, v] of raw) {
    if (k.toLowerCase() === 'charset') seen = true;
    parts.push(`${nstr(k, utf8)} ${nstr(v, utf8)}`);
  }
  if (defaultCharset && !seen) parts.push('"charset" "us-ascii"');
  return `(${parts.join(' ')})`;
}

function disposition(p: MimePart, utf8: boolean): string {
  const d = p.disposition;
  const disp = d ? `(${nstr(d.type, utf8)} ${params(d.rawParams, false, utf8)})` : 'NIL';
  const lang = p.language?.length ? `(${p.language.map((l) => nstr(l, utf8)).join(' ')})` : 'NIL';
  return `${disp} ${lang} ${nstr(p.location, utf8)}`;
}

/** An empty text part, written for a multipart that has no parts (the grammar needs at least one). */
const EMPTY_PART = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';

/**
 * BODY (extended=false) or BODYSTRUCTURE (extended=true) of a part (RFC 9051 section 7.5.2: body).
 */
export function bodyStructureString(p: MimePart, extended: boolean, utf8 = false): string {
  if (p.type === 'multipart') {
    let out = '(';
    if (p.children.length === 0) out += EMPTY_PART;
    for (const c of p.children) out += bodyStructureString(c, extended, utf8);
    out += ` ${nstr(p.subtype, utf8)}`;
    if (extended) out += ` ${params(p.rawParams, false, utf8)} ${disposition(p, utf8)}`;
    return `${out})`;
  }
  const text = p.type === 'text';
  let out = `(${nstr(p.type, utf8)} ${nstr(p.subtype, utf8)} ${params(p.rawParams, text, utf8)} ${nstr(
    p.id,
    utf8,
  )} ${nstr(p.description, utf8)} ${nstr(p.encoding, utf8)} ${p.size}`;
  if (text) out += ` ${p.lines}`;
  else if (p.message && p.type === 'message' && (p.subtype === 'rfc822' || p.subtype === 'global')) {
    out += ` ${envelopeString(p.message.envelope, utf8)} ${bodyStructureString(p.message.root, extended, utf8)} ${
      p.lines
    }`;
  }
  if (extended) out += ` ${nstr(p.md5, utf8)} ${disposition(p, utf8)}`;
  return `${out})`;
}
