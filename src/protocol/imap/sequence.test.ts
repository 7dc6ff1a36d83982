// Sequence sets: RFC 9051 section 9 examples, resolution against a mailbox, compact formatting.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSet, parseSequenceSet, resolveSeqSet, resolveUidSet, STAR, setMembership } from './sequence.ts';

test('parses RFC 9051 sequence sets', () => {
  assert.deepEqual(parseSequenceSet('2,4:7,9,12:*'), {
    saved: false,
    ranges: [
      { from: 2, to: 2 },
      { from: 4, to: 7 },
      { from: 9, to: 9 },
      { from: 12, to: STAR },
    ],
  });
  assert.deepEqual(parseSequenceSet('$'), { saved: true });
  for (const bad of ['', '0', '1:', ':1', '1,,2', 'a', '1:0', '4294967296', '-1', '1 2'])
    assert.equal(parseSequenceSet(bad), null, bad);
});

test('message numbers: * is the last; a number past the end is an error', () => {
  const r = (s: string, n: number) => {
    const p = parseSequenceSet(s);
    assert.ok(p && !p.saved);
    return resolveSeqSet(p.ranges, n);
  };
  assert.deepEqual(r('2,4:7,9,12:*', 15), [2, 4, 5, 6, 7, 9, 12, 13, 14, 15]);
  assert.deepEqual(r('*:4', 5), [4, 5]);
  assert.deepEqual(r('3:1', 5), [1, 2, 3]);
  assert.equal(r('6', 5), null);
  assert.deepEqual(r('1:*', 0), []);
  assert.equal(r('1', 0), null);
});

test('UIDs: absent numbers are skipped, * is the highest UID, huge ranges are not expanded', () => {
  const uids = [3, 5, 9, 4000000000];
  const r = (s: string) => {
    const p = parseSequenceSet(s);
    assert.ok(p && !p.saved);
    return resolveUidSet(p.ranges, uids).map((i) => uids[i]);
  };
  assert.deepEqual(r('1:4294967295'), uids);
  assert.deepEqual(r('4:6,9'), [5, 9]);
  assert.deepEqual(r('10:*'), [4000000000]);
  assert.deepEqual(r('*'), [4000000000]);
  assert.deepEqual(r('1,2'), []);
});

/** Parsed ranges of a set that is not `$`. */
function rangesOf(text: string) {
  const p = parseSequenceSet(text);
  assert.ok(p && !p.saved);
  return p.ranges;
}

// Each range was walked over the mailbox as written: one 64 KB command line of `1:*,1:*,...` (16,000
// ranges) on a 100,000-message mailbox took seconds of CPU, the whole process waiting.
test('overlapping ranges are merged first: the work is about the mailbox size, not ranges x messages', () => {
  const n = 5000;
  const list = Array.from({ length: n }, (_, i) => 2 * i + 1);
  let reads = 0;
  const uids = new Proxy(list, {
    get(t, k, r) {
      if (typeof k === 'string' && /^\d+$/.test(k)) reads++;
      return Reflect.get(t, k, r);
    },
  });
  const ranges = rangesOf(Array(2000).fill('1:*').join(','));
  assert.equal(resolveUidSet(ranges, uids).length, n);
  assert.ok(reads < 4 * n + 100 * 2000, `${reads} reads of a ${n}-UID list for 2,000 ranges`);
  // Sequence numbers: each number named once, whatever the overlap.
  assert.deepEqual(resolveSeqSet(rangesOf('5:7,1:3,2:6,*'), 9), [1, 2, 3, 4, 5, 6, 7, 9]);
});

test('set membership: the same answers as the ranges as written, * as the given maximum', () => {
  const ranges = rangesOf('9:*,1:3,2,20:15,7');
  const has = setMembership(ranges, 30);
  const expect = (u: number) => (u >= 1 && u <= 3) || u === 7 || (u >= 9 && u <= 30);
  for (let u = 0; u <= 40; u++) assert.equal(has(u), expect(u), String(u));
  assert.equal(setMembership(rangesOf('5:*'), 3)(4), true); // 5:* with 3 the highest is 3:5
});

test('formats compact sets', () => {
  assert.equal(formatSet([1, 2, 3, 5, 7, 8, 9]), '1:3,5,7:9');
  assert.equal(formatSet([4]), '4');
  assert.equal(formatSet([]), '');
});
