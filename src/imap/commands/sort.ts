// SORT and THREAD (RFC 5256), by sequence number or UID, and SORT RETURN (...) (ESORT, RFC 5267 section 3);
// the engine parses keys and criteria and orders the messages, this file formats `* SORT` and `* THREAD`
// (RFC 5256 section 4), search-return.ts the ESEARCH answer.
import type { Handler } from '../commands.ts';
import { formatThreads } from '../search/thread-format.ts';
import { answerMatches, snapshot } from './search.ts';
import { criteriaFailure, takeReturn } from './search-return.ts';

export const sort: Handler = async (s, cmd) => {
  const byUid = cmd.name === 'UID SORT';
  // ESORT (RFC 5267 section 3): SORT RETURN (...) sort-criteria charset criteria, answered like an
  // extended SEARCH, SAVE and its reset on failure included (RFC 5182 section 2.1).
  const { options, rest } = takeReturn(s, cmd.args);
  const p = s.ctx.search.parseSort(rest, { utf8: s.utf8 });
  if (!p.ok) return criteriaFailure(s, options, p);
  const modseqKey = s.ctx.search.usesModseq(p.value.query);
  if (modseqKey) s.enableCondstore();
  // Without RETURN, `* SORT` as RFC 5256 has it, for IMAP4rev2 sessions too: RFC 9051 has no SORT.
  await answerMatches(s, cmd.tag, 'SORT', byUid, options, modseqKey, (snap) =>
    s.ctx.search.sort(s.mail, snap, p.value.keys, p.value.query),
  );
  return undefined;
};

export const thread: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const p = s.ctx.search.parseThread(cmd.args, { utf8: s.utf8 });
  if (!p.ok) {
    if (p.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: p.error };
    return { status: 'BAD', text: p.error };
  }
  const roots = await s.ctx.search.thread(s.mail, await snapshot(s), p.value.algorithm, p.value.query);
  const num = cmd.name === 'UID THREAD' ? (u: number) => u : (u: number) => sel.seqOf(u);
  // Written without recursion: a reply chain that branches at every level can be thousands deep.
  s.push(`* THREAD ${formatThreads(roots, num)}\r\n`);
  return undefined;
};
