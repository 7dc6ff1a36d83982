// The directory cache: repeated lookups are served from memory, local changes show at once, others within the TTL.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { withDirectoryCache } from './cache.ts';

test('domains and tenants are cached briefly; changes through the cache clear it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-cache-'));
  const raw = await openSqliteStore({ path: join(dir, 'p.db') });
  try {
    const store = withDirectoryCache(raw, 300);
    const t = await store.createTenant({ name: 'acme' });
    const d = await store.createDomain({ name: 'acme.test', tenantId: t.id });
    assert.equal((await store.getDomain('ACME.test'))?.quotaBytes, null);
    await store.updateDomainQuota(d.id, 1000, null);
    assert.equal((await store.getDomain('acme.test'))?.quotaBytes, 1000, 'a change through the cache shows at once');
    // A change behind the cache's back (another node) shows once the entry expires.
    await raw.updateDomainQuota(d.id, 2000, null);
    assert.equal((await store.getDomain('acme.test'))?.quotaBytes, 1000);
    await new Promise((r) => setTimeout(r, 350));
    assert.equal((await store.getDomain('acme.test'))?.quotaBytes, 2000);
    assert.equal((await store.getTenant(t.id))?.name, 'acme');
    assert.equal(await store.getDomain('missing.test'), undefined);
    await store.createDomain({ name: 'missing.test', tenantId: t.id });
    assert.ok(await store.getDomain('missing.test'), 'a cached miss is cleared by a local create');
  } finally {
    await raw.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
