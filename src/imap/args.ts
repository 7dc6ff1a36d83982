// Reading command arguments into typed values: strings, mailbox names, flag lists, sequence sets.
// Handlers use these instead of slicing raw text (STYLE.md: parse first, then act).
import { isUtf8 } from 'node:buffer';
import { parseSequenceSet, type SequenceSet } from '../protocol/imap/sequence.ts';
import type { ImapValue } from '../protocol/imap/types.ts';
import { decodeMutf7 } from '../protocol/imap/utf7.ts';

/** A syntax problem in a command's arguments: answered with BAD. */
export class ArgError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArgError';
  }
}

/** An astring argument (atom or string) as UTF-8 text. */
export function text(v: ImapValue | undefined, what: string): string {
  if (!v || v.type === 'list') throw new ArgError(`expected ${what}`);
  return v.type === 'atom' ? v.value : v.value.toString('utf8');
}

export function atom(v: ImapValue | undefined, what: string): string {
  if (v?.type !== 'atom') throw new ArgError(`expected ${what}`);
  return v.value;
}

export function list(v: ImapValue | undefined, what: string): ImapValue[] {
  if (v?.type !== 'list') throw new ArgError(`expected ${what}`);
  return v.items;
}

export function number(v: ImapValue | undefined, what: string, max = Number.MAX_SAFE_INTEGER): number {
  const s = atom(v, what);
  if (!/^\d{1,20}$/.test(s) || Number(s) > max) throw new ArgError(`expected ${what}`);
  return Number(s);
}

export function seqSet(v: ImapValue | undefined): SequenceSet {
  const s = v?.type === 'atom' ? parseSequenceSet(v.value) : null;
  if (!s) throw new ArgError('invalid sequence set');
  return s;
}

/**
 * A mailbox name from the wire: modified UTF-7 unless UTF8=ACCEPT is on (RFC 3501 5.1.3, RFC 6855 3);
 * "INBOX" in any case is the inbox, also as a parent (RFC 9051 section 5.1).
 */
export function mailboxArg(v: ImapValue | undefined, utf8: boolean): string {
  // RFC 9051 section 5.1: 8-bit names are UTF-8; decoding anything else replaced it with U+FFFD, so
  // different names the client sent became one mailbox.
  if (v?.type === 'string' && !isUtf8(v.value)) throw new ArgError('mailbox name is not valid UTF-8');
  const raw = text(v, 'a mailbox name');
  let name = raw;
  if (!utf8 && /^[\x20-\x7e]*$/.test(raw)) {
    const d = decodeMutf7(raw);
    if (d === null) throw new ArgError('mailbox name is not valid modified UTF-7');
    name = d;
  }
  return canonicalMailbox(name);
}

export function canonicalMailbox(name: string): string {
  if (/^inbox$/i.test(name)) return 'INBOX';
  if (/^inbox\//i.test(name)) return `INBOX${name.slice(5)}`;
  return name;
}

const SYSTEM = new Map(
  ['\\seen', '\\answered', '\\flagged', '\\deleted', '\\draft'].map((f) => [f, `\\${f[1].toUpperCase()}${f.slice(2)}`]),
);
/** flag-keyword = atom: any ATOM-CHAR, "[" and "}" included (RFC 9051 section 9). */
const KEYWORD = /^[!#$&'+\-.0-9:;<=>?@A-Z[^_`a-z|}~]{1,100}$/;

/** A flag list `(\Seen $Label)` or a single flag; \Recent and unknown system flags are refused. */
export function flagList(v: ImapValue | undefined): string[] {
  const items = v?.type === 'list' ? v.items : v ? [v] : [];
  const out: string[] = [];
  for (const it of items) {
    const f = atom(it, 'a flag');
    if (f.startsWith('\\')) {
      const sys = SYSTEM.get(f.toLowerCase());
      if (!sys) throw new ArgError(`cannot set flag ${f.slice(0, 30)}`);
      out.push(sys);
    } else if (KEYWORD.test(f)) out.push(f);
    else throw new ArgError(`invalid keyword ${f.slice(0, 30)}`);
  }
  return out;
}
