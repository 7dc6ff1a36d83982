// Parses search criteria (RFC 9051 section 6.4.4 and section 9 search-key; RFC 3501 NEW/OLD/RECENT;
// RFC 7162 MODSEQ; RFC 5032 OLDER/YOUNGER; RFC 8514 SAVED*; RFC 8474 EMAILID/THREADID) into a Program.
import { isUtf8 } from 'node:buffer';
import type { ImapValue } from '../../protocol/imap/types.ts';
import type { ParseResult, SearchQuery } from './api.ts';
import { parseImapDate } from './dates.ts';
import type { DateField, EnvelopeField, Program, SearchKey } from './program.ts';
import { isSupportedCharset } from './program.ts';
import { looksLikeSequenceSet, parseSequenceSet, type SequenceSet } from './sequence-set.ts';

/**
 * Bounds that keep a hostile program cheap: nesting depth, keys, and keys that each cost an index query
 * or a pass over message contents (BODY, TEXT, HEADER, SUBJECT..., SENT*).
 */
const MAX_DEPTH = 64;
const MAX_KEYS = 1000;
const MAX_CONTENT_KEYS = 64;

/** Thrown inside the parser, turned into { ok: false } at the edge (the caller answers BAD). */
class SearchSyntaxError extends Error {}

function show(v: ImapValue | undefined): string {
  if (!v) return 'end of command';
  const t = v.type === 'atom' ? v.value : v.type === 'string' ? '"..."' : '(...)';
  return t.length > 40 ? t.slice(0, 40) + '...' : t;
}

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\answered', true],
  DELETED: ['\\deleted', true],
  DRAFT: ['\\draft', true],
  FLAGGED: ['\\flagged', true],
  SEEN: ['\\seen', true],
  UNANSWERED: ['\\answered', false],
  UNDELETED: ['\\deleted', false],
  UNDRAFT: ['\\draft', false],
  UNFLAGGED: ['\\flagged', false],
  UNSEEN: ['\\seen', false],
};
const ENVELOPE_KEYS: Record<string, EnvelopeField> = {
  BCC: 'bcc',
  CC: 'cc',
  FROM: 'from',
  SUBJECT: 'subject',
  TO: 'to',
};
const DATE_KEYS: Record<string, [DateField, 'before' | 'on' | 'since']> = {
  BEFORE: ['internal', 'before'],
  ON: ['internal', 'on'],
  SINCE: ['internal', 'since'],
  SENTBEFORE: ['sent', 'before'],
  SENTON: ['sent', 'on'],
  SENTSINCE: ['sent', 'since'],
  SAVEDBEFORE: ['saved', 'before'],
  SAVEDON: ['saved', 'on'],
  SAVEDSINCE: ['saved', 'since'],
};

const CONTENT_KEYS = new Set([
  ...Object.keys(ENVELOPE_KEYS),
  'BODY',
  'TEXT',
  'HEADER',
  'SENTBEFORE',
  'SENTON',
  'SENTSINCE',
]);

class Parser {
  private pos: number;
  private keys = 0;
  private contentKeys = 0;
  usesModseq = false;
  private readonly args: ImapValue[];
  constructor(args: ImapValue[], pos: number) {
    this.args = args;
    this.pos = pos;
  }

  /** search-key *(SP search-key), to the end of the arguments. */
  program(): SearchKey {
    const keys: SearchKey[] = [];
    while (this.pos < this.args.length) keys.push(this.key(this.args, 0));
    if (keys.length === 0) throw new SearchSyntaxError('Missing search criteria');
    return keys.length === 1 ? keys[0] : { k: 'and', keys };
  }

  private next(list: ImapValue[]): ImapValue | undefined {
    return list[this.pos++];
  }

  private key(list: ImapValue[], depth: number): SearchKey {
    if (depth > MAX_DEPTH) throw new SearchSyntaxError('Search criteria nested too deeply');
    if (++this.keys > MAX_KEYS) throw new SearchSyntaxError('Too many search keys');
    const v = this.next(list);
    if (v === undefined) throw new SearchSyntaxError('Missing search key');
    if (v.type === 'list') return this.group(v.items, depth + 1);
    if (v.type !== 'atom') throw new SearchSyntaxError('Expected a search key, got a string');
    const name = v.value.toUpperCase();
    if (CONTENT_KEYS.has(name) && ++this.contentKeys > MAX_CONTENT_KEYS)
      throw new SearchSyntaxError(`Too many text search keys (at most ${MAX_CONTENT_KEYS})`);
    const flag = FLAG_KEYS[name];
    if (flag) return { k: 'flag', flag: flag[0], set: flag[1] };
    const env = ENVELOPE_KEYS[name];
    if (env) return { k: 'envelope', field: env, needle: this.string(list, name) };
    const date = DATE_KEYS[name];
    if (date) return { k: 'date', field: date[0], op: date[1], day: this.date(list, name) };
    switch (name) {
      case 'ALL':
        return { k: 'all' };
      case 'NEW': // RFC 3501: RECENT UNSEEN
        return { k: 'and', keys: [{ k: 'recent' }, { k: 'flag', flag: '\\seen', set: false }] };
      case 'OLD': // RFC 3501: NOT RECENT
        return { k: 'not', key: { k: 'recent' } };
      case 'RECENT':
        return { k: 'recent' };
      case 'KEYWORD':
      case 'UNKEYWORD':
        return { k: 'flag', flag: this.keyword(list, name), set: name === 'KEYWORD' };
      case 'BODY':
      case 'TEXT':
        return { k: 'text', field: name === 'BODY' ? 'body' : 'text', needle: this.string(list, name) };
      case 'HEADER': {
        const field = this.string(list, name);
        return { k: 'header', name: field.toLowerCase(), needle: this.string(list, name) };
      }
      case 'LARGER':
        return { k: 'larger', n: this.number(list, name, 0) };
      case 'SMALLER':
        return { k: 'smaller', n: this.number(list, name, 0) };
      case 'OLDER':
        return { k: 'older', seconds: this.number(list, name, 1) };
      case 'YOUNGER':
        return { k: 'younger', seconds: this.number(list, name, 1) };
      case 'UID':
        return { k: 'uid', set: this.sequenceSet(list, name) };
      case 'NOT':
        return { k: 'not', key: this.key(list, depth + 1) };
      case 'OR': {
        const a = this.key(list, depth + 1);
        return { k: 'or', a, b: this.key(list, depth + 1) };
      }
      case 'MODSEQ':
        return this.modseq(list);
      case 'EMAILID':
      case 'THREADID': {
        const id = this.atom(list, name);
        // RFC 8474 section 7: objectid = 1*255(ALPHA / DIGIT / "_" / "-")
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(id)) throw new SearchSyntaxError(`Invalid ${name} argument`);
        return name === 'EMAILID' ? { k: 'emailid', id } : { k: 'threadid', id };
      }
      case 'SAVEDATESUPPORTED':
        return { k: 'savedatesupported' };
    }
    if (looksLikeSequenceSet(v.value)) {
      const set = parseSequenceSet(v.value);
      if (set) return { k: 'seq', set };
      throw new SearchSyntaxError(`Invalid sequence set ${show(v)}`);
    }
    throw new SearchSyntaxError(`Unknown search key ${show(v)}`);
  }

  /** "(" search-key *(SP search-key) ")": the keys of a list, ANDed. */
  private group(items: ImapValue[], depth: number): SearchKey {
    if (items.length === 0) throw new SearchSyntaxError('Empty parenthesised search key');
    const saved = this.pos;
    this.pos = 0;
    const keys: SearchKey[] = [];
    while (this.pos < items.length) keys.push(this.key(items, depth));
    this.pos = saved;
    return keys.length === 1 ? keys[0] : { k: 'and', keys };
  }

  /** astring, decoded as UTF-8 (RFC 9051 section 6.4.4: without CHARSET, strings are UTF-8). */
  private string(list: ImapValue[], key: string): string {
    const v = this.next(list);
    if (v?.type === 'atom') return v.value;
    if (v?.type === 'string') {
      if (!isUtf8(v.value)) throw new SearchSyntaxError(`${key} argument is not valid UTF-8`);
      return v.value.toString('utf8');
    }
    throw new SearchSyntaxError(`${key} needs a string argument`);
  }

  private atom(list: ImapValue[], key: string): string {
    const v = this.next(list);
    if (v?.type !== 'atom') throw new SearchSyntaxError(`${key} needs an atom argument`);
    return v.value;
  }

  /** flag-keyword (an atom); a system flag is accepted too and matches that flag. */
  private keyword(list: ImapValue[], key: string): string {
    const k = this.atom(list, key);
    if (/[(){%*"\]\s]/.test(k) || (k.startsWith('\\') && k.length === 1))
      throw new SearchSyntaxError(`Invalid ${key} argument`);
    return k.toLowerCase();
  }

  /** number64 (LARGER, SMALLER) or nz-number (OLDER, YOUNGER). */
  private number(list: ImapValue[], key: string, min: number): number {
    const v = this.next(list);
    if (v?.type !== 'atom' || !/^[0-9]{1,19}$/.test(v.value)) throw new SearchSyntaxError(`${key} needs a number`);
    // number64 is at most 2^63 - 1 (RFC 9051 section 9).
    if (BigInt(v.value) > 9223372036854775807n) throw new SearchSyntaxError(`${key} number out of range`);
    const n = Number(v.value);
    if (n < min) throw new SearchSyntaxError(`${key} number out of range`);
    return n;
  }

  /** date = date-text / DQUOTE date-text DQUOTE. */
  private date(list: ImapValue[], key: string): number {
    const v = this.next(list);
    const text = v?.type === 'atom' ? v.value : v?.type === 'string' && !v.literal ? v.value.toString('latin1') : null;
    const day = text === null ? null : parseImapDate(text);
    if (day === null) throw new SearchSyntaxError(`${key} needs a date (d-Mon-yyyy)`);
    return day;
  }

  private sequenceSet(list: ImapValue[], key: string): SequenceSet {
    const v = this.next(list);
    const set = v?.type === 'atom' ? parseSequenceSet(v.value) : null;
    if (!set) throw new SearchSyntaxError(`${key} needs a sequence set`);
    return set;
  }

  /** RFC 7162 section 3.1.5: MODSEQ [entry-name entry-type-req] mod-sequence-valzer. */
  private modseq(list: ImapValue[]): SearchKey {
    this.usesModseq = true;
    if (list[this.pos]?.type === 'string') {
      const entry = (list[this.pos] as { value: Buffer }).value.toString('utf8');
      this.pos++;
      if (!entry.toLowerCase().startsWith('/flags/')) throw new SearchSyntaxError('Invalid MODSEQ entry name');
      const type = this.atom(list, 'MODSEQ').toLowerCase();
      if (type !== 'priv' && type !== 'shared' && type !== 'all')
        throw new SearchSyntaxError('Invalid MODSEQ entry type');
      // One mod-sequence per message: the entry is ignored, as section 3.1.5 requires then.
    }
    return { k: 'modseq', min: this.number(list, 'MODSEQ', 0) };
  }
}

function fail(e: unknown): { ok: false; error: string } {
  if (e instanceof SearchSyntaxError) return { ok: false, error: e.message };
  throw e;
}

/** Checks a charset name: unsupported ones are NO [BADCHARSET], not BAD (RFC 9051 section 6.4.4). */
export function checkCharset(v: ImapValue | undefined): ParseResult<string> {
  if (v === undefined || v.type === 'list' || (v.type === 'string' && v.literal))
    return { ok: false, error: 'Missing or invalid charset' };
  const name = v.type === 'atom' ? v.value : v.value.toString('latin1');
  if (!isSupportedCharset(name)) return { ok: false, error: 'Unsupported charset', code: 'BADCHARSET' };
  return { ok: true, value: name.toUpperCase() };
}

/** Parses search keys from args[start] to the end, under an already-checked charset. */
export function parseCriteria(args: ImapValue[], start: number, charset: string | null): ParseResult<SearchQuery> {
  try {
    const p = new Parser(args, start);
    const root = p.program();
    const program: Program = { root, usesModseq: p.usesModseq };
    return { ok: true, value: { charset, program } };
  } catch (e) {
    return fail(e);
  }
}

/** SEARCH arguments after any RETURN options: ["CHARSET" SP charset SP] search-key *(SP search-key). */
export function parseSearch(args: ImapValue[], opts: { utf8: boolean }): ParseResult<SearchQuery> {
  const first = args[0];
  if (first?.type === 'atom' && first.value.toUpperCase() === 'CHARSET') {
    // RFC 6855 section 3: after ENABLE UTF8=ACCEPT a SEARCH with a charset gets BAD.
    if (opts.utf8) return { ok: false, error: 'CHARSET is not allowed once UTF8=ACCEPT is enabled' };
    const cs = checkCharset(args[1]);
    if (!cs.ok) return cs;
    return parseCriteria(args, 2, cs.value);
  }
  return parseCriteria(args, 0, null);
}
