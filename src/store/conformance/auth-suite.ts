// The auth sub-store part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

async function account(s: Store, name = 'alice') {
  const t = (await s.getTenant('default')) ?? (await s.createTenant({ name: 'default' }));
  const d = (await s.getDomain('example.com')) ?? (await s.createDomain({ name: 'example.com', tenantId: t.id }));
  return s.createAccount({
    address: `${name}@example.com`,
    localPart: name,
    domainId: d.id,
    tenantId: t.id,
    passwordHash: 'x',
  });
}

export function authTests(withStore: WithStore): void {
  withStore('auth: app passwords are created, found by hash, listed per account, revoked', async (s) => {
    const a = await account(s);
    const b = await account(s, 'bob');
    const p = await s.auth.createAppPassword({ accountId: a.id, name: 'phone', hash: 'h1', protocols: ['imap'] });
    await s.auth.createAppPassword({ accountId: a.id, name: 'laptop', hash: 'h2', protocols: null });
    assert.deepEqual(p.protocols, ['imap']);
    assert.equal((await s.auth.findAppPassword('h1'))?.name, 'phone');
    assert.equal((await s.auth.findAppPassword('h2'))?.protocols, null);
    assert.deepEqual(
      (await s.auth.listAppPasswords(a.id)).map((x) => x.name),
      ['phone', 'laptop'],
    );
    assert.equal(await s.auth.deleteAppPassword(b.id, p.id), false, 'another account cannot revoke it');
    await s.auth.touchAppPassword(p.id, 1234);
    assert.equal((await s.auth.findAppPassword('h1'))?.lastUsedAt, 1234);
    assert.equal(await s.auth.deleteAppPassword(a.id, p.id), true);
    assert.equal(await s.auth.findAppPassword('h1'), undefined);
  });

  withStore('auth: secrets default empty; SCRAM and TOTP set independently; recovery codes used once', async (s) => {
    const a = await account(s);
    assert.deepEqual(await s.auth.getSecrets(a.id), {
      scramSha256: null,
      totpSecret: null,
      totpEnabled: false,
      recoveryCodes: [],
    });
    await s.auth.setScram(a.id, '4096:salt:sk:svk');
    await s.auth.setTotp(a.id, { secret: 'JBSWY3DPEHPK3PXP', enabled: true, recoveryCodes: ['c1', 'c2'] });
    const sec = await s.auth.getSecrets(a.id);
    assert.equal(sec.scramSha256, '4096:salt:sk:svk');
    assert.equal(sec.totpEnabled, true);
    assert.deepEqual(sec.recoveryCodes, ['c1', 'c2']);
    assert.equal(await s.auth.useRecoveryCode(a.id, 'c1'), true);
    assert.equal(await s.auth.useRecoveryCode(a.id, 'c1'), false);
    assert.equal(await s.auth.useRecoveryCode(a.id, 'nope'), false);
    assert.deepEqual((await s.auth.getSecrets(a.id)).recoveryCodes, ['c2']);
    await s.auth.setTotp(a.id, { secret: null, enabled: true, recoveryCodes: [] });
    const off = await s.auth.getSecrets(a.id);
    assert.equal(off.totpEnabled, false, 'no secret, no second factor');
    assert.equal(off.scramSha256, '4096:salt:sk:svk');
  });

  withStore('auth: deleting the account deletes its app passwords and secrets', async (s) => {
    const a = await account(s);
    await s.auth.createAppPassword({ accountId: a.id, name: 'x', hash: 'hx', protocols: null });
    await s.auth.setScram(a.id, 'v');
    await s.deleteAccount(a.id);
    assert.equal(await s.auth.findAppPassword('hx'), undefined);
    assert.equal((await s.auth.getSecrets(a.id)).scramSha256, null);
  });
}
