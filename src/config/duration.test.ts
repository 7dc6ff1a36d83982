// Duration syntax of config keys such as queue.retry_schedule and queue.lifetime.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, parseDuration } from './duration.ts';

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
