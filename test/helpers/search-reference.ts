// The reference SEARCH evaluator for tests: a plain linear scan that reads and parses every message
// whole and checks each key directly, with no index, no planning and no shared code path with the
// engine beyond the MIME parser. The engine's answers must equal its answers.
import type { MessageRecord } from '../../src/core/model.ts';
import type { SearchSnapshot } from '../../src/imap/search/api.ts';
import type { SearchKey } from '../../src/imap/search/program.ts';
import type { SequenceSet } from '../../src/imap/search/sequence-set.ts';
import type { MailService } from '../../src/mailbox/service.ts';
import { parseDateParts } from '../../src/mime/date.ts';
import { decodeWords } from '../../src/mime/encoded-words.ts';
import { parseHeaderBlock } from '../../src/mime/header.ts';
import { DEFAULT_LIMITS } from '../../src/mime/limits.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import type { ParsedMessage } from '../../src/mime/types.ts';

const DAY = 86_400_000;

interface Facts {
  rec: MessageRecord;
  seq: number;
  parsed: ParsedMessage;
  /** Header fields of the whole message as stored, per-recipient prefix included. */
  fields: { name: string; value: string }[];
}

export async function loadFacts(mail: MailService, snap: SearchSnapshot): Promise<Facts[]> {
  const out: Facts[] = [];
  for (let i = 0; i < snap.messages.length; i++) {
    const rec = snap.messages[i];
    const raw = await (await mail.source(rec)).read();
    const prefixLen = Buffer.byteLength(rec.prefix);
    // All of the text, uncapped: BODY and TEXT look past what the index holds of a long message.
    const parsed = parseMessage(raw.subarray(prefixLen), { maxTextLength: Number.MAX_SAFE_INTEGER });
    const fields = parseHeaderBlock(raw, 0, raw.length, DEFAULT_LIMITS, []).fields;
    out.push({ rec, seq: i + 1, parsed, fields });
  }
  return out;
}

const has = (hay: string, needle: string) => hay.toLowerCase().includes(needle.toLowerCase());

function inSet(set: SequenceSet, n: number, max: number, saved: number[] | null, uid: number): boolean {
  if (set.saved && (saved ?? []).includes(uid)) return true;
  return set.ranges.some(([a, b]) => {
    const x = a === -1 ? max : a;
    const y = b === -1 ? max : b;
    return n >= Math.min(x, y) && n <= Math.max(x, y);
  });
}

function dayCmp(op: 'before' | 'on' | 'since', ms: number, day: number): boolean {
  const d = Math.floor(ms / DAY) * DAY;
  return op === 'before' ? d < day : op === 'on' ? d === day : d >= day;
}

function matches(f: Facts, key: SearchKey, snap: SearchSnapshot, now: number): boolean {
  const r = f.rec;
  const msgs = snap.messages;
  switch (key.k) {
    case 'all':
    case 'savedatesupported':
      return true;
    case 'flag':
      return r.flags.map((x) => x.toLowerCase()).includes(key.flag) === key.set;
    case 'recent':
      return snap.recent.has(r.uid);
    case 'seq':
      return inSet(key.set, f.seq, msgs.length, snap.saved, r.uid);
    case 'uid':
      return inSet(key.set, r.uid, msgs.length ? msgs[msgs.length - 1].uid : 0, snap.saved, r.uid);
    case 'larger':
      return r.size > key.n;
    case 'smaller':
      return r.size < key.n;
    case 'date': {
      if (key.field === 'internal') return dayCmp(key.op, r.internalDate, key.day);
      if (key.field === 'saved') return dayCmp(key.op, r.saveDate, key.day);
      const d = f.parsed.envelope.date === null ? null : parseDateParts(f.parsed.envelope.date);
      return d !== null && dayCmp(key.op, d.ms + d.zone * 60_000, key.day);
    }
    case 'older':
      return now - r.internalDate >= key.seconds * 1000;
    case 'younger':
      return now - r.internalDate <= key.seconds * 1000;
    case 'modseq':
      return r.modseq >= key.min;
    case 'emailid':
      return key.id === `E${r.emailId}`;
    case 'threadid':
      return key.id === `T${r.threadId}`;
    case 'envelope':
      // "" asks for the field's presence (blank or not).
      if (key.needle === '') return f.fields.some((h) => h.name.toLowerCase() === key.field);
      return has(f.parsed.headers[key.field], key.needle);
    case 'header':
      return f.fields.some((h) => h.name.toLowerCase() === key.name && has(decodeWords(h.value), key.needle));
    case 'text': {
      if (has(f.parsed.text, key.needle)) return true;
      if (key.field === 'body') return false;
      const headerText = f.parsed.headerFields.map((h) => `${h.name}: ${h.value}`).join('\n');
      // TEXT also covers the MIME headers of body parts and encapsulated messages (RFC 9051 section 6.4.4).
      return has(headerText, key.needle) || has(f.parsed.partHeaderText, key.needle) || has(r.prefix, key.needle);
    }
    case 'and':
      return key.keys.every((k) => matches(f, k, snap, now));
    case 'or':
      return matches(f, key.a, snap, now) || matches(f, key.b, snap, now);
    case 'not':
      return !matches(f, key.key, snap, now);
  }
}

/** UIDs matching `key`, ascending, by checking every message. */
export function referenceSearch(facts: Facts[], key: SearchKey, snap: SearchSnapshot, now = Date.now()): number[] {
  return facts.filter((f) => matches(f, key, snap, now)).map((f) => f.rec.uid);
}
