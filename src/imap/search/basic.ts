// A minimal, honest search engine for the IMAP plumbing's own tests: ALL, sequence and UID sets, `$`,
// flag keys, NOT, OR and parenthesised groups. SORT orders by ARRIVAL (UID) only and THREAD makes one
// thread per message. The full engine (src/imap/search/) replaces it.
import { parseSequenceSet, resolveSeqSet, resolveUidSet, type SequenceSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import type { ParseResult, SearchEngine, SearchQuery, SearchSnapshot } from './api.ts';

type Node =
  | { k: 'all' }
  | { k: 'flag'; flag: string; want: boolean }
  | { k: 'recent'; want: boolean }
  | { k: 'set'; set: SequenceSet; uid: boolean }
  | { k: 'not'; a: Node }
  | { k: 'or'; a: Node; b: Node }
  | { k: 'and'; items: Node[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  SEEN: ['\\Seen', true],
  UNSEEN: ['\\Seen', false],
  ANSWERED: ['\\Answered', true],
  UNANSWERED: ['\\Answered', false],
  DELETED: ['\\Deleted', true],
  UNDELETED: ['\\Deleted', false],
  FLAGGED: ['\\Flagged', true],
  UNFLAGGED: ['\\Flagged', false],
  DRAFT: ['\\Draft', true],
  UNDRAFT: ['\\Draft', false],
};

class Bad extends Error {}

function parseKey(args: ImapValue[], pos: { i: number }): Node {
  const v = args[pos.i++];
  if (!v) throw new Bad('missing search key');
  if (v.type === 'list') return { k: 'and', items: parseList(v.items) };
  if (v.type !== 'atom') throw new Bad('unexpected string');
  const key = v.value.toUpperCase();
  if (key === 'ALL') return { k: 'all' };
  if (FLAG_KEYS[key]) return { k: 'flag', flag: FLAG_KEYS[key][0], want: FLAG_KEYS[key][1] };
  if (key === 'KEYWORD' || key === 'UNKEYWORD') {
    const f = args[pos.i++];
    if (f?.type !== 'atom') throw new Bad('KEYWORD needs a flag');
    return { k: 'flag', flag: f.value, want: key === 'KEYWORD' };
  }
  if (key === 'RECENT' || key === 'OLD') return { k: 'recent', want: key === 'RECENT' };
  if (key === 'NEW')
    return {
      k: 'and',
      items: [
        { k: 'recent', want: true },
        { k: 'flag', flag: '\\Seen', want: false },
      ],
    };
  if (key === 'NOT') return { k: 'not', a: parseKey(args, pos) };
  if (key === 'OR') return { k: 'or', a: parseKey(args, pos), b: parseKey(args, pos) };
  if (key === 'UID') {
    const s = args[pos.i++];
    const set = s?.type === 'atom' ? parseSequenceSet(s.value) : null;
    if (!set) throw new Bad('UID needs a set');
    return { k: 'set', set, uid: true };
  }
  const set = parseSequenceSet(v.value);
  if (set) return { k: 'set', set, uid: false };
  throw new Bad(`unsupported search key ${key.slice(0, 20)}`);
}

function parseList(args: ImapValue[]): Node[] {
  const pos = { i: 0 };
  const out: Node[] = [];
  while (pos.i < args.length) out.push(parseKey(args, pos));
  if (out.length === 0) throw new Bad('empty search key list');
  return out;
}

function parse(args: ImapValue[]): ParseResult<SearchQuery> {
  let rest = args;
  let charset: string | null = null;
  if (rest[0]?.type === 'atom' && rest[0].value.toUpperCase() === 'CHARSET') {
    const c = rest[1];
    charset = c && c.type !== 'list' ? (c.type === 'atom' ? c.value : c.value.toString()).toUpperCase() : null;
    if (charset !== 'UTF-8' && charset !== 'US-ASCII')
      return { ok: false, error: 'unsupported charset', code: 'BADCHARSET' };
    rest = rest.slice(2);
  }
  try {
    return { ok: true, value: { charset, program: { k: 'and', items: parseList(rest) } } };
  } catch (e) {
    if (e instanceof Bad) return { ok: false, error: e.message };
    throw e;
  }
}

function evaluate(n: Node, snap: SearchSnapshot, i: number, sets: Map<Node, Set<number>>): boolean {
  const m = snap.messages[i];
  switch (n.k) {
    case 'all':
      return true;
    case 'flag':
      return m.flags.some((f) => f.toLowerCase() === n.flag.toLowerCase()) === n.want;
    case 'recent':
      return snap.recent.has(m.uid) === n.want;
    case 'not':
      return !evaluate(n.a, snap, i, sets);
    case 'or':
      return evaluate(n.a, snap, i, sets) || evaluate(n.b, snap, i, sets);
    case 'and':
      return n.items.every((x) => evaluate(x, snap, i, sets));
    case 'set': {
      let s = sets.get(n);
      if (!s) {
        const uids = snap.messages.map((x) => x.uid);
        if (n.set.saved) s = new Set(snap.saved ?? []);
        else if (n.uid) s = new Set(resolveUidSet(n.set.ranges, uids).map((j) => uids[j]));
        else s = new Set((resolveSeqSet(n.set.ranges, uids.length) ?? []).map((q) => uids[q - 1]));
        sets.set(n, s);
      }
      return s.has(m.uid);
    }
  }
}

function withCharset(charset: ImapValue | undefined, rest: ImapValue[]): ParseResult<SearchQuery> {
  if (!charset || charset.type === 'list') return { ok: false, error: 'missing charset' };
  return parse([{ type: 'atom', value: 'CHARSET' }, charset, ...rest]);
}

async function run(snap: SearchSnapshot, q: SearchQuery): Promise<number[]> {
  const sets = new Map<Node, Set<number>>();
  const out: number[] = [];
  for (let i = 0; i < snap.messages.length; i++)
    if (evaluate(q.program as Node, snap, i, sets)) out.push(snap.messages[i].uid);
  return out;
}

export const basicEngine: SearchEngine = {
  parseSearch: (args) => parse(args),
  search: (_mail, snap, q) => run(snap, q),
  parseSort(args) {
    if (args[0]?.type !== 'list') return { ok: false, error: 'SORT needs a key list' };
    const keys = args[0].items.map((k) => (k.type === 'atom' ? k.value.toUpperCase() : ''));
    if (keys.some((k) => !['ARRIVAL', 'REVERSE'].includes(k))) return { ok: false, error: 'unsupported sort key' };
    // sort-criteria SP search-charset 1*(SP search-key) (RFC 5256 section 3)
    const q = withCharset(args[1], args.slice(2));
    if (!q.ok) return q;
    return { ok: true, value: { keys, query: q.value } };
  },
  async sort(_mail, snap, keys, q) {
    const uids = await run(snap, q);
    return (keys as string[]).includes('REVERSE') ? uids.reverse() : uids;
  },
  parseThread(args) {
    const alg = args[0]?.type === 'atom' ? args[0].value.toUpperCase() : '';
    if (alg !== 'REFERENCES' && alg !== 'ORDEREDSUBJECT') return { ok: false, error: 'unsupported thread algorithm' };
    const q = withCharset(args[1], args.slice(2));
    if (!q.ok) return q;
    return { ok: true, value: { algorithm: alg, query: q.value } };
  },
  async thread(_mail, snap, _alg, q) {
    return (await run(snap, q)).map((uid) => ({ uid, children: [] }));
  },
};
