// SORT (RFC 5256 section 3, BASE.6.4.SORT) and DISPLAYFROM/DISPLAYTO (RFC 5957): criteria parsing
// and ordering of the searched messages; ties fall back to sequence order.
import type { MessageRecord } from '../../core/model.ts';
import type { StoredBody } from '../../core/ports.ts';
import type { MailService } from '../../mailbox/service.ts';
import { extractBaseSubject } from '../../mailbox/sort-keys.ts';
import { decodeWords } from '../../mime/encoded-words.ts';
import type { EnvelopeAddress } from '../../mime/types.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import type { ParseResult, SearchQuery } from './api.ts';
import { casemap, compareCodePoints } from './fold.ts';
import { eachBody, envelopeOf, headersOf } from './message-data.ts';
import { checkCharset, parseCriteria } from './parse.ts';

export type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

const KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

/** sort-criteria = "(" sort-criterion *(SP sort-criterion) ")"; sort-criterion = ["REVERSE" SP] sort-key. */
export function parseSortCriteria(v: ImapValue | undefined): ParseResult<SortCriterion[]> {
  if (v?.type !== 'list' || v.items.length === 0) return { ok: false, error: 'SORT needs a list of sort criteria' };
  const out: SortCriterion[] = [];
  let reverse = false;
  for (const item of v.items) {
    const name = item.type === 'atom' ? item.value.toUpperCase() : '';
    if (name === 'REVERSE' && !reverse) reverse = true;
    else if (KEYS.has(name)) {
      out.push({ key: name as SortKey, reverse });
      reverse = false;
    } else return { ok: false, error: `Unknown sort criterion ${name || 'string'}`.slice(0, 60) };
  }
  if (reverse) return { ok: false, error: 'REVERSE must be followed by a sort criterion' };
  return { ok: true, value: out };
}

/** SORT arguments: sort-criteria SP charset 1*(SP search-key) (the charset is mandatory). */
export function parseSort(
  args: ImapValue[],
  _opts: { utf8: boolean },
): ParseResult<{ keys: SortCriterion[]; query: SearchQuery }> {
  const keys = parseSortCriteria(args[0]);
  if (!keys.ok) return keys;
  const cs = checkCharset(args[1]);
  if (!cs.ok) return cs;
  const q = parseCriteria(args, 2, cs.value);
  if (!q.ok) return q;
  return { ok: true, value: { keys: keys.value, query: q.value } };
}

function needsBodies(keys: SortCriterion[]): boolean {
  return keys.some((k) => k.key !== 'ARRIVAL' && k.key !== 'SIZE');
}

/** RFC 5256 section 2.2 sent date: the Date: header in UTC, or INTERNALDATE when there is none. */
export function sentDate(rec: MessageRecord, body: StoredBody | undefined): number {
  return body?.sentDate ?? rec.internalDate;
}

/**
 * The first address of an ENVELOPE list; a group's start counts, its addr-mailbox being the group name
 * (RFC 9051 section 7.5.2), as Dovecot sorts "undisclosed-recipients:;".
 */
function firstAddress(list: EnvelopeAddress[] | null): EnvelopeAddress | undefined {
  return list?.find((a) => a.mailbox !== null);
}

/** RFC 5957 section 3: the decoded display name of the first address, else its addr-spec (a group: its name). */
function displayName(list: EnvelopeAddress[] | null): string {
  const a = firstAddress(list);
  if (!a) return '';
  if (a.host === null) return a.mailbox ?? '';
  const name = a.name === null ? '' : decodeWords(a.name).trim();
  return name !== '' ? name : `${a.mailbox}@${a.host}`;
}

/** The value a criterion compares for one message: a number, or an i;unicode-casemap string. */
function keyValue(key: SortKey, rec: MessageRecord, body: StoredBody | undefined): number | string {
  switch (key) {
    case 'ARRIVAL':
      return rec.internalDate;
    case 'SIZE':
      return rec.size;
    case 'DATE':
      return sentDate(rec, body);
  }
  if (!body) return '';
  const env = envelopeOf(body);
  switch (key) {
    case 'SUBJECT':
      return casemap(extractBaseSubject(headersOf(body).subject).base);
    case 'FROM':
      return casemap(firstAddress(env.from)?.mailbox ?? '');
    case 'TO':
      return casemap(firstAddress(env.to)?.mailbox ?? '');
    case 'CC':
      return casemap(firstAddress(env.cc)?.mailbox ?? '');
    case 'DISPLAYFROM':
      return casemap(displayName(env.from));
    case 'DISPLAYTO':
      return casemap(displayName(env.to));
  }
}

/**
 * Orders messages (indices into `recs`, ascending) by the criteria; the implicit last key is sequence
 * order. Bodies are read in batches only when a criterion needs them, and only the keys are kept.
 */
export async function sortMessages(
  mail: MailService,
  recs: MessageRecord[],
  idx: number[],
  keys: SortCriterion[],
): Promise<number[]> {
  const values: (number | string)[][] = keys.map(() => new Array(idx.length));
  const fill = (rec: MessageRecord, body: StoredBody | undefined, j: number) => {
    for (let c = 0; c < keys.length; c++) values[c][j] = keyValue(keys[c].key, rec, body);
  };
  const selected = idx.map((i) => recs[i]);
  if (needsBodies(keys)) await eachBody(mail, selected, fill);
  else for (let j = 0; j < selected.length; j++) fill(selected[j], undefined, j);
  const order = idx.map((_, j) => j);
  order.sort((x, y) => {
    for (let c = 0; c < keys.length; c++) {
      const a = values[c][x];
      const b = values[c][y];
      const d = typeof a === 'number' ? a - (b as number) : compareCodePoints(a, b as string);
      if (d !== 0) return keys[c].reverse ? -d : d;
    }
    return x - y;
  });
  return order.map((j) => idx[j]);
}
