// HEADER.FIELDS and HEADER.FIELDS.NOT filtering (RFC 9051 section 6.4.5): fields kept in order with their
// folded lines, the blank line at the end, lines that are no field never sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterHeader, filterIndexed, type HeaderIndex, indexHeader } from './sections.ts';

const header = Buffer.from(
  ' stray continuation\r\nSubject: one\r\n  folded\r\nnot a field\r\n more of it\r\nFROM : a@b\r\nsubject: two\r\n\r\n',
);

test('HEADER.FIELDS keeps the named fields in header order, folded lines included', () => {
  const out = (names: string[], not = false) => filterHeader(header, new Set(names), not).toString();
  assert.equal(out(['subject']), 'Subject: one\r\n  folded\r\nsubject: two\r\n\r\n');
  assert.equal(out(['from', 'subject']), 'Subject: one\r\n  folded\r\nFROM : a@b\r\nsubject: two\r\n\r\n');
  assert.equal(out(['to']), '\r\n');
  assert.equal(out(['subject'], true), 'FROM : a@b\r\n\r\n');
  assert.equal(out([], true), 'Subject: one\r\n  folded\r\nFROM : a@b\r\nsubject: two\r\n\r\n');
  // A last line without its line end is still a field.
  assert.equal(filterHeader(Buffer.from('A: 1\r\nB: 2'), new Set(['b']), false).toString(), 'B: 2\r\n');
});

test('one index answers many items', () => {
  const idx = indexHeader(header);
  assert.deepEqual(idx.byName.get('subject'), [0, 3]);
  for (let i = 0; i < 3; i++)
    assert.equal(filterIndexed(header, idx, new Set(['from']), false).toString(), 'FROM : a@b\r\n\r\n');
});

/** The index with every element read counted: the work an item does on it, not its time. */
function counted(idx: HeaderIndex): { idx: HeaderIndex; reads: () => number } {
  let n = 0;
  const wrap = <T extends object>(a: T): T =>
    new Proxy(a, {
      get(t, k, r) {
        if (typeof k === 'string' && /^\d+$/.test(k)) n++;
        return Reflect.get(t, k, r);
      },
    });
  const out = {} as Record<string, unknown>;
  for (const [k, v] of Object.entries(idx))
    out[k] = Array.isArray(v) ? wrap(v) : v instanceof Map ? new Map([...v].map(([a, b]) => [a, wrap(b)])) : v;
  return { idx: out as unknown as HeaderIndex, reads: () => n };
}

test('HEADER.FIELDS.NOT costs the runs of the fields it names and what it keeps, not the whole header', () => {
  // 80,000 X-Filler fields in a row with a few others around them: dropping them keeps three fields.
  const big = Buffer.from(
    `Subject: big\r\n${'X-Filler: a\r\n'.repeat(40_000)}junk line\r\n${'X-Filler: b\r\n'.repeat(40_000)}From: a@b\r\nTo: c@d\r\n\r\n`,
  );
  const { idx, reads } = counted(indexHeader(big));
  for (let i = 0; i < 100; i++)
    assert.equal(
      filterIndexed(big, idx, new Set(['x-filler', `x-none-${i}`]), true).toString(),
      'Subject: big\r\nFrom: a@b\r\nTo: c@d\r\n\r\n',
    );
  assert.ok(reads() < 100 * 50, `${reads()} index entries read for 100 items`);
  // Keeping most of it is still right (and costs what it keeps).
  const rest = filterHeader(big, new Set(['subject', 'to']), true).toString();
  assert.equal(rest, `${'X-Filler: a\r\n'.repeat(40_000)}${'X-Filler: b\r\n'.repeat(40_000)}From: a@b\r\n\r\n`);
});

test('HEADER.FIELDS.NOT: runs, stray lines and names given twice', () => {
  const h = Buffer.from('A: 1\r\nA: 2\r\n folded\r\nB: 3\r\njunk\r\njunk too\r\nA: 4\r\nC: 5\r\nB: 6\r\n\r\n');
  const not = (names: string[]) => filterHeader(h, new Set(names), true).toString();
  assert.equal(not(['a']), 'B: 3\r\nC: 5\r\nB: 6\r\n\r\n');
  assert.equal(not(['b', 'c']), 'A: 1\r\nA: 2\r\n folded\r\nA: 4\r\n\r\n');
  assert.equal(not(['a', 'b', 'c']), '\r\n');
  assert.equal(not(['', 'z']), 'A: 1\r\nA: 2\r\n folded\r\nB: 3\r\nA: 4\r\nC: 5\r\nB: 6\r\n\r\n');
});
