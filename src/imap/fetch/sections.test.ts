// HEADER.FIELDS and HEADER.FIELDS.NOT filtering (RFC 9051 section 6.4.5): fields kept in order with their
// folded lines, the blank line at the end, lines that are no field never sent.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterHeader, filterIndexed, indexHeader } from './sections.ts';

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
