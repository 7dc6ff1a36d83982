// A sender's observations fade with its evidence (spam.reputation.half_life_days), on SQLite and PostgreSQL,
// over SMTP: a client the store saw a hundred times half a year ago, and once today, is as new as a client
// seen once today (no REPUTATION_IP_* symbol below min_observations); the count used to be kept forever,
// so one fresh verdict after a long silence scored as if the sender were well known. Time is moved through
// the store's own clock: the old evidence is recorded at a past `now`.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { message, newestVerdict, send, startSpamWorld, USER } from './fixture.ts';

const DAY = 86_400_000;
const HALF_LIFE = 14 * DAY; // the default spam.reputation.half_life_days

/** The REPUTATION_IP_* symbols of the verdict of one message sent from `ip`. */
async function ipSymbols(f: OutboundFixture, ip: string, subject: string): Promise<string[]> {
  const r = await send(f, { ip, helo: 'mail.any.test', from: 'a@any.test', raw: message('a@any.test', subject) });
  assert.ok(r.ok, r.response);
  const { symbols } = await newestVerdict(f, USER);
  return Object.entries(symbols)
    .filter(([name]) => name.startsWith('REPUTATION_IP_'))
    .map(([name, score]) => `${name}=${score}`);
}

const url = pgTestUrl();
for (const [backend, skip] of [
  ['sqlite', undefined],
  ['postgres', url ? undefined : PG_SKIP_REASON],
] as const) {
  describe(`reputation observations decay (${backend})`, { skip }, () => {
    let f: OutboundFixture;
    before(async () => {
      f = await startSpamWorld({ backend, pgUrl: url });
    });
    after(() => f?.stop());

    test('a sender seen often long ago and once today is new again', { timeout: 60000 }, async () => {
      const rep = f.app.store.reputation;
      const now = Date.now();
      // Six spam verdicts this morning: past min_observations (5), the IP is condemned.
      const known = { kind: 'ip' as const, key: '127.0.0.81' };
      for (let i = 0; i < 6; i++) await rep.record([known], { spam: 1, ham: 0 }, now - 3600_000 + i, HALF_LIFE);
      assert.deepEqual(await ipSymbols(f, '127.0.0.81', 'fresh'), ['REPUTATION_IP_BAD=2.57']);

      // A hundred spam verdicts 200 days ago (about 14 half-lives: not yet pruned, 20 are), then one this
      // morning: what is left of the hundred is 0.01 of an observation, so the sender has been seen about
      // once, like a new one.
      const returning = { kind: 'ip' as const, key: '127.0.0.82' };
      await rep.record([returning], { spam: 100, ham: 0 }, now - 200 * DAY, HALF_LIFE, 100);
      await rep.record([returning], { spam: 1, ham: 0 }, now - 3600_000, HALF_LIFE);
      assert.deepEqual(
        await ipSymbols(f, '127.0.0.82', 'returning'),
        [],
        'one verdict today condemned a sender whose hundred observations were 200 days old',
      );

      // The same for a sender seen once today only: nothing either way.
      const fresh = { kind: 'ip' as const, key: '127.0.0.83' };
      await rep.record([fresh], { spam: 1, ham: 0 }, now - 3600_000, HALF_LIFE);
      assert.deepEqual(await ipSymbols(f, '127.0.0.83', 'new'), []);
    });
  });
}
