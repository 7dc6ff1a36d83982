// THREAD algorithms on hand-made messages: each rule of RFC 5256 REFERENCES and ORDEREDSUBJECT.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ThreadNode } from './api.ts';
import { normalizeMessageId } from './index.ts';
import { orderedSubject, references, type ThreadMessage } from './thread.ts';
import { formatThreads } from './thread-format.ts';

/** Messages in sequence order: [messageId, refs, subject, day-of-month]; uid = seq. */
function msgs(...specs: [string | null, string[], string, number][]): ThreadMessage[] {
  return specs.map(([messageId, refs, subject, d], i) => ({
    uid: i + 1,
    seq: i + 1,
    messageId,
    refs,
    subject,
    date: Date.UTC(2024, 0, d),
  }));
}

const render = (nodes: ThreadNode[]) => formatThreads(nodes);

test('REFERENCES: parent/child chains from References (step 1)', () => {
  const m = msgs(['a', [], 'Hello', 1], ['b', ['a'], 'Re: Hello', 2], ['c', ['a', 'b'], 'Re: Hello', 3]);
  assert.equal(render(references(m)), '(1 2 3)');
  // In-Reply-To stands in when References is absent: the caller passes it as the only ref.
  const n = msgs(['a', [], 'x', 1], ['b', ['a'], 'y', 2], ['c', ['a'], 'z', 3]);
  assert.equal(render(references(n)), '(1 (2)(3))');
});

test('REFERENCES: dummies for missing messages, pruned (step 3)', () => {
  // A missing middle message: its dummy sits between 1 and 2, then is replaced by its only child.
  assert.equal(render(references(msgs(['a', [], 'x', 1], ['c', ['a', 'b'], 'y', 2]))), '(1 2)');
  // Two replies to a message not in the set: a dummy parent with two children stays at the root.
  assert.equal(render(references(msgs(['b', ['x'], 'p', 1], ['c', ['x'], 'q', 2]))), '((1)(2))');
  // A dummy root with one child is replaced by it.
  assert.equal(render(references(msgs(['b', ['x'], 'p', 1]))), '(1)');
  // Dummies below the root are always replaced by their children.
  assert.equal(
    render(references(msgs(['a', [], 'p', 1], ['c', ['a', 'x'], 'q', 2], ['d', ['a', 'x'], 'r', 3]))),
    '(1 (2)(3))',
  );
});

test('REFERENCES: existing links are kept, loops refused, duplicates and missing ids get unique ids', () => {
  // Message 3's References disagree with the chain already built; only its own parent link moves.
  const m = msgs(['a', [], 'p', 1], ['b', ['a'], 'q', 2], ['c', ['b', 'a'], 'r', 3]);
  assert.equal(render(references(m)), '(1 (2)(3))');
  // a says its parent is b, b says its parent is a: the second link would be a loop.
  assert.equal(render(references(msgs(['a', ['b'], 'p', 1], ['b', ['a'], 'q', 2]))), '(2 1)');
  // Self-reference.
  assert.equal(render(references(msgs(['a', ['a'], 'p', 1]))), '(1)');
  // Same Message-ID twice: only the first keeps it; a reply to it attaches to the first.
  assert.equal(render(references(msgs(['a', [], 'p', 1], ['a', [], 'q', 2], ['c', ['a'], 'r', 3]))), '(1 3)(2)');
  // No Message-ID at all: still a thread of its own.
  assert.equal(render(references(msgs([null, [], 'p', 1], [null, [], 'q', 2]))), '(1)(2)');
});

test('REFERENCES: sorting by sent date, dummies by their first child (steps 4 and 6)', () => {
  const m = msgs(
    ['late', [], 'z', 9],
    ['r2', ['x'], 'q', 5],
    ['r1', ['x'], 'q2', 3],
    ['early', [], 'y', 1],
    ['child-b', ['early'], 'c', 8],
    ['child-a', ['early'], 'c2', 7],
  );
  // Root: early (1), dummy x (first child day 3), late (9); children by date.
  assert.equal(render(references(m)), '(4 (6)(5))((3)(2))(1)');
  // Equal dates fall back to sequence order.
  assert.equal(render(references(msgs(['a', [], 'p', 1], ['b', [], 'q', 1]))), '(1)(2)');
});

test('REFERENCES: threads with the same base subject merge (step 5)', () => {
  // A reply by subject only becomes a child of the original.
  assert.equal(render(references(msgs(['a', [], 'Hello', 1], ['b', [], 'Re: Hello', 2]))), '(1 2)');
  // Reply seen first: the non-reply takes the table; the reply goes below it.
  assert.equal(render(references(msgs(['b', [], 'Re: Hello', 1], ['a', [], 'hello', 2]))), '(2 1)');
  // Two originals with one subject: a new dummy holds both.
  assert.equal(render(references(msgs(['a', [], 'Hello', 1], ['b', [], 'Hello', 2]))), '((1)(2))');
  // Three: the third joins the dummy.
  assert.equal(render(references(msgs(['a', [], 'Hi', 1], ['b', [], 'Hi', 2], ['c', [], 'Hi', 3]))), '((1)(2)(3))');
  // A dummy thread and a message with its subject: the message joins the dummy's children.
  const d = msgs(['r1', ['x'], 'Re: Topic', 1], ['r2', ['x'], 'Re: Topic', 2], ['t', [], 'Topic', 3]);
  assert.equal(render(references(d)), '((1)(2)(3))');
  // Two dummy threads with one subject merge their children.
  const dd = msgs(
    ['r1', ['x'], 'Re: T', 1],
    ['r2', ['x'], 'Re: T', 2],
    ['s1', ['y'], 'Re: T', 3],
    ['s2', ['y'], 'Re: T', 4],
  );
  assert.equal(render(references(dd)), '((1)(2)(3)(4))');
  // Empty subjects never merge.
  assert.equal(render(references(msgs(['a', [], '', 1], ['b', [], 'Re:', 2]))), '(1)(2)');
  // Subjects compare case-insensitively, blobs and leaders stripped.
  assert.equal(render(references(msgs(['a', [], '[list] HELLO', 1], ['b', [], 'Re: [list] hello', 2]))), '(1 2)');
});

test('ORDEREDSUBJECT: threads by base subject, flat, ordered by first date', () => {
  const m = msgs(
    ['1', [], 'b topic', 3],
    ['2', [], 'A topic', 2],
    ['3', [], 'Re: a TOPIC', 1],
    ['4', [], 'Re: b topic', 4],
    ['5', [], 'Fwd: a topic', 5],
    ['6', [], 'c', 6],
  );
  // "a topic": 3 (day 1), 2 (day 2), 5; "b topic": 1 (day 3), 4; "c": 6.
  assert.equal(render(orderedSubject(m)), '(3 (2)(5))(1 4)(6)');
  assert.deepEqual(orderedSubject([]), []);
});

test('Message-ID normalisation: quoted local parts (RFC 5256 REFERENCES note)', () => {
  assert.equal(normalizeMessageId('"01KF8JCEOCBS0045PS"@xxx.yyy.com'), '01KF8JCEOCBS0045PS@xxx.yyy.com');
  assert.equal(normalizeMessageId('"a\\"b"@x'), 'a"b@x');
  assert.equal(normalizeMessageId('plain@x'), 'plain@x');
});

// Recursion would overflow the stack (an exception); quadratic work on 50,000 would take minutes and trip
// the timeout. No timing assertion: a loaded machine is slow.
test('REFERENCES: a reply chain 50,000 deep, in either order, without recursion or quadratic work', {
  timeout: 60_000,
}, () => {
  const n = 50_000;
  const chain = (i: number): ThreadMessage => ({
    uid: i + 1,
    seq: i + 1,
    messageId: `m${i}`,
    refs: i === 0 ? [] : [`m${i - 1}`],
    subject: 'Re: deep',
    date: Date.UTC(2024, 0, 1) + i * 1000,
  });
  const forward = Array.from({ length: n }, (_, i) => chain(i));
  const tree = references(forward);
  const text = formatThreads(tree);
  assert.equal(tree.length, 1);
  assert.equal(text, `(${forward.map((m) => m.uid).join(' ')})`);
  // Arrival in reverse: every parent is first a dummy.
  const backward = [...forward].reverse().map((m, i) => ({ ...m, seq: i + 1 }));
  assert.equal(formatThreads(references(backward)), text);
});
