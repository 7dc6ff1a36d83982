// SORT and THREAD (RFC 5256), by sequence number or UID, and SORT RETURN (...) (ESORT, RFC 5267 section 3);
// the engine parses keys and criteria and orders the messages, this file formats `* SORT` and `* THREAD`
// (RFC 5256 section 4), search-return.ts the ESEARCH answer.
import type { Handler } from '../commands.ts';
import type { SearchSnapshot } from '../search/api.ts';
import { formatThreads } from '../search/thread-format.ts';
import { snapshot } from './search.ts';
import { answerReturn, highestModseq, takeReturn } from './search-return.ts';

export const sort: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const byUid = cmd.name === 'UID SORT';
  // ESORT (RFC 5267 section 3): SORT RETURN (...) sort-criteria charset criteria, answered like an
  // extended SEARCH, SAVE and its reset on failure included (RFC 5182 section 2.1).
  let parsedReturn: ReturnType<typeof takeReturn>;
  try {
    parsedReturn = takeReturn(cmd.args);
  } catch (e) {
    s.saved = [];
    throw e;
  }
  const { options, rest } = parsedReturn;
  const p = s.ctx.search.parseSort(rest, { utf8: s.utf8 });
  if (!p.ok) {
    if (options?.names.has('SAVE')) s.saved = [];
    if (p.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: p.error };
    return { status: 'BAD', text: p.error };
  }
  const modseqKey = s.ctx.search.usesModseq(p.value.query);
  if (modseqKey) s.enableCondstore();
  let uids: number[];
  let snap: SearchSnapshot;
  try {
    snap = await snapshot(s);
    uids = await s.ctx.search.sort(s.mail, snap, p.value.keys, p.value.query);
  } catch (e) {
    if (options?.names.has('SAVE')) s.saved = [];
    throw e;
  }
  // Without RETURN, `* SORT` as RFC 5256 has it, for IMAP4rev2 sessions too: RFC 9051 has no SORT.
  if (options) {
    answerReturn(s, cmd.tag, byUid, options, uids, snap, modseqKey);
    return undefined;
  }
  const nums = byUid ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  // RFC 7162 section 3.1.9: a non-empty SORT answer to a MODSEQ search ends with the highest mod-sequence.
  const modseq = modseqKey && uids.length ? ` (MODSEQ ${highestModseq(snap, uids)})` : '';
  s.push(`* SORT${nums.length ? ` ${nums.join(' ')}` : ''}${modseq}\r\n`);
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
