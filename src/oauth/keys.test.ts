// The provider's keys are made once and read back the same (also by a second store on the same file).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { providerKeys } from './keys.ts';

test('signing and cookie keys are generated once and persist', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-oauth-keys-'));
  try {
    const path = join(dir, 'petrel.db');
    const a = await openSqliteStore({ path });
    const k1 = await providerKeys(a.oauth);
    await a.close();
    const b = await openSqliteStore({ path });
    const k2 = await providerKeys(b.oauth);
    await b.close();
    assert.deepEqual(k2, k1);
    assert.equal(k1.jwks.keys[0].alg, 'RS256');
    assert.ok(k1.jwks.keys[0].d, 'the private part is kept (the provider publishes only the public one)');
    assert.equal(Buffer.from(k1.cookieKeys[0], 'base64url').length, 32);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
