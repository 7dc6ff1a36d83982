// The THREAD response data for a thread tree (RFC 5256 section 4, thread-list): what a THREAD or UID
// THREAD handler writes after "* THREAD ", given numbers (UIDs, or sequence numbers mapped from them).
import type { ThreadNode } from './api.ts';

/**
 * "(1 2 (3)(4))(5)": a parent then its only child in one list, several children as nested lists, a
 * dummy parent as a list of its children's lists. Iterative: a reply chain may be very deep.
 */
export function formatThreads(nodes: ThreadNode[], num: (uid: number) => number = (u) => u): string {
  let out = '';
  const stack: (string | ThreadNode)[] = [];
  const pushLists = (list: ThreadNode[]) => {
    for (let i = list.length - 1; i >= 0; i--) stack.push(')', list[i], '(');
  };
  pushLists(nodes);
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out += item;
      continue;
    }
    const head = item.uid === null ? '' : String(num(item.uid));
    out += head;
    if (item.children.length === 0) continue;
    if (head !== '') out += ' ';
    if (item.children.length === 1 && head !== '') stack.push(item.children[0]);
    else pushLists(item.children);
  }
  return out;
}
