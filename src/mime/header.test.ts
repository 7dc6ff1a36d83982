// Tests for header block splitting and unfolding (RFC 5322 sections 2.2 and 2.2.3) on raw bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getField, parseHeaderBlock } from './header.ts';

const limits = { maxHeaderFields: 1000, maxHeaderLineLength: 64 * 1024 };
const parse = (s: string, lim = limits) => {
  const raw = Buffer.from(s, 'latin1');
  const problems: string[] = [];
  return { ...parseHeaderBlock(raw, 0, raw.length, lim, problems), problems };
};

test('fields are unfolded: CR and LF removed, continuation blanks kept', () => {
  const h = parse('Subject: a\r\n  folded\r\n\tline \r\nTo:x\r\n\r\nbody');
  assert.deepEqual(h.fields, [
    { name: 'Subject', value: 'a  folded\tline ' },
    { name: 'To', value: 'x' },
  ]);
  assert.equal(h.bodyStart, 'Subject: a\r\n  folded\r\n\tline \r\nTo:x\r\n\r\n'.length);
});

test('bare LF, mixed line ends, blank name padding, empty values', () => {
  const h = parse('A: 1\nB : 2\r\nC:\n\nbody');
  assert.deepEqual(h.fields, [
    { name: 'A', value: '1' },
    { name: 'B', value: '2' },
    { name: 'C', value: '' },
  ]);
  assert.equal(h.bodyStart, 'A: 1\nB : 2\r\nC:\n\n'.length);
  assert.equal(getField(h.fields, 'b'), '2');
});

test('header without a body, empty header, header with no final line break', () => {
  assert.equal(parse('A: 1\r\n').bodyStart, 6);
  assert.equal(parse('A: 1').bodyStart, 4);
  assert.equal(parse('\r\nbody').bodyStart, 2);
  assert.equal(parse('\nbody').bodyStart, 1);
  assert.equal(parse('').bodyStart, 0);
});

test('invalid lines are skipped and reported, never thrown', () => {
  const h = parse(
    'From sender@x Thu Aug 22 12:36:23 2002\r\n continuation of nothing?\r\nno colon\r\n: empty name\r\nOK: yes\r\n\r\n',
  );
  assert.deepEqual(h.fields, [{ name: 'OK', value: 'yes' }]);
  assert.ok(h.problems.length > 0);
});

test('8-bit header text: UTF-8 when valid, else Latin-1', () => {
  assert.equal(parse('Subject: caf\u00c3\u00a9\r\n\r\n').fields[0].value, 'café');
  assert.equal(parse('Subject: caf\u00e9\r\n\r\n').fields[0].value, 'caf\u00e9');
  assert.equal(parse('Subject: a\u0000b\r\n\r\n').fields[0].value, 'a\u0000b');
});

test('limits: field count and field length', () => {
  const many = parse('X: 1\r\n'.repeat(50) + '\r\nbody', { maxHeaderFields: 10, maxHeaderLineLength: 100 });
  assert.equal(many.fields.length, 10);
  assert.equal(many.bodyStart, 'X: 1\r\n'.length * 50 + 2);
  const long = parse(`X: ${'a'.repeat(500)}\r\n ${'b'.repeat(500)}\r\n\r\n`, {
    maxHeaderFields: 10,
    maxHeaderLineLength: 100,
  });
  assert.equal(long.fields[0].value.length, 100);
  assert.ok(long.problems.some((p) => p.includes('truncated')));
});
