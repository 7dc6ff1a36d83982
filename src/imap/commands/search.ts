// SEARCH and UID SEARCH (RFC 9051 section 6.4.4) with ESEARCH return options MIN, MAX, ALL, COUNT
// (RFC 4731) and SAVE (RFC 5182 SEARCHRES). The criteria are the search engine's; this file builds the
// snapshot, calls it and formats the answer.
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, atom, list } from '../args.ts';
import type { Handler } from '../commands.ts';
import type { SearchSnapshot } from '../search/api.ts';
import type { ImapSession } from '../session.ts';
import { loadRecords } from './fetch.ts';

const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

/** The snapshot the engine sees: the session's messages in sequence order. */
export async function snapshot(s: ImapSession): Promise<SearchSnapshot> {
  const sel = s.selected!;
  const messages = await loadRecords(s.mail, sel.mailbox, sel.uids);
  return { mailbox: sel.mailbox, messages, recent: sel.recent, saved: s.saved };
}

/** `RETURN (...)` at the start of SEARCH arguments; null when absent (RFC 4731 section 3.1). */
export function takeReturn(args: ImapValue[]): { options: Set<string> | null; rest: ImapValue[] } {
  if (args[0]?.type !== 'atom' || args[0].value.toUpperCase() !== 'RETURN') return { options: null, rest: args };
  const opts = list(args[1], 'return options');
  const options = new Set<string>();
  for (const o of opts) {
    const name = atom(o, 'a return option').toUpperCase();
    if (!RETURN_OPTIONS.has(name)) throw new ArgError(`unknown return option ${name.slice(0, 20)}`);
    options.add(name);
  }
  if (options.size === 0) options.add('ALL'); // RETURN () means ALL
  return { options, rest: args.slice(2) };
}

export const search: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const byUid = cmd.name === 'UID SEARCH';
  let parsedReturn: ReturnType<typeof takeReturn>;
  try {
    parsedReturn = takeReturn(cmd.args);
  } catch (e) {
    s.saved = [];
    throw e;
  }
  const { rest } = parsedReturn;
  // IMAP4rev2 answers SEARCH with ESEARCH only (RFC 9051 section 7.3.4): no RETURN means RETURN (ALL).
  const options = parsedReturn.options ?? (s.rev2 ? new Set(['ALL']) : null);
  const q = s.ctx.search.parseSearch(rest, { utf8: s.utf8 });
  if (!q.ok) {
    if (options?.has('SAVE')) s.saved = []; // RFC 5182 section 2.1: a failed SAVE empties $
    if (q.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: q.error };
    return { status: 'BAD', text: q.error };
  }
  // A SEARCH with a MODSEQ key is a CONDSTORE enabling command (RFC 7162 section 3.1).
  const modseqKey = s.ctx.search.usesModseq(q.value);
  if (modseqKey) s.enableCondstore();
  let uids: number[];
  let snap: SearchSnapshot;
  try {
    snap = await snapshot(s);
    uids = await s.ctx.search.search(s.mail, snap, q.value);
  } catch (e) {
    if (options?.has('SAVE')) s.saved = [];
    throw e;
  }
  const nums = byUid ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  // With MIN and/or MAX but neither ALL nor COUNT, only those messages are returned: SAVE keeps just them
  // (RFC 9051 section 6.4.4.1) and MODSEQ is theirs (RFC 4731 section 3.2).
  const onlyEnds =
    !!options && (options.has('MIN') || options.has('MAX')) && !options.has('ALL') && !options.has('COUNT');
  const returned = onlyEnds && uids.length ? ends(uids, options!) : uids;
  // RFC 7162 sections 3.1.5 and 3.1.10: a non-empty answer to a MODSEQ search ends with the highest
  // mod-sequence of the messages it returns.
  const modseq = modseqKey && returned.length ? highestModseq(snap, returned) : 0;
  if (!options) {
    s.push(`* SEARCH${nums.length ? ` ${nums.join(' ')}` : ''}${modseq ? ` (MODSEQ ${modseq})` : ''}\r\n`);
    return undefined;
  }
  if (options.has('SAVE')) {
    s.saved = returned;
    if (options.size === 1) return undefined; // SAVE alone: no ESEARCH response
  }
  const sorted = byUid ? nums : [...nums].sort((a, b) => a - b);
  let line = `* ESEARCH (TAG "${cmd.tag}")${byUid ? ' UID' : ''}`;
  if (options.has('MIN') && sorted.length) line += ` MIN ${sorted[0]}`;
  if (options.has('MAX') && sorted.length) line += ` MAX ${sorted[sorted.length - 1]}`;
  if (options.has('ALL') && sorted.length) line += ` ALL ${formatSet(sorted)}`;
  if (options.has('COUNT')) line += ` COUNT ${sorted.length}`;
  if (modseq) line += ` MODSEQ ${modseq}`;
  s.push(`${line}\r\n`);
  return undefined;
};

/** The first and/or last of ascending UIDs, as RETURN (MIN), (MAX) or (MIN MAX) name them. */
function ends(uids: number[], options: Set<string>): number[] {
  const out = new Set<number>();
  if (options.has('MIN')) out.add(uids[0]);
  if (options.has('MAX')) out.add(uids[uids.length - 1]);
  return [...out].sort((a, b) => a - b);
}

/** The highest MODSEQ among the snapshot's messages with these UIDs. */
export function highestModseq(snap: SearchSnapshot, uids: number[]): number {
  const want = new Set(uids);
  let top = 0;
  for (const m of snap.messages) if (want.has(m.uid) && m.modseq > top) top = m.modseq;
  return top;
}
