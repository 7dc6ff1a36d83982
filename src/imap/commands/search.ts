// SEARCH and UID SEARCH (RFC 9051 section 6.4.4) with ESEARCH return options MIN, MAX, ALL, COUNT
// (RFC 4731), SAVE (RFC 5182 SEARCHRES) and PARTIAL (RFC 9394). The criteria are the search engine's; this
// file builds the snapshot and calls it; search-return.ts answers RETURN (...), as it does for SORT.
import type { Handler } from '../commands.ts';
import type { SearchSnapshot } from '../search/api.ts';
import type { ImapSession } from '../session.ts';
import { loadRecords } from './fetch.ts';
import { answerReturn, highestModseq, takeReturn } from './search-return.ts';

/** The snapshot the engine sees: the session's messages in sequence order. */
export async function snapshot(s: ImapSession): Promise<SearchSnapshot> {
  const sel = s.selected!;
  const messages = await loadRecords(s.mail, sel.mailbox, sel.uids);
  return { mailbox: sel.mailbox, messages, recent: sel.recent, saved: s.saved };
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
  const options = parsedReturn.options ?? (s.rev2 ? { names: new Set(['ALL']), partial: null } : null);
  const q = s.ctx.search.parseSearch(rest, { utf8: s.utf8 });
  if (!q.ok) {
    if (options?.names.has('SAVE')) s.saved = []; // RFC 5182 section 2.1: a failed SAVE empties $
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
    if (options?.names.has('SAVE')) s.saved = [];
    throw e;
  }
  if (options) {
    answerReturn(s, cmd.tag, byUid, options, uids, snap, modseqKey);
    return undefined;
  }
  const nums = byUid ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  // RFC 7162 section 3.1.5: a non-empty answer to a MODSEQ search ends with the highest mod-sequence.
  const modseq = modseqKey && uids.length ? highestModseq(snap, uids) : 0;
  s.push(`* SEARCH${nums.length ? ` ${nums.join(' ')}` : ''}${modseq ? ` (MODSEQ ${modseq})` : ''}\r\n`);
  return undefined;
};
