// SORT and THREAD (RFC 5256), by sequence number or UID; the engine parses keys and criteria and
// orders the messages, this file formats `* SORT` and `* THREAD` (RFC 5256 section 4).
import type { Handler } from '../commands.ts';
import { formatThreads } from '../search/thread-format.ts';
import { highestModseq, snapshot } from './search.ts';

export const sort: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const p = s.ctx.search.parseSort(cmd.args, { utf8: s.utf8 });
  if (!p.ok) {
    if (p.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: p.error };
    return { status: 'BAD', text: p.error };
  }
  const modseqKey = s.ctx.search.usesModseq(p.value.query);
  if (modseqKey) s.enableCondstore();
  const snap = await snapshot(s);
  const uids = await s.ctx.search.sort(s.mail, snap, p.value.keys, p.value.query);
  const nums = cmd.name === 'UID SORT' ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
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
