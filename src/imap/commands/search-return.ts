// RETURN (...) of SEARCH and SORT: parsing the options, the ESEARCH response and SAVE (RFC 4731, RFC 5182,
// RFC 9051 section 6.4.4, RFC 5267 section 3 ESORT). One formatter for both commands: it takes the result
// in its own order (ascending for SEARCH, the sort order for SORT), so MIN and MAX are the first and last
// of that order and ALL keeps it.
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, atom, list } from '../args.ts';
import type { SearchSnapshot } from '../search/api.ts';
import type { ImapSession } from '../session.ts';

const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE']);

/** `RETURN (...)` at the start of SEARCH or SORT arguments; null when absent (RFC 4731 section 3.1). */
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

/**
 * Answers RETURN (...) for a result, `uids` in result order: SAVE keeps what is returned, then the
 * ESEARCH line. `modseqKey`: the criteria had a MODSEQ key, so the answer carries a mod-sequence.
 */
export function answerReturn(
  s: ImapSession,
  tag: string,
  byUid: boolean,
  options: Set<string>,
  uids: number[],
  snap: SearchSnapshot,
  modseqKey: boolean,
): void {
  const sel = s.selected!;
  // With MIN and/or MAX but neither ALL nor COUNT, only those messages are returned: SAVE keeps just them
  // (RFC 9051 section 6.4.4.1) and MODSEQ is theirs (RFC 4731 section 3.2).
  const onlyEnds = (options.has('MIN') || options.has('MAX')) && !options.has('ALL') && !options.has('COUNT');
  const returned = onlyEnds && uids.length ? ends(uids, options) : uids;
  // RFC 7162 sections 3.1.5 and 3.1.10: a non-empty answer to a MODSEQ search ends with the highest
  // mod-sequence of the messages it returns.
  const modseq = modseqKey && returned.length ? highestModseq(snap, returned) : 0;
  if (options.has('SAVE')) {
    // `$` is a set: kept ascending whatever order the result came in.
    s.saved = [...returned].sort((a, b) => a - b);
    if (options.size === 1) return; // SAVE alone: no ESEARCH response
  }
  const nums = byUid ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  let line = `* ESEARCH (TAG "${tag}")${byUid ? ' UID' : ''}`;
  // For SORT, MIN and MAX are "the lowest/highest sorted message" (RFC 5267 section 3.1): first and last.
  if (options.has('MIN') && nums.length) line += ` MIN ${nums[0]}`;
  if (options.has('MAX') && nums.length) line += ` MAX ${nums[nums.length - 1]}`;
  // formatSet keeps the order and makes ranges of ascending runs only: a range reads in increasing order
  // (RFC 5267 section 3.2), so a descending run stays a list.
  if (options.has('ALL') && nums.length) line += ` ALL ${formatSet(nums)}`;
  if (options.has('COUNT')) line += ` COUNT ${nums.length}`;
  if (modseq) line += ` MODSEQ ${modseq}`;
  s.push(`${line}\r\n`);
}

/** The first and/or last UID of a result, as RETURN (MIN), (MAX) or (MIN MAX) name them. */
function ends(uids: number[], options: Set<string>): number[] {
  const out = new Set<number>();
  if (options.has('MIN')) out.add(uids[0]);
  if (options.has('MAX')) out.add(uids[uids.length - 1]);
  return [...out];
}

/** The highest MODSEQ among the snapshot's messages with these UIDs. */
export function highestModseq(snap: SearchSnapshot, uids: number[]): number {
  const want = new Set(uids);
  let top = 0;
  for (const m of snap.messages) if (want.has(m.uid) && m.modseq > top) top = m.modseq;
  return top;
}
