// Duration syntax of config keys such as queue.retry_schedule and queue.lifetime.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';
import { fieldPaths } from './load.ts';

test('durations parse with units and refuse anything else', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('4H'), 14_400_000);
  assert.equal(parseDuration('5d'), 432_000_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('0'), 0);
  for (const bad of ['', '5', 'm5', '5 minutes', '-1s', '1w'])
    assert.throws(() => parseDuration(bad, 'queue.lifetime'), /queue\.lifetime: .* is not a duration/);
});

test('durations print as their two largest units', () => {
  assert.equal(formatDuration(90_061_000), '1d 1h');
  assert.equal(formatDuration(61_000), '1m 1s');
  assert.equal(formatDuration(250), '250ms');
});

test('every key whose default is a duration is marked one in the schema (config check and serve parse those)', () => {
  const isDuration = (v: unknown) => typeof v === 'string' && /^(\d+(\.\d+)?(ms|s|m|h|d)|0)$/i.test(v);
  const unmarked: string[] = [];
  for (const [key, f] of fieldPaths()) {
    const d = f.default;
    const looks = isDuration(d) || (Array.isArray(d) && d.length > 0 && d.every(isDuration));
    if (looks !== !!f.duration) unmarked.push(key);
  }
  assert.deepEqual(unmarked, []);
});
