// Per-minute limits: counting per key, windows that end, and a flood of distinct keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PerMinuteLimit } from './rate.ts';

test('per key and per minute; a new minute starts over; 0 is no limit', () => {
  const l = new PerMinuteLimit(2);
  assert.deepEqual([l.allow('a', 0), l.allow('a', 1), l.allow('a', 2), l.allow('b', 3)], [true, true, false, true]);
  assert.equal(l.allow('a', 60_000), true);
  const none = new PerMinuteLimit(0);
  for (let i = 0; i < 1000; i++) assert.equal(none.allow('a', 0), true);
});

test('a flood of distinct keys: ended windows are dropped, live ones are swept only per doubling', () => {
  const l = new PerMinuteLimit(5);
  // 300,000 distinct keys within one minute: every sweep finds nothing to drop. One sweep per new key
  // past 100,000 (100,000+ entries each) would be 2 x 10^10 steps; one per doubling is two sweeps.
  for (let i = 0; i < 300_000; i++) l.allow(`k${i}`, 1000);
  assert.equal(l.size, 300_000);
  assert.equal(l.sweeps, 2);
  // A minute later the next new key sweeps the ended windows away.
  l.allow('late', 200_000);
  assert.equal(l.size, 1);
});
