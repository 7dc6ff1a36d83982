// A running server logs when its event loop was held past server.stall_warning_ms (every connection
// waits while it is), and says nothing with the watch off. The hold is made in this process, which
// hosts both servers, as a runaway scan in a check would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { captureLog } from '../helpers/log-capture.ts';
import { startTestServer } from '../helpers/server.ts';

const capture = () => captureLog<{ msg: string; level: string; blockedMs?: number }>();

test('a held event loop is logged with how long; stall_warning_ms = 0 logs nothing', async () => {
  const on = capture();
  const off = capture();
  const watched = await startTestServer({ logTo: on.stream, configure: (c) => (c.server.stall_warning_ms = 300) });
  const unwatched = await startTestServer({ logTo: off.stream, configure: (c) => (c.server.stall_warning_ms = 0) });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const until = Date.now() + 700;
    while (Date.now() < until) {
      // hold the loop
    }
    // The watch reports every 5 s.
    const deadline = Date.now() + 8000;
    while (!on.lines.some((l) => l.msg === 'event loop blocked') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
    const blocked = on.lines.find((l) => l.msg === 'event loop blocked');
    assert.ok(blocked, 'the watched server logged the stall');
    assert.equal(blocked.level, 'warn');
    assert.ok((blocked.blockedMs ?? 0) >= 600, JSON.stringify(blocked));
    assert.equal(off.lines.filter((l) => l.msg === 'event loop blocked').length, 0);
  } finally {
    await Promise.all([watched.stop(), unwatched.stop()]);
  }
});
