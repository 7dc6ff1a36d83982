// The THREAD response data for a thread tree (RFC 5256 section 4, thread-list): what a THREAD or UID
// THREAD handler writes after "* THREAD ", given numbers (UIDs, or sequence numbers mapped from them).
import type { ThreadNode } from './api.ts';

/** "(1 2 (3)(4))(5)": a parent then its only child in one list; several children as nested lists. */
export function formatThreads(nodes: ThreadNode[], num: (uid: number) => number = (u) => u): string {
  const members = (n: ThreadNode): string => {
    const head = n.uid === null ? '' : String(num(n.uid));
    if (n.children.length === 0) return head;
    if (n.children.length === 1 && n.uid !== null) return `${head} ${members(n.children[0])}`;
    const nested = n.children.map((c) => `(${members(c)})`).join('');
    return head === '' ? nested : `${head} ${nested}`;
  };
  return nodes.map((n) => `(${members(n)})`).join('');
}
