// The keys sub-store part of the store conformance suite (DKIM keys, ACME state): every backend runs these.
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

export function keysTests(withStore: WithStore): void {
  withStore('keys: DKIM keys per domain and selector, oldest first, replaced only when asked', async (s, f) => {
    const k = { domain: 'example.com', selector: 'b', privateKey: 'PEM-1', createdAt: 2000 };
    assert.equal(await s.keys.putDkimKey(k, false), true);
    assert.equal(await s.keys.putDkimKey({ ...k, privateKey: 'PEM-2' }, false), false, 'the selector is taken');
    assert.equal(await s.keys.putDkimKey({ ...k, selector: 'a', createdAt: 3000 }, false), true);
    assert.equal(await s.keys.putDkimKey({ ...k, domain: 'example.org' }, false), true);
    const s2 = await f.openSecond();
    try {
      assert.deepEqual(
        (await s2.keys.dkimKeys('example.com')).map((x) => [x.selector, x.privateKey, x.createdAt]),
        [
          ['b', 'PEM-1', 2000],
          ['a', 'PEM-1', 3000],
        ],
      );
      assert.equal(await s2.keys.putDkimKey({ ...k, privateKey: 'PEM-3', createdAt: 4000 }, true), true);
    } finally {
      await s2.close();
    }
    assert.deepEqual(
      (await s.keys.dkimKeys('example.com')).map((x) => x.privateKey),
      ['PEM-1', 'PEM-3'],
    );
    assert.equal(await s.keys.removeDkimKey('example.com', 'a'), true);
    assert.equal(await s.keys.removeDkimKey('example.com', 'a'), false);
    assert.deepEqual(
      (await s.keys.dkimKeys('example.com')).map((x) => x.selector),
      ['b'],
    );
  });

  withStore(
    'keys: ACME entries by name and prefix (LIKE wildcards taken literally); old ones pruned by prefix',
    async (s) => {
      assert.equal(await s.keys.getAcme('account-key'), null);
      await s.keys.putAcme('account-key', 'K1', 100);
      await s.keys.putAcme('account-key', 'K2', 200);
      assert.deepEqual(await s.keys.getAcme('account-key'), { name: 'account-key', value: 'K2', updatedAt: 200 });
      await s.keys.putAcme('http-01:t_1', 'a', 100);
      await s.keys.putAcme('http-01:t%2', 'b', 300);
      await s.keys.putAcme('http-01x', 'c', 100);
      assert.deepEqual(
        (await s.keys.listAcme('http-01:')).map((e) => e.name),
        ['http-01:t%2', 'http-01:t_1'],
      );
      assert.deepEqual(
        (await s.keys.listAcme('http-01:t_')).map((e) => e.name),
        ['http-01:t_1'],
      );
      assert.equal(await s.keys.deleteAcme('http-01:', 200), 1, 'only the entry not updated since 200');
      assert.deepEqual(
        (await s.keys.listAcme('http-01')).map((e) => e.name),
        ['http-01:t%2', 'http-01x'],
      );
      assert.equal(await s.keys.deleteAcme('http-01:t%2'), 1);
      assert.equal(await s.keys.deleteAcme('http-01:t%2'), 0);
    },
  );
}
