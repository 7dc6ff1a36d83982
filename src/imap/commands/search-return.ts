// RETURN (...) of SEARCH and SORT: parsing the options, the ESEARCH response and SAVE (RFC 4731, RFC 5182,
// RFC 9051 section 6.4.4, RFC 5267 section 3 ESORT, RFC 9394 PARTIAL). One formatter for both commands: it
// takes the result in its own order (ascending for SEARCH, the sort order for SORT), so MIN and MAX are the
// first and last of that order, ALL keeps it, and PARTIAL positions count along it.
import { formatPartialRange, type PartialRange, parsePartialRange, partialPage } from '../../protocol/imap/partial.ts';
import { formatSet } from '../../protocol/imap/sequence.ts';
import type { ImapValue } from '../../protocol/imap/types.ts';
import { ArgError, atom, list } from '../args.ts';
import type { Reply } from '../commands.ts';
import type { SearchSnapshot } from '../search/api.ts';
import type { ImapSession } from '../session.ts';

const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'ALL', 'COUNT', 'SAVE', 'PARTIAL']);

/** The RETURN options: their names, and the range when PARTIAL is one of them. */
export interface ReturnOptions {
  names: Set<string>;
  partial: PartialRange | null;
}

/**
 * `RETURN (...)` at the start of SEARCH or SORT arguments; null when absent (RFC 4731 section 3.1). Options
 * that do not parse fail the command, and a failed command empties $ (RFC 5182 section 2.1).
 */
export function takeReturn(s: ImapSession, args: ImapValue[]): { options: ReturnOptions | null; rest: ImapValue[] } {
  try {
    return parseReturn(args);
  } catch (e) {
    s.saved = [];
    throw e;
  }
}

/**
 * The reply to criteria that do not parse: NO [BADCHARSET] or BAD; with SAVE, $ is emptied (RFC 5182
 * section 2.1).
 */
export function criteriaFailure(
  s: ImapSession,
  options: ReturnOptions | null,
  failure: { error: string; code?: 'BADCHARSET' },
): Reply {
  if (options?.names.has('SAVE')) s.saved = [];
  if (failure.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: failure.error };
  return { status: 'BAD', text: failure.error };
}

function parseReturn(args: ImapValue[]): { options: ReturnOptions | null; rest: ImapValue[] } {
  if (args[0]?.type !== 'atom' || args[0].value.toUpperCase() !== 'RETURN') return { options: null, rest: args };
  const opts = list(args[1], 'return options');
  const names = new Set<string>();
  let partial: PartialRange | null = null;
  for (let i = 0; i < opts.length; i++) {
    const name = atom(opts[i], 'a return option').toUpperCase();
    if (!RETURN_OPTIONS.has(name)) throw new ArgError(`unknown return option ${name.slice(0, 20)}`);
    if (name === 'PARTIAL') {
      // RFC 9394 section 3.1: PARTIAL takes a range; a command has one PARTIAL or one ALL, not both.
      if (partial) throw new ArgError('PARTIAL can be given once');
      const range = opts[i + 1]?.type === 'atom' ? (opts[++i] as { value: string }).value : null;
      if (range === null) throw new ArgError('PARTIAL needs a range such as 1:100 or -1:-100');
      const r = parsePartialRange(range);
      if (typeof r === 'string') throw new ArgError(r);
      partial = r;
    }
    names.add(name);
  }
  if (partial && names.has('ALL')) throw new ArgError('PARTIAL and ALL cannot be used together');
  if (names.size === 0) names.add('ALL'); // RETURN () means ALL
  return { options: { names, partial }, rest: args.slice(2) };
}

/**
 * Answers RETURN (...) for a result, `uids` in result order: SAVE keeps what is returned, then the
 * ESEARCH line. `modseqKey`: the criteria had a MODSEQ key, so the answer carries a mod-sequence.
 */
export function answerReturn(
  s: ImapSession,
  tag: string,
  byUid: boolean,
  options: ReturnOptions,
  uids: number[],
  snap: SearchSnapshot,
  modseqKey: boolean,
): void {
  const sel = s.selected!;
  const { names, partial } = options;
  const page = partial ? partialPage(partial, uids) : [];
  const returned = returnedMessages(names, uids, page);
  // RFC 7162 sections 3.1.5 and 3.1.10: a non-empty answer to a MODSEQ search ends with the highest
  // mod-sequence of the messages it returns (RFC 4731 section 3.2).
  const modseq = modseqKey && returned.length ? highestModseq(snap, returned) : 0;
  if (names.has('SAVE')) {
    // `$` is a set: kept ascending whatever order the result came in.
    s.saved = [...returned].sort((a, b) => a - b);
    if (names.size === 1) return; // SAVE alone: no ESEARCH response
  }
  const num = (list: number[]) => (byUid ? list : list.map((u) => sel.seqOf(u)).filter((n) => n > 0));
  const nums = num(uids);
  let line = `* ESEARCH (TAG "${tag}")${byUid ? ' UID' : ''}`;
  // For SORT, MIN and MAX are "the lowest/highest sorted message" (RFC 5267 section 3.1): first and last.
  // Beside PARTIAL they, and COUNT, still describe the whole result, as Dovecot answers.
  if (names.has('MIN') && nums.length) line += ` MIN ${nums[0]}`;
  if (names.has('MAX') && nums.length) line += ` MAX ${nums[nums.length - 1]}`;
  // formatSet keeps the order and makes ranges of ascending runs only: a range reads in increasing order
  // (RFC 5267 section 3.2), so a descending run stays a list.
  if (names.has('ALL') && nums.length) line += ` ALL ${formatSet(nums)}`;
  // RFC 9394 section 3.1: PARTIAL (range set) always, the range as asked, NIL when no result falls in it.
  if (partial) line += ` PARTIAL (${formatPartialRange(partial)} ${formatSet(num(page)) || 'NIL'})`;
  if (names.has('COUNT')) line += ` COUNT ${nums.length}`;
  if (modseq) line += ` MODSEQ ${modseq}`;
  s.push(`${line}\r\n`);
}

/**
 * The messages an answer returns, which SAVE keeps and MODSEQ is taken over: with ALL or COUNT the whole
 * result; otherwise what MIN, MAX and PARTIAL return together (RFC 9051 section 6.4.4.1, RFC 9394
 * section 3.2 table 1); SAVE alone keeps the whole result.
 */
function returnedMessages(names: Set<string>, uids: number[], page: number[]): number[] {
  if (names.has('ALL') || names.has('COUNT') || !uids.length) return uids;
  if (!names.has('MIN') && !names.has('MAX') && !names.has('PARTIAL')) return uids;
  const out = new Set<number>(page);
  if (names.has('MIN')) out.add(uids[0]);
  if (names.has('MAX')) out.add(uids[uids.length - 1]);
  return [...out];
}

/** The highest MODSEQ among the snapshot's messages with these UIDs. */
export function highestModseq(snap: SearchSnapshot, uids: number[]): number {
  const want = new Set(uids);
  let top = 0;
  for (const m of snap.messages) if (want.has(m.uid) && m.modseq > top) top = m.modseq;
  return top;
}
