// The stall watchdog logs a loop held past its threshold, with how long.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from './log.ts';
import { watchStalls } from './stalls.ts';

test('a loop held for 600 ms is logged as blocked, with the time', async () => {
  const lines: { level: string; msg: string; blockedMs?: number }[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
      done();
    },
  });
  const stop = watchStalls(createLogger({ destination: sink }), { thresholdMs: 400, everyMs: 100 });
  try {
    // Let the sampling run first (a stall in a running server comes long after the start).
    await new Promise((r) => setTimeout(r, 150));
    const until = Date.now() + 600;
    while (Date.now() < until) {
      // hold the event loop, as a runaway scan would
    }
    await new Promise((r) => setTimeout(r, 400));
  } finally {
    stop();
  }
  const blocked = lines.filter((l) => l.msg === 'event loop blocked');
  assert.ok(blocked.length >= 1, JSON.stringify(lines));
  assert.equal(blocked[0].level, 'warn');
  assert.ok((blocked[0].blockedMs ?? 0) >= 550, JSON.stringify(blocked[0]));
});
