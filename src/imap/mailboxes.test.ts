// LIST pattern matching (RFC 9051 section 6.3.9): `*` and `%` against names, checked against a reference
// regex on random short inputs, and the patterns that made the old regex backtrack exponentially.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { patternMatcher } from './mailboxes.ts';

/** The reference: the pattern as a regex (fine on short names; exponential on hostile ones). */
function reference(pattern: string, name: string): boolean {
  const p = /^inbox(\/|$)/i.test(pattern) ? `INBOX${pattern.slice(5)}` : pattern;
  let re = '^';
  for (const ch of p) re += ch === '*' ? '.*' : ch === '%' ? '[^/]*' : ch.replace(/[\\^$.|?+()[\]{}]/g, '\\$&');
  return new RegExp(`${re}$`, 's').test(name);
}

test('LIST patterns: the same answers as the regex reference on random patterns and names', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const pick = (alphabet: string, max: number) =>
    Array.from({ length: rnd(max + 1) }, () => alphabet[rnd(alphabet.length)]).join('');
  for (let i = 0; i < 20_000; i++) {
    const pattern = pick('ab/*%.é', 7);
    const name = pick('ab/.é', 8);
    assert.equal(patternMatcher(pattern)(name), reference(pattern, name), `${pattern} ~ ${name}`);
  }
});

test('LIST patterns: % stops at the delimiter, * does not, INBOX is case-insensitive', () => {
  assert.equal(patternMatcher('*a%')('a/a'), true);
  assert.equal(patternMatcher('%')('a/b'), false);
  assert.equal(patternMatcher('*')('a/b'), true);
  assert.equal(patternMatcher('a/%')('a/b'), true);
  assert.equal(patternMatcher('inbox/%')('INBOX/x'), true);
  assert.equal(patternMatcher('')(''), true);
  assert.equal(patternMatcher('')('a'), false);
});

test('LIST patterns that backtrack exponentially as a regex are answered at once', () => {
  // As a regex, "*a" x 8 + "b" took 47 s against 60 "a"s; 500 repetitions would never end.
  const name = 'a'.repeat(500);
  assert.equal(patternMatcher(`${'*a'.repeat(500)}b`)(name), false);
  assert.equal(patternMatcher(`${'%a'.repeat(250)}*`)(name), true);
  assert.equal(patternMatcher(`${'*%'.repeat(1000)}a`)(name), true);
});
