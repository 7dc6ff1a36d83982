// The PARTIAL range grammar (RFC 9394 section 4) with the RFC's own ranges, and the pages it picks.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPartialRange, type PartialRange, parsePartialRange, partialPage } from './partial.ts';

test('parses the ranges of RFC 9394 sections 3.1 and 3.3', () => {
  const cases: [string, PartialRange, string][] = [
    ['1:500', { fromEnd: false, from: 1, to: 500 }, '1:500'],
    ['23500:24000', { fromEnd: false, from: 23500, to: 24000 }, '23500:24000'],
    ['-1:-100', { fromEnd: true, from: 1, to: 100 }, '-1:-100'],
    ['-1:-3', { fromEnd: true, from: 1, to: 3 }, '-1:-3'],
    // "A range 500:400 is the same as 400:500."
    ['500:400', { fromEnd: false, from: 400, to: 500 }, '400:500'],
    ['-100:-1', { fromEnd: true, from: 1, to: 100 }, '-1:-100'],
    ['7:7', { fromEnd: false, from: 7, to: 7 }, '7:7'],
    ['1:4294967295', { fromEnd: false, from: 1, to: 4294967295 }, '1:4294967295'],
  ];
  for (const [text, range, shown] of cases) {
    assert.deepEqual(parsePartialRange(text), range, text);
    assert.equal(formatPartialRange(range), shown, text);
  }
});

test('refuses what the grammar does not allow, saying why', () => {
  const cases: [string, RegExp][] = [
    ['0:5', /start at 1/],
    ['-0:-5', /start at 1/],
    ['1:00', /start at 1/],
    ['01:5', /leading zero/],
    ['1:4294967296', /at most 4294967295/],
    ['1:18446744073709551617', /at most 4294967295/],
    ['1:-5', /mixes positive and negative/],
    ['-1:5', /mixes positive and negative/],
    ['1:*', /not n:m/],
    ['*:1', /not n:m/],
    ['5', /not n:m/],
    ['1:2:3', /not n:m/],
    ['1,2', /not n:m/],
    ['', /not n:m/],
    ['--1:-2', /not n:m/],
    ['+1:2', /not n:m/],
  ];
  for (const [text, why] of cases) {
    const r = parsePartialRange(text);
    assert.equal(typeof r, 'string', text);
    assert.match(r as string, why, text);
  }
});

test('pages from the start and from the end, short or empty past either end', () => {
  const list = [10, 11, 12, 13, 14, 15];
  const page = (t: string) => partialPage(parsePartialRange(t) as PartialRange, list);
  assert.deepEqual(page('1:2'), [10, 11]);
  assert.deepEqual(page('5:10'), [14, 15]);
  assert.deepEqual(page('7:10'), []);
  assert.deepEqual(page('-1:-2'), [14, 15]);
  assert.deepEqual(page('-3:-3'), [13]);
  assert.deepEqual(page('-5:-10'), [10, 11]);
  assert.deepEqual(page('-7:-10'), []);
  assert.deepEqual(page('1:4294967295'), list);
  assert.deepEqual(partialPage({ fromEnd: true, from: 1, to: 3 }, []), []);
});
