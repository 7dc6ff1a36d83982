// The reputation sub-store on both backends: evidence accumulates, decays with its half-life on read and
// on write, counts observations, and the digest store counts reports; two nodes share one database.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { freshPgSchema, PG_SKIP_REASON, pgTestUrl } from '../../../test/helpers/pg.ts';
import type { Store } from '../../core/ports.ts';
import { openPostgres } from '../postgres/driver.ts';
import { openSqlite } from '../sqlite/driver.ts';
import { openSqliteStore } from '../sqlite/store.ts';
import type { SqlDriver } from './driver.ts';
import { MIGRATIONS, migrate } from './migrations.ts';
import { openSqlStore } from './store.ts';

const HOUR = 3600_000;
const DAY = 24 * HOUR;
/**
 * A node's digest counts as stored (decayed to each row's last report), with the milliseconds of decay
 * between reports a few milliseconds apart rounded away: for tests of what is counted, not how it fades.
 */
async function whole(s: Store, digests: string[]) {
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return (await s.reputation.digestCounts(digests, 0, DAY)).map((c) => ({ ...c, spam: r(c.spam), ham: r(c.ham) }));
}

type Backend = { open: () => Promise<Store>; cleanup: () => Promise<void> };

async function sqlite(): Promise<Backend> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-rep-'));
  return {
    open: () => openSqliteStore({ path: join(dir, 'petrel.db') }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

async function postgres(): Promise<Backend> {
  const schema = await freshPgSchema(pgTestUrl()!);
  return { open: () => openSqlStore(openPostgres({ url: schema.url })), cleanup: () => schema.drop() };
}

const url = pgTestUrl();
for (const [name, make, skip] of [
  ['sqlite', sqlite, undefined],
  ['postgres', postgres, url ? undefined : PG_SKIP_REASON],
] as const) {
  describe(`reputation store (${name})`, { skip }, () => {
    test('accumulates, counts and decays evidence', async () => {
      const b = await make();
      const store = await b.open();
      try {
        const ip = { kind: 'ip' as const, key: '192.0.2.7' };
        const t0 = 1_700_000_000_000;
        await store.reputation.record([ip, ip], { spam: 1, ham: 0 }, t0, DAY);
        await store.reputation.record([ip], { spam: 1, ham: 0 }, t0, DAY);
        let [e] = await store.reputation.lookup([ip], t0, DAY);
        assert.equal(e.count, 2, 'duplicate keys in one call count once');
        assert.equal(e.spam, 2);
        assert.equal(e.ham, 0);
        // One half-life later, on read: half the evidence; the row itself is unchanged.
        [e] = await store.reputation.lookup([ip], t0 + DAY, DAY);
        assert.ok(Math.abs(e.spam - 1) < 1e-9, `decayed to ${e.spam}`);
        // On write: the old amount decays first, then the new one is added.
        await store.reputation.record([ip], { spam: 0, ham: 3 }, t0 + 2 * DAY, DAY);
        [e] = await store.reputation.lookup([ip], t0 + 2 * DAY, DAY);
        assert.ok(Math.abs(e.spam - 0.5) < 1e-9, `spam ${e.spam}`);
        assert.equal(e.ham, 3);
        assert.equal(e.count, 1.5, 'observations decay as the evidence does: two, two half-lives ago, and one now');
        assert.equal(e.updatedAt, t0 + 2 * DAY);
        assert.ok(Math.abs(e.total - 3.5) < 1e-9, `total ${e.total}: spam + ham when not given`);
        // A verdict that weighs 1 but speaks for ham with only a tenth of it: the total takes the whole.
        await store.reputation.record([ip], { spam: 0, ham: 0.1, total: 1 }, t0 + 2 * DAY, DAY);
        [e] = await store.reputation.lookup([ip], t0 + 3 * DAY, DAY);
        assert.ok(Math.abs(e.ham - 1.55) < 1e-9, `ham ${e.ham}`);
        assert.ok(Math.abs(e.total - 2.25) < 1e-9, `total ${e.total}, decayed with the rest`);
        assert.deepEqual(await store.reputation.lookup([{ kind: 'ip', key: '192.0.2.8' }], t0, DAY), []);
        assert.equal(await store.reputation.prune(t0 + DAY), 0);
        assert.equal(await store.reputation.prune(t0 + 3 * DAY), 1);
        assert.deepEqual(await store.reputation.lookup([ip], t0, DAY), []);
      } finally {
        await store.close();
        await b.cleanup();
      }
    });

    test("an account's judgements count once per key: repeated, changed, renewed after a half-life", async () => {
      const b = await make();
      const store = await b.open();
      try {
        const dkim = { kind: 'dkim' as const, key: 'big.example' };
        const t0 = 1_700_000_000_000;
        const show = async (at: number) => {
          const [e] = await store.reputation.lookup([dkim], at, DAY);
          return { spam: Math.round(e.spam * 100) / 100, ham: Math.round(e.ham * 100) / 100, count: e.count };
        };
        for (let i = 0; i < 3; i++) await store.reputation.vote([dkim], 1, 'spam', 5, t0 + i, DAY);
        assert.deepEqual(await show(t0), { spam: 5, ham: 0, count: 1 }, 'the same account, the same class: once');
        await store.reputation.vote([dkim], 2, 'spam', 5, t0, DAY);
        assert.deepEqual(await show(t0), { spam: 10, ham: 0, count: 2 }, 'another account counts');
        await store.reputation.vote([dkim], 1, 'ham', 5, t0, DAY);
        assert.deepEqual(await show(t0), { spam: 5, ham: 5, count: 2 }, 'a changed mind moves the weight');
        // Two half-lives on, account 2's judgement has decayed to a quarter: judging again renews it to its
        // full weight (one account, one judgement: not 1.25 of one), and one observation again.
        await store.reputation.vote([dkim], 2, 'spam', 5, t0 + 2 * DAY, DAY);
        assert.deepEqual(await show(t0 + 2 * DAY), { spam: 5, ham: 1.25, count: 1.25 });
        // A verdict's ham, then account 1 changes its mind after those two half-lives: what is left of its
        // ham judgement (1.25) goes, not its full weight, which took the verdict's ham with it.
        await store.reputation.record([dkim], { spam: 0, ham: 1 }, t0 + 2 * DAY, DAY);
        await store.reputation.vote([dkim], 1, 'spam', 5, t0 + 2 * DAY, DAY);
        assert.deepEqual(await show(t0 + 2 * DAY), { spam: 10, ham: 1, count: 3 });
        assert.equal(await store.reputation.forget([dkim]), 1);
        await store.reputation.vote([dkim], 1, 'spam', 5, t0 + 2 * DAY, DAY);
        assert.deepEqual(await show(t0 + 2 * DAY), { spam: 5, ham: 0, count: 1 }, 'forget forgets the judgements too');
      } finally {
        await store.close();
        await b.cleanup();
      }
    });

    test("a removed account's judgements are taken back, what is left of them; others' stay", async () => {
      const b = await make();
      const store = await b.open();
      try {
        const dkim = { kind: 'dkim' as const, key: 'gone.example' };
        const t0 = 1_700_000_000_000;
        const show = async (at: number) => {
          const [e] = await store.reputation.lookup([dkim], at, DAY);
          const r = (x: number) => Math.round(x * 100) / 100;
          return { spam: r(e.spam), ham: r(e.ham), total: r(e.total), count: r(e.count) };
        };
        await store.reputation.vote([dkim], 1, 'spam', 5, t0, DAY);
        await store.reputation.record([dkim], { spam: 0, ham: 1 }, t0, DAY);
        await store.reputation.vote([dkim], 2, 'ham', 5, t0 + DAY, DAY);
        await store.reputation.reportDigests(['dd', 'ee'], 'spam', t0, DAY, 1);
        await store.reputation.reportDigests(['dd'], 'spam', t0, DAY, 2);
        await store.reputation.reportDigests(['ee'], 'ham', t0, DAY, 3);
        // A half-life on, account 1's spam judgement weighs 2.5: that, and half an observation, go; and half
        // a report of each digest.
        const opts = { halfLifeMs: DAY, weight: 5, digestHalfLifeMs: DAY };
        assert.equal(await store.reputation.forgetAccount(1, t0 + DAY, opts), 3);
        assert.deepEqual(await show(t0 + DAY), { spam: 0, ham: 5.5, total: 5.5, count: 1.5 });
        const counts = async () =>
          (await store.reputation.digestCounts(['dd', 'ee'], t0 + DAY, DAY)).map((c) => [c.digest, c.spam, c.ham]);
        assert.deepEqual((await counts()).sort(), [
          ['dd', 0.5, 0],
          ['ee', 0, 0.5],
        ]);
        // Nothing left of it: a second call takes nothing, and the account's next judgement counts anew.
        assert.equal(await store.reputation.forgetAccount(1, t0 + DAY, opts), 0);
        await store.reputation.reportDigests(['dd'], 'spam', t0 + DAY, DAY, 1);
        assert.equal((await store.reputation.digestCounts(['dd'], t0 + DAY, DAY))[0].spam, 1.5);
        // Votes on a row forgotten meanwhile make no row again.
        await store.reputation.vote([{ kind: 'ip', key: '192.0.2.99' }], 4, 'spam', 5, t0, DAY);
        await store.reputation.forget([{ kind: 'ip', key: '192.0.2.99' }]);
        await store.reputation.vote([{ kind: 'ip', key: '192.0.2.98' }], 4, 'spam', 5, t0, DAY);
        await store.reputation.forget([{ kind: 'ip', key: '192.0.2.98' }]);
        assert.equal(await store.reputation.forgetAccount(4, t0, opts), 0);
        assert.deepEqual(await store.reputation.lookup([{ kind: 'ip', key: '192.0.2.99' }], t0, DAY), []);
      } finally {
        await store.close();
        await b.cleanup();
      }
    });

    test('digest reports decay as reputation does: renewed after a half-life, a changed mind takes back what is left', async () => {
      const b = await make();
      const store = await b.open();
      try {
        const t0 = 1_700_000_000_000;
        const at = async (now: number) => {
          const [c] = await store.reputation.digestCounts(['ff'], now, DAY);
          return { spam: Math.round(c.spam * 1000) / 1000, ham: Math.round(c.ham * 1000) / 1000, lastSeen: c.lastSeen };
        };
        await store.reputation.reportDigests(['ff'], 'spam', t0, DAY, 1);
        await store.reputation.reportDigests(['ff'], 'spam', t0, DAY, null);
        assert.deepEqual(await at(t0), { spam: 2, ham: 0, lastSeen: t0 });
        // On read: two half-lives on, a quarter of each is left; nothing is written.
        assert.deepEqual(await at(t0 + 2 * DAY), { spam: 0.5, ham: 0, lastSeen: t0 });
        // The same account again within a half-life: nothing; after two, renewed to a whole report.
        await store.reputation.reportDigests(['ff'], 'spam', t0 + DAY / 2, DAY, 1);
        assert.deepEqual(await at(t0), { spam: 2, ham: 0, lastSeen: t0 });
        await store.reputation.reportDigests(['ff'], 'spam', t0 + 2 * DAY, DAY, 1);
        assert.deepEqual(await at(t0 + 2 * DAY), { spam: 1.25, ham: 0, lastSeen: t0 + 2 * DAY });
        // Another account's ham a half-life later, then it changes its mind another half-life on: half of its
        // ham goes, a whole spam report comes.
        await store.reputation.reportDigests(['ff'], 'ham', t0 + 3 * DAY, DAY, 2);
        assert.deepEqual(await at(t0 + 3 * DAY), { spam: 0.625, ham: 1, lastSeen: t0 + 3 * DAY });
        await store.reputation.reportDigests(['ff'], 'spam', t0 + 4 * DAY, DAY, 2);
        assert.deepEqual(await at(t0 + 4 * DAY), { spam: 1.313, ham: 0, lastSeen: t0 + 4 * DAY });
        // Decayed to nothing (20 half-lives): pruned with its votes.
        assert.equal(await store.reputation.prune(0, {}, t0 + 4 * DAY + 1), 3);
        assert.deepEqual(await store.reputation.digestCounts(['ff'], t0, DAY), []);
      } finally {
        await store.close();
        await b.cleanup();
      }
    });

    test('forget deletes exactly the keys given', async () => {
      const b = await make();
      const store = await b.open();
      try {
        const ip = { kind: 'ip' as const, key: '192.0.2.9' };
        const domain = { kind: 'domain' as const, key: '192.0.2.9' };
        const other = { kind: 'ip' as const, key: '192.0.2.10' };
        await store.reputation.record([ip, domain, other], { spam: 2, ham: 0 }, 1000, DAY);
        assert.equal(await store.reputation.forget([ip, ip, { kind: 'from', key: 'nobody@x.test' }]), 1);
        const left = await store.reputation.lookup([ip, domain, other], 1000, DAY);
        assert.deepEqual(left.map((e) => `${e.kind}:${e.key}`).sort(), ['domain:192.0.2.9', 'ip:192.0.2.10']);
        assert.equal(await store.reputation.forget([]), 0);
      } finally {
        await store.close();
        await b.cleanup();
      }
    });

    test('digest store counts spam and ham reports (each account once), shared by a second node', async () => {
      const b = await make();
      const one = await b.open();
      const two = await b.open();
      try {
        await one.reputation.reportDigests(['aa', 'bb', 'aa'], 'spam', 1000, DAY);
        await two.reputation.reportDigests(['aa'], 'spam', 2000, DAY);
        await two.reputation.reportDigests(['bb'], 'ham', 3000, DAY);
        const counts = await whole(one, ['aa', 'bb', 'cc']);
        assert.deepEqual(
          counts.sort((a, b) => a.digest.localeCompare(b.digest)),
          [
            { digest: 'aa', spam: 2, ham: 0, lastSeen: 2000 },
            { digest: 'bb', spam: 1, ham: 1, lastSeen: 3000 },
          ],
        );
        // An account counts once per digest; changing its mind moves its vote; traps (no reporter) each count.
        await one.reputation.reportDigests(['cc'], 'spam', 4000, DAY, 7);
        await two.reputation.reportDigests(['cc'], 'spam', 4001, DAY, 7);
        await one.reputation.reportDigests(['cc'], 'spam', 4002, DAY, 8);
        const cc = async () => (await whole(one, ['cc']))[0];
        assert.deepEqual(await cc(), { digest: 'cc', spam: 2, ham: 0, lastSeen: 4002 });
        await two.reputation.reportDigests(['cc'], 'ham', 4003, DAY, 7);
        assert.deepEqual(await cc(), { digest: 'cc', spam: 1, ham: 1, lastSeen: 4003 });
        await two.reputation.reportDigests(['cc'], 'ham', 4004, DAY, 7);
        await one.reputation.reportDigests(['cc'], 'spam', 4005, DAY, null);
        await one.reputation.reportDigests(['cc'], 'spam', 4006, DAY, null);
        assert.deepEqual(await cc(), { digest: 'cc', spam: 3, ham: 1, lastSeen: 4006 });
        // A vote moved on a digest that also holds reports from before votes were kept (migration 26).
        await one.reputation.reportDigests(['bb'], 'spam', 5000, DAY, 9);
        await one.reputation.reportDigests(['bb'], 'ham', 5001, DAY, 9);
        assert.deepEqual((await whole(one, ['bb']))[0], {
          digest: 'bb',
          spam: 1,
          ham: 2,
          lastSeen: 5001,
        });
        // Pruning forgets old votes with their digests: a later report counts anew.
        await one.reputation.prune(4500);
        assert.deepEqual(await whole(one, ['aa', 'cc']), []);
        await one.reputation.reportDigests(['cc'], 'spam', 6000, DAY, 7);
        assert.deepEqual(await cc(), { digest: 'cc', spam: 1, ham: 0, lastSeen: 6000 });
        // An admin forgets a digest: its counts and the votes on it go; the account may report it anew.
        assert.equal(await two.reputation.forgetDigests(['cc', 'cc', 'zz']), 1);
        assert.deepEqual(await whole(one, ['cc']), []);
        await one.reputation.reportDigests(['cc'], 'spam', 7000, DAY, 7);
        assert.deepEqual(await cc(), { digest: 'cc', spam: 1, ham: 0, lastSeen: 7000 });
        assert.equal(await one.reputation.forgetDigests([]), 0);
        // Both nodes taking one account's report at once (a user's two clients): it counts once.
        await Promise.all(
          Array.from({ length: 10 }, (_, i) =>
            (i % 2 ? one : two).reputation.reportDigests(['race'], 'spam', 8000 + i, DAY, 5),
          ),
        );
        assert.equal((await whole(one, ['race']))[0].spam, 1);
      } finally {
        await one.close();
        await two.close();
        await b.cleanup();
      }
    });
  });
}

/** Rows from before migration 31 kept every observation ever made: their count is bounded by their total. */
async function countMigration(db: SqlDriver): Promise<void> {
  await migrate(
    db,
    MIGRATIONS.filter((m) => m.version <= 30),
  );
  const t0 = 1_700_000_000_000;
  // Seen 400 times long ago (2.5 of weight left), and a fresh row whose count is its total.
  await db.run(
    `INSERT INTO reputation (kind, rkey, spam, ham, total, count, updated_at)
     VALUES ('ip', '192.0.2.1', 2, 0.5, 2.5, 400, ?), ('ip', '192.0.2.2', 3, 0, 3, 3, ?)`,
    [t0, t0],
  );
  const store = await openSqlStore(db);
  try {
    const counts = async () =>
      (
        await store.reputation.lookup(
          [
            { kind: 'ip', key: '192.0.2.1' },
            { kind: 'ip', key: '192.0.2.2' },
          ],
          t0,
          DAY,
        )
      )
        .map((e) => [e.key, e.count])
        .sort();
    assert.deepEqual(await counts(), [
      ['192.0.2.1', 2.5],
      ['192.0.2.2', 3],
    ]);
    // A fraction is kept as it is (a PostgreSQL BIGINT column refused it).
    await store.reputation.record([{ kind: 'ip', key: '192.0.2.2' }], { spam: 1, ham: 0 }, t0 + DAY, DAY);
    const [e] = await store.reputation.lookup([{ kind: 'ip', key: '192.0.2.2' }], t0 + DAY, DAY);
    assert.equal(e.count, 2.5, 'three a half-life ago and one now');
  } finally {
    await store.close();
  }
}

test('migration 31 bounds the counts of old rows by their total (SQLite)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-rep-m-'));
  try {
    await countMigration(openSqlite({ path: join(dir, 'm.db') }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('migration 31 bounds the counts of old rows by their total (PostgreSQL)', {
  skip: url ? undefined : PG_SKIP_REASON,
}, async () => {
  const schema = await freshPgSchema(url!);
  try {
    await countMigration(openPostgres({ url: schema.url }));
  } finally {
    await schema.drop();
  }
});
