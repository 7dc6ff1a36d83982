// SORT and THREAD (RFC 5256), by sequence number or UID; the engine parses keys and criteria and
// orders the messages, this file formats `* SORT` and `* THREAD` (RFC 5256 section 4).
import type { Handler } from '../commands.ts';
import type { ThreadNode } from '../search/api.ts';
import { snapshot } from './search.ts';

export const sort: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const p = s.ctx.search.parseSort(cmd.args, { utf8: s.utf8 });
  if (!p.ok) {
    if (p.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: p.error };
    return { status: 'BAD', text: p.error };
  }
  const uids = await s.ctx.search.sort(s.mail, await snapshot(s), p.value.keys, p.value.query);
  const nums = cmd.name === 'UID SORT' ? uids : uids.map((u) => sel.seqOf(u)).filter((n) => n > 0);
  s.push(`* SORT${nums.length ? ` ${nums.join(' ')}` : ''}\r\n`);
  return undefined;
};

/** thread-list (RFC 5256 section 4): a chain of single children is flat, branches are nested. */
export function formatThread(node: ThreadNode, num: (uid: number) => number): string {
  const members: number[] = [];
  let cur = node;
  for (;;) {
    if (cur.uid !== null) members.push(num(cur.uid));
    if (cur.children.length !== 1) break;
    cur = cur.children[0];
  }
  const nested = cur.children.length > 1 ? cur.children.map((c) => `(${formatThread(c, num)})`).join('') : '';
  return members.join(' ') + (members.length && nested ? ' ' : '') + nested;
}

export const thread: Handler = async (s, cmd) => {
  const sel = s.selected!;
  const p = s.ctx.search.parseThread(cmd.args, { utf8: s.utf8 });
  if (!p.ok) {
    if (p.code === 'BADCHARSET') return { status: 'NO', code: 'BADCHARSET (US-ASCII UTF-8)', text: p.error };
    return { status: 'BAD', text: p.error };
  }
  const roots = await s.ctx.search.thread(s.mail, await snapshot(s), p.value.algorithm, p.value.query);
  const num = cmd.name === 'UID THREAD' ? (u: number) => u : (u: number) => sel.seqOf(u);
  s.push(`* THREAD ${roots.map((r) => `(${formatThread(r, num)})`).join('')}\r\n`);
  return undefined;
};
