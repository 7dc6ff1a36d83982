// FETCH data items: the RFC 9051 section 6.4.5 forms, sections, partials and macros.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFetchItem, parseFetchItems, parseSection } from './fetch-items.ts';

test('sections', () => {
  assert.deepEqual(parseSection(''), { part: [], text: null, fields: [] });
  assert.deepEqual(parseSection('1.2.HEADER'), { part: [1, 2], text: 'HEADER', fields: [] });
  assert.deepEqual(parseSection('header.fields (From To)'), {
    part: [],
    text: 'HEADER.FIELDS',
    fields: ['From', 'To'],
  });
  assert.deepEqual(parseSection('3.MIME'), { part: [3], text: 'MIME', fields: [] });
  for (const bad of ['MIME', '0', '1.', '.1', 'HEADER.FIELDS', 'HEADER.FIELDS ()', 'FOO', '1.2.3.TEXTX', 'HEADER (A)'])
    assert.equal(parseSection(bad), null, bad);
});

test('items and labels', () => {
  const b = parseFetchItem('BODY.PEEK[HEADER.FIELDS (date from)]<0.100>');
  assert.ok(b && b.kind === 'section');
  assert.equal(b.peek, true);
  assert.deepEqual(b.partial, { start: 0, length: 100 });
  assert.equal(b.label, 'BODY[HEADER.FIELDS (date from)]<0>');
  const bin = parseFetchItem('BINARY.PEEK[1.2]');
  assert.ok(bin && bin.kind === 'section' && bin.binary && bin.label === 'BINARY[1.2]');
  assert.deepEqual(parseFetchItem('binary.size[2]'), { kind: 'binarySize', part: [2], label: 'BINARY.SIZE[2]' });
  assert.equal(parseFetchItem('BINARY[HEADER]'), null);
  assert.equal(parseFetchItem('BODY[]<5>'), null);
  assert.equal(parseFetchItem('BODY[]<0.0>'), null);
  assert.equal(parseFetchItem('RFC822.HEADER')?.kind, 'section');
});

test('macros and lists', () => {
  const all = parseFetchItems({ type: 'atom', value: 'ALL' });
  assert.ok('items' in all && all.items.length === 4);
  const p = parseFetchItems({
    type: 'list',
    items: [
      { type: 'atom', value: 'UID' },
      { type: 'atom', value: 'PREVIEW' },
      { type: 'list', items: [{ type: 'atom', value: 'LAZY' }] },
    ],
  });
  assert.ok('items' in p && p.items.length === 2);
  assert.ok('error' in parseFetchItems({ type: 'atom', value: 'NOPE' }));
  assert.ok('error' in parseFetchItems({ type: 'list', items: [] }));
});
