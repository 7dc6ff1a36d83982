// THREAD algorithms (RFC 5256 section 3, BASE.6.4.THREAD): ORDEREDSUBJECT and REFERENCES with dummy
// parents, pruning and subject merging, over plain message facts (no I/O here).
import { extractBaseSubject } from '../../mailbox/sort-keys.ts';
import type { ThreadNode } from './api.ts';
import { casemap, compareCodePoints } from './fold.ts';

/** What threading needs of one searched message. */
export interface ThreadMessage {
  uid: number;
  seq: number;
  /** Normalised Message-ID, or null when the message has no valid one. */
  messageId: string | null;
  /** Normalised references: the References ids, else the first In-Reply-To id, else none. */
  refs: string[];
  /** The decoded Subject. */
  subject: string;
  /** Sent date (RFC 5256 section 2.2), ms. */
  date: number;
}

interface Subject {
  key: string;
  replyOrForward: boolean;
}

function subjectOf(m: ThreadMessage, cache: Map<ThreadMessage, Subject>): Subject {
  let s = cache.get(m);
  if (!s) {
    const b = extractBaseSubject(m.subject);
    s = { key: casemap(b.base), replyOrForward: b.replyOrForward };
    cache.set(m, s);
  }
  return s;
}

/** Sent date, then sequence number (RFC 5256 section 2.2 tie-breaker). */
function byDate(a: ThreadMessage, b: ThreadMessage): number {
  return a.date - b.date || a.seq - b.seq;
}

/** ORDEREDSUBJECT: threads of equal base subject, each a first message with the rest as its children. */
export function orderedSubject(msgs: ThreadMessage[]): ThreadNode[] {
  const cache = new Map<ThreadMessage, Subject>();
  const sorted = [...msgs].sort(
    (a, b) => compareCodePoints(subjectOf(a, cache).key, subjectOf(b, cache).key) || byDate(a, b),
  );
  const threads: ThreadMessage[][] = [];
  for (const m of sorted) {
    const last = threads[threads.length - 1];
    if (last && subjectOf(last[0], cache).key === subjectOf(m, cache).key) last.push(m);
    else threads.push([m]);
  }
  threads.sort((a, b) => byDate(a[0], b[0]));
  return threads.map(([first, ...rest]) => ({
    uid: first.uid,
    children: rest.map((m) => ({ uid: m.uid, children: [] })),
  }));
}

/** A container of the REFERENCES algorithm: a message, or a dummy (msg null) standing for a referenced id. */
interface Node {
  msg: ThreadMessage | null;
  parent: Node | null;
  children: Node[];
}

function unlink(n: Node): void {
  if (!n.parent) return;
  const siblings = n.parent.children;
  siblings.splice(siblings.indexOf(n), 1);
  n.parent = null;
}

/** Makes `parent` the parent of `child` unless that would create a loop (parent is child or below it). */
function link(parent: Node, child: Node): void {
  // A childless node has nothing below it: no walk up (keeps long reply chains linear).
  if (child.children.length > 0) for (let p: Node | null = parent; p; p = p.parent) if (p === child) return;
  if (parent === child) return;
  child.parent = parent;
  parent.children.push(child);
}

/** The message a node sorts and is named by: itself, or a dummy's first child. */
function lead(n: Node): ThreadMessage {
  while (n.msg === null) n = n.children[0];
  return n.msg;
}

/** Every node of a forest, each before its children, without recursion (threads can be very deep). */
function preorder(roots: Node[]): Node[] {
  const out: Node[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const n = stack.pop()!;
    out.push(n);
    for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}

function sortSiblings(list: Node[]): void {
  list.sort((a, b) => byDate(lead(a), lead(b)));
}

/** RFC 5256 REFERENCES, steps 1 to 6. `msgs` must be in sequence order. */
export function references(msgs: ThreadMessage[]): ThreadNode[] {
  const byId = new Map<string, Node>();
  const all: Node[] = [];
  const container = (id: string): Node => {
    let n = byId.get(id);
    if (!n) {
      n = { msg: null, parent: null, children: [] };
      byId.set(id, n);
      all.push(n);
    }
    return n;
  };
  // (1) Link each message and its references.
  for (const m of msgs) {
    let cur: Node;
    const existing = m.messageId === null ? undefined : byId.get(m.messageId);
    if (m.messageId !== null && (!existing || existing.msg === null)) {
      cur = container(m.messageId);
      cur.msg = m;
    } else {
      // No id, or a duplicate of an earlier message's: a unique id of its own.
      cur = { msg: m, parent: null, children: [] };
      all.push(cur);
    }
    // (A) Each reference is the parent of the next, unless the next already has a parent.
    for (let i = 0; i + 1 < m.refs.length; i++) {
      const parent = container(m.refs[i]);
      const child = container(m.refs[i + 1]);
      if (child.parent === null && parent !== child) link(parent, child);
    }
    // (B) The last reference is the parent of this message, replacing any earlier link.
    unlink(cur);
    if (m.refs.length > 0) {
      const parent = container(m.refs[m.refs.length - 1]);
      if (parent !== cur) link(parent, cur);
    }
  }
  // (2) The root's children: every container without a parent. (3) Prune dummies.
  let root = prune(all.filter((n) => n.parent === null));
  // (4) Sort the root's children by sent date; a dummy by its first child after sorting its children.
  for (const n of root) if (n.msg === null) sortSiblings(n.children);
  sortSiblings(root);
  // (5) Merge threads with the same base subject.
  root = mergeSubjects(root);
  // (6) Sort every set of siblings, deepest first.
  const order = preorder(root);
  for (let k = order.length - 1; k >= 0; k--) if (order[k].children.length > 1) sortSiblings(order[k].children);
  sortSiblings(root);
  const out = new Map<Node, ThreadNode>(order.map((n) => [n, { uid: n.msg?.uid ?? null, children: [] }]));
  for (const n of order) out.get(n)!.children = n.children.map((c) => out.get(c)!);
  return root.map((n) => out.get(n)!);
}

/**
 * Step 3: a dummy without children goes; a dummy with children is replaced by them, except at the
 * root, where it stays unless it has only one child. Bottom-up, so promoted children are pruned already.
 */
function prune(roots: Node[]): Node[] {
  const order = preorder(roots);
  for (let k = order.length - 1; k >= 0; k--) {
    const n = order[k];
    if (n.children.length === 0) continue;
    const kept: Node[] = [];
    for (const c of n.children) {
      if (c.msg !== null) kept.push(c);
      else for (const g of c.children) kept.push(g);
    }
    for (const c of kept) c.parent = n;
    n.children = kept;
  }
  const out: Node[] = [];
  for (const n of roots) {
    if (n.msg !== null || n.children.length > 1) out.push(n);
    else if (n.children.length === 1) {
      n.children[0].parent = null;
      out.push(n.children[0]);
    }
  }
  return out;
}

/** Step 5: gather the root's threads that share a base subject. */
function mergeSubjects(root: Node[]): Node[] {
  const cache = new Map<ThreadMessage, Subject>();
  const subject = (n: Node): string => subjectOf(lead(n), cache).key;
  const isReply = (n: Node): boolean => n.msg !== null && subjectOf(n.msg, cache).replyOrForward;
  // (B) One thread per subject: a dummy wins over a message, a non-reply over a reply.
  const table = new Map<string, Node>();
  for (const n of root) {
    const s = subject(n);
    if (s === '') continue;
    const t = table.get(s);
    if (!t) table.set(s, n);
    else if (t.msg !== null && (n.msg === null || (isReply(t) && !isReply(n)))) table.set(s, n);
  }
  // (C) Merge every other thread of that subject into the table's.
  const list = [...root];
  const gone = new Set<Node>();
  for (const n of root) {
    const s = subject(n);
    if (s === '' || gone.has(n)) continue;
    const t = table.get(s)!;
    if (t === n) continue;
    if (t.msg === null && n.msg === null) for (const c of n.children) t.children.push(c);
    else if (t.msg === null) t.children.push(n);
    else if (isReply(n) && !isReply(t)) t.children.push(n);
    else {
      const dummy: Node = { msg: null, parent: null, children: [t, n] };
      list[list.indexOf(t)] = dummy;
      table.set(s, dummy);
      // t now lives under the dummy: when the loop reaches it, it is not merged again.
      gone.add(t);
    }
    gone.add(n);
  }
  return list.filter((n) => !gone.has(n));
}
