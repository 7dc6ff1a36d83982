// Evaluates a search program over a mailbox snapshot: metadata keys in memory, BODY/TEXT through the
// store's trigram index once per key (and the stored content of the rare messages whose indexed text
// was cut), envelope keys on stored bodies, HEADER on the header block, with the cheap keys of an AND
// first so the expensive ones see fewer messages.

import type { MessageRecord } from '../../core/model.ts';
import { emailObjectId, threadObjectId } from '../../core/object-ids.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MailService } from '../../mailbox/service.ts';
import { decodeWords } from '../../mime/encoded-words.ts';
import type { SearchSnapshot } from './api.ts';
import { compareDay, dayOf, sentDay } from './dates.ts';
import { containsFolded, fold, isAscii } from './fold.ts';
import { contentMatches, eachBody, eachHeader, envelopeOf, headersOf } from './message-data.ts';
import type { SearchKey } from './program.ts';
import { resolveSet } from './sequence-set.ts';

/** Candidate sets above this size are narrowed by the header index before bodies are read. */
const PREFILTER_MIN = 32;

/** Indices into snap.messages, ascending (so also by sequence number and UID). */
type Idx = number[];

export class Evaluator {
  private readonly mail: MailService;
  private readonly snap: SearchSnapshot;
  private readonly msgs: MessageRecord[];
  private readonly now: number;
  private readonly fts = new Map<string, Promise<number[]>>();
  private cutUids: Promise<number[]> | null = null;

  constructor(mail: MailService, snap: SearchSnapshot, now = Date.now()) {
    this.mail = mail;
    this.snap = snap;
    this.msgs = snap.messages;
    this.now = now;
  }

  /** Every message matching `key`, as indices into snap.messages. */
  run(key: SearchKey): Promise<Idx> {
    return this.eval(
      key,
      this.msgs.map((_, i) => i),
    );
  }

  /** The subset of `cands` that matches `key`. */
  private async eval(key: SearchKey, cands: Idx): Promise<Idx> {
    if (cands.length === 0) return cands;
    const m = this.msgs;
    switch (key.k) {
      case 'all':
      case 'savedatesupported':
        return cands;
      case 'flag':
        return cands.filter((i) => m[i].flags.some((f) => f.toLowerCase() === key.flag) === key.set);
      case 'recent':
        return cands.filter((i) => this.snap.recent.has(m[i].uid));
      case 'seq': {
        const inSet = resolveSet({ ranges: key.set.ranges, saved: false }, m.length, []);
        const saved = key.set.saved ? new Set(this.snap.saved ?? []) : null;
        return cands.filter((i) => inSet(i + 1) || saved?.has(m[i].uid) === true);
      }
      case 'uid': {
        const inSet = resolveSet(key.set, m.length ? m[m.length - 1].uid : 0, this.snap.saved ?? []);
        return cands.filter((i) => inSet(m[i].uid));
      }
      case 'larger':
        return cands.filter((i) => m[i].size > key.n);
      case 'smaller':
        return cands.filter((i) => m[i].size < key.n);
      case 'date':
        return this.date(key.field, key.op, key.day, cands);
      case 'older':
        return cands.filter((i) => this.now - m[i].internalDate >= key.seconds * 1000);
      case 'younger':
        return cands.filter((i) => this.now - m[i].internalDate <= key.seconds * 1000);
      case 'modseq':
        return cands.filter((i) => m[i].modseq >= key.min);
      case 'emailid':
        return cands.filter((i) => emailObjectId(m[i].emailId) === key.id);
      case 'threadid':
        return cands.filter((i) => threadObjectId(m[i].threadId) === key.id);
      case 'text':
        return this.text(key.field, key.needle, cands);
      case 'envelope':
        return this.envelope(key.field, key.needle, cands);
      case 'header':
        return this.header(key.name, key.needle, cands);
      case 'not':
        return difference(cands, await this.eval(key.key, cands));
      case 'or': {
        const a = await this.eval(key.a, cands);
        const b = await this.eval(key.b, difference(cands, a));
        return union(a, b);
      }
      case 'and': {
        let out = cands;
        for (const k of [...key.keys].sort((x, y) => cost(x) - cost(y))) {
          out = await this.eval(k, out);
          if (out.length === 0) break;
        }
        return out;
      }
    }
  }

  private async date(field: 'internal' | 'sent' | 'saved', op: 'before' | 'on' | 'since', day: number, cands: Idx) {
    const m = this.msgs;
    if (field === 'internal') return cands.filter((i) => compareDay(op, dayOf(m[i].internalDate), day));
    if (field === 'saved') return cands.filter((i) => compareDay(op, dayOf(m[i].saveDate), day));
    return this.filterBodies(cands, (b) => {
      const d = sentDay(envelopeOf(b).date);
      return d !== null && compareDay(op, d, day);
    });
  }

  /** The candidates whose stored body passes `test`. */
  private async filterBodies(cands: Idx, test: (b: StoredBody) => boolean): Promise<Idx> {
    const out: Idx = [];
    await eachBody(
      this.mail,
      cands.map((i) => this.msgs[i]),
      (_, b, j) => {
        if (b !== undefined && test(b)) out.push(cands[j]);
      },
    );
    return out;
  }

  /** The store's trigram index answers BODY and TEXT exactly (case-insensitive substring), once per key. */
  private async ftsUids(field: 'header' | 'body' | 'text', needle: string): Promise<number[]> {
    const key = `${field}\0${needle}`;
    let p = this.fts.get(key);
    if (!p) {
      p = this.mail.store.searchText(this.snap.mailbox.id, field, needle);
      this.fts.set(key, p);
    }
    return p;
  }

  private async text(field: 'body' | 'text', needle: string, cands: Idx): Promise<Idx> {
    let hit = intersectUids(this.msgs, cands, await this.ftsUids(field, needle));
    if (field === 'text') {
      // TEXT covers the whole header, and per-recipient prefix lines (Delivered-To) are not in the index.
      const f = fold(needle);
      const extra = difference(cands, hit).filter(
        (i) => this.msgs[i].prefix !== '' && containsFolded(this.msgs[i].prefix, f),
      );
      hit = union(hit, extra);
    }
    return union(hit, await this.pastIndex(field, needle, difference(cands, hit)));
  }

  /**
   * Of candidates the index did not match, those whose indexed text was cut (more than the parser's
   * maxTextLength of text) and whose stored content holds the needle: the index cannot rule them out.
   */
  private async pastIndex(field: 'body' | 'text', needle: string, cands: Idx): Promise<Idx> {
    if (cands.length === 0 || needle === '') return [];
    this.cutUids ??= this.mail.store.textCutUids(this.snap.mailbox.id);
    const unsure = intersectUids(this.msgs, cands, await this.cutUids);
    if (unsure.length === 0) return [];
    const holds = await contentMatches(
      this.mail,
      unsure.map((i) => this.msgs[i]),
      fold(needle),
      field === 'text',
    );
    return unsure.filter((_, j) => holds[j]);
  }

  /**
   * Narrows candidates with the header column of the index: any message whose decoded header field
   * contains the needle has it in its indexed header text. Only for ASCII needles, whose folding the
   * index and this module agree on; prefix lines are not indexed, so messages with one stay.
   */
  private async prefilter(needle: string, cands: Idx): Promise<Idx> {
    if (cands.length < PREFILTER_MIN || needle === '' || !isAscii(needle)) return cands;
    const hit = intersectUids(this.msgs, cands, await this.ftsUids('header', needle));
    const withPrefix = difference(cands, hit).filter((i) => this.msgs[i].prefix !== '');
    return union(hit, withPrefix);
  }

  private async envelope(field: 'subject' | 'from' | 'to' | 'cc' | 'bcc', needle: string, cands: Idx): Promise<Idx> {
    // "" asks whether the field is there at all, blank or not: the header block knows (Dovecot agrees).
    if (needle === '') return this.header(field, '', cands);
    const narrowed = await this.prefilter(needle, cands);
    const f = fold(needle);
    return this.filterBodies(narrowed, (b) => containsFolded(headersOf(b)[field], f));
  }

  private async header(name: string, needle: string, cands: Idx): Promise<Idx> {
    // An empty needle only asks whether the field is present; "name:" is in the indexed text then.
    const narrowed = await this.prefilter(needle === '' ? `${name}:` : needle, cands);
    const f = fold(needle);
    const out: Idx = [];
    await eachHeader(
      this.mail,
      narrowed.map((i) => this.msgs[i]),
      (_, fields, j) => {
        const hit = fields.some(
          (h) =>
            h.name.toLowerCase() === name && containsFolded(h.value.includes('=?') ? decodeWords(h.value) : h.value, f),
        );
        if (hit) out.push(narrowed[j]);
      },
    );
    return out;
  }
}

/** Relative cost of a key: an AND evaluates cheaper keys first (memory < index < bodies < blobs). */
export function cost(key: SearchKey): number {
  switch (key.k) {
    case 'text':
      return 1;
    case 'envelope':
      return 2;
    case 'date':
      return key.field === 'sent' ? 2 : 0;
    case 'header':
      return 3;
    case 'not':
      return cost(key.key);
    case 'or':
      return Math.max(cost(key.a), cost(key.b));
    case 'and':
      return Math.max(...key.keys.map(cost));
    default:
      return 0;
  }
}

/** Candidates whose UID is in `uids` (both ascending). */
function intersectUids(msgs: MessageRecord[], cands: Idx, uids: number[]): Idx {
  const out: Idx = [];
  let j = 0;
  for (const i of cands) {
    const u = msgs[i].uid;
    while (j < uids.length && uids[j] < u) j++;
    if (j < uids.length && uids[j] === u) out.push(i);
  }
  return out;
}

/** a minus b (both ascending, b a subset of a or not). */
function difference(a: Idx, b: Idx): Idx {
  if (b.length === 0) return a;
  const out: Idx = [];
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j] < x) j++;
    if (j >= b.length || b[j] !== x) out.push(x);
  }
  return out;
}

/** Union of two ascending, disjoint or overlapping lists. */
function union(a: Idx, b: Idx): Idx {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: Idx = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i] < b[j])) out.push(a[i++]);
    else if (i >= a.length || b[j] < a[i]) out.push(b[j++]);
    else {
      out.push(a[i++]);
      j++;
    }
  }
  return out;
}
