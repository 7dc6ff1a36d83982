// Stale sender reputation expires without a scheduler: the reputation sink deletes rows whose evidence has
// decayed to nothing (20 half-lives) on the first message a server learns from after it starts, and every
// thousand after, so a server restarted more often than it receives a thousand messages still prunes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { message, send, startSpamWorld } from './fixture.ts';

const DAY = 86_400_000;
let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({});
});
after(() => f?.stop());

test('rows decayed to nothing are deleted on the first message learned after a start', { timeout: 60000 }, async () => {
  const now = Date.now();
  // A spammer's IP seen a year ago (half_life_days 14: 26 half-lives), and one seen last week.
  const old = { kind: 'ip' as const, key: '198.51.100.66' };
  const recent = { kind: 'ip' as const, key: '198.51.100.67' };
  await f.app.store.reputation.record([old], { spam: 3, ham: 0 }, now - 365 * DAY, 14 * DAY);
  await f.app.store.reputation.record([recent], { spam: 3, ham: 0 }, now - 7 * DAY, 14 * DAY);
  const r = await send(f, {
    ip: '127.0.0.70',
    helo: 'mail.any.test',
    from: 'a@any.test',
    raw: message('a@any.test', 'hi'),
  });
  assert.ok(r.ok, r.response);
  // The verdict is learned after the 250: wait for the client's own row, then look at the others.
  for (let i = 0; i < 100; i++) {
    if ((await f.app.store.reputation.lookup([{ kind: 'ip', key: '127.0.0.70' }], Date.now(), 14 * DAY)).length) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  const left = await f.app.store.reputation.lookup([old, recent], Date.now(), 14 * DAY);
  assert.deepEqual(
    left.map((e) => e.key),
    ['198.51.100.67'],
    'a row last written a year ago (26 half-lives) was still kept after the server learned from a message',
  );
});
