// SEARCH and UID SEARCH (RFC 9051 section 6.4.4) with ESEARCH return options MIN, MAX, ALL, COUNT
// (RFC 4731), SAVE (RFC 5182 SEARCHRES) and PARTIAL (RFC 9394). The criteria are the search engine's; this
// file builds the snapshot and calls it; search-return.ts answers RETURN (...), as it does for SORT.
import type { Handler } from '../commands.ts';
import type { SearchSnapshot } from '../search/api.ts';
import type { ImapSession } from '../session.ts';
import { loadRecords } from './fetch.ts';
import { answerReturn, criteriaFailure, highestModseq, type ReturnOptions, takeReturn } from './search-return.ts';

/** The snapshot the engine sees: the session's messages in sequence order. */
export async function snapshot(s: ImapSession): Promise<SearchSnapshot> {
  const sel = s.selected!;
  const messages = await loadRecords(s.mail, sel.mailbox, sel.uids);
  return { mailbox: sel.mailbox, messages, recent: sel.recent, saved: s.saved };
}

export const search: Handler = async (s, cmd) => {
  const byUid = cmd.name === 'UID SEARCH';
  const parsedReturn = takeReturn(s, cmd.args);
  const { rest } = parsedReturn;
  // IMAP4rev2 answers SEARCH with ESEARCH only (RFC 9051 section 7.3.4): no RETURN means RETURN (ALL).
  const options = parsedReturn.options ?? (s.rev2 ? { names: new Set(['ALL']), partial: null } : null);
  const q = s.ctx.search.parseSearch(rest, { utf8: s.utf8 });
  if (!q.ok) return criteriaFailure(s, options, q);
  // A SEARCH with a MODSEQ key is a CONDSTORE enabling command (RFC 7162 section 3.1).
  const modseqKey = s.ctx.search.usesModseq(q.value);
  if (modseqKey) s.enableCondstore();
  await answerMatches(s, cmd.tag, 'SEARCH', byUid, options, modseqKey, (snap) =>
    s.ctx.search.search(s.mail, snap, q.value),
  );
  return undefined;
};

/**
 * The matches of a SEARCH or SORT (`find`, in the answer's order) on the session's snapshot, answered as
 * ESEARCH with RETURN (search-return.ts) or as `* SEARCH` / `* SORT` without, ending with the highest
 * mod-sequence when the criteria had a MODSEQ key (RFC 7162 sections 3.1.5 and 3.1.9). A command that fails
 * with SAVE empties $ (RFC 5182 section 2.1).
 */
export async function answerMatches(
  s: ImapSession,
  tag: string,
  keyword: 'SEARCH' | 'SORT',
  byUid: boolean,
  options: ReturnOptions | null,
  modseqKey: boolean,
  find: (snap: SearchSnapshot) => Promise<number[]>,
): Promise<void> {
  let uids: number[];
  let snap: SearchSnapshot;
  try {
    snap = await snapshot(s);
    uids = await find(snap);
  } catch (e) {
    if (options?.names.has('SAVE')) s.saved = [];
    throw e;
  }
  if (options) return answerReturn(s, tag, byUid, options, uids, snap, modseqKey);
  const sel = s.selected!;
  const nums = byUid ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  const modseq = modseqKey && uids.length ? ` (MODSEQ ${highestModseq(snap, uids)})` : '';
  s.push(`* ${keyword}${nums.length ? ` ${nums.join(' ')}` : ''}${modseq}\r\n`);
}
