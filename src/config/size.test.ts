// Size syntax of config keys such as smtp.max_message_size and of `petrel ... --quota`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldPaths } from './load.ts';
import { formatSize, octets } from './size.ts';

test('sizes: octets, or a number with K, M, G or T (B and iB optional), all powers of 1024', () => {
  assert.equal(octets(10485760), 10485760);
  assert.equal(octets('10485760'), 10485760);
  assert.equal(octets('512'), 512);
  assert.equal(octets('100B'), 100);
  assert.equal(octets('64K'), 65536);
  assert.equal(octets('64k'), 65536);
  for (const ten of ['10M', '10 MB', '10MiB', '10 mib', '10m']) assert.equal(octets(ten), 10 * 1024 ** 2, ten);
  assert.equal(octets('1GiB'), 1024 ** 3);
  assert.equal(octets('2T'), 2 * 1024 ** 4);
  assert.equal(octets('1.5M'), 1572864);
  assert.equal(octets('0'), 0);
  for (const bad of ['', 'ten megs', '10 X', 'M', '-1M', '10iB', '10 M B', '1e6', '1.5', 1.5, -3, true])
    assert.equal(octets(bad), null, String(bad));
});

test('defaults are shown in the largest whole unit', () => {
  assert.equal(formatSize(50 * 1024 ** 2), '50M');
  assert.equal(formatSize(128 * 1024), '128K');
  assert.equal(formatSize(2048), '2K');
  assert.equal(formatSize(1000), 1000);
  assert.equal(formatSize(0), 0);
});

test('every key counted in octets is a size in the schema (a unit is accepted wherever octets are)', () => {
  const unmarked = fieldPaths()
    .filter(([, f]) => f.kind === 'int' && /\boctets\b/.test(f.doc) && !/reversed octets/.test(f.doc))
    .filter(([, f]) => !f.size)
    .map(([key]) => key);
  assert.deepEqual(unmarked, []);
});
