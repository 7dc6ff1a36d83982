// The configuration reference in README.md is the one the schema generates (run `npm run docs` after a change).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { withReference } from './update-readme.ts';

test('README.md carries the current configuration reference', () => {
  const text = readFileSync('README.md', 'utf8');
  assert.equal(text, withReference(text), 'README.md is stale: run npm run docs');
});
