// The oauth sub-store part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { Store } from '../../core/ports.ts';
import type { StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

const base = { grantId: null, userCode: null, uid: null };

export function oauthTests(withStore: WithStore): void {
  withStore('oauth: models are stored, replaced, found by id, user code and uid, and expire', async (s) => {
    const now = 1_000_000;
    await s.oauth.upsertModel({
      ...base,
      kind: 'Session',
      id: 's1',
      payload: '{"a":1}',
      uid: 'u1',
      expiresAt: now + 10,
    });
    await s.oauth.upsertModel({
      ...base,
      kind: 'Session',
      id: 's1',
      payload: '{"a":2}',
      uid: 'u1',
      expiresAt: now + 10,
    });
    await s.oauth.upsertModel({
      ...base,
      kind: 'DeviceCode',
      id: 'd1',
      payload: '{}',
      userCode: 'ABCD',
      expiresAt: null,
    });
    assert.equal((await s.oauth.findModel('Session', 's1', now))?.payload, '{"a":2}');
    assert.equal(await s.oauth.findModel('AccessToken', 's1', now), undefined, 'the kind is part of the key');
    assert.equal((await s.oauth.findModelByUid('Session', 'u1', now))?.id, 's1');
    assert.equal((await s.oauth.findModelByUserCode('DeviceCode', 'ABCD', now))?.id, 'd1');
    assert.equal(await s.oauth.findModel('Session', 's1', now + 10), undefined, 'expired at its expiry');
    assert.equal(await s.oauth.purgeExpired(now + 10), 1);
    assert.ok(await s.oauth.findModel('DeviceCode', 'd1', now + 10 ** 9), 'no expiry: never expires');
  });

  withStore("oauth: an account's models are revoked together, by the account id in their payload", async (s) => {
    const put = (kind: string, id: string, payload: unknown) =>
      s.oauth.upsertModel({ ...base, kind, id, payload: JSON.stringify(payload), expiresAt: null });
    await put('Session', 's7', { accountId: '7', uid: 'x' });
    await put('RefreshToken', 'r7', { accountId: '7', grantId: 'g' });
    await put('PetrelAccountSession', 'p7', { accountId: 7 });
    await put('Session', 's70', { accountId: '70' });
    await put('Grant', 'g8', { accountId: '8', note: '"accountId":"7"' });
    await put('Interaction', 'i1', { session: { accountId: '7' } });
    assert.equal(await s.oauth.revokeAccount(7), 3);
    for (const [kind, id] of [
      ['Session', 's70'],
      ['Grant', 'g8'],
      ['Interaction', 'i1'],
    ])
      assert.ok(await s.oauth.findModel(kind, id, 0), `${kind} ${id} kept`);
    assert.equal(await s.oauth.findModel('Session', 's7', 0), undefined);
    // The session that asks (turning two-factor on at /account) may stay.
    await put('PetrelAccountSession', 'p7', { accountId: 7 });
    await put('PetrelAccountSession', 'q7', { accountId: 7 });
    assert.equal(await s.oauth.revokeAccount(7, { kind: 'PetrelAccountSession', id: 'p7' }), 1);
    assert.ok(await s.oauth.findModel('PetrelAccountSession', 'p7', 0), 'the kept one');
    assert.equal(await s.oauth.findModel('PetrelAccountSession', 'q7', 0), undefined);
  });

  withStore('oauth: consumption is recorded; a grant revokes its tokens; destroy removes one', async (s) => {
    await s.oauth.upsertModel({
      ...base,
      kind: 'AuthorizationCode',
      id: 'c1',
      payload: '{}',
      grantId: 'g1',
      expiresAt: null,
    });
    await s.oauth.upsertModel({
      ...base,
      kind: 'AccessToken',
      id: 't1',
      payload: '{}',
      grantId: 'g1',
      expiresAt: null,
    });
    await s.oauth.upsertModel({
      ...base,
      kind: 'AccessToken',
      id: 't2',
      payload: '{}',
      grantId: 'g2',
      expiresAt: null,
    });
    assert.equal((await s.oauth.findModel('AuthorizationCode', 'c1', 0))?.consumedAt, null);
    assert.equal(await s.oauth.consumeModel('AuthorizationCode', 'c1', 42), true);
    assert.equal(await s.oauth.consumeModel('AuthorizationCode', 'c1', 43), false, 'used once');
    assert.equal((await s.oauth.findModel('AuthorizationCode', 'c1', 0))?.consumedAt, 42);
    assert.equal(await s.oauth.revokeGrant('g1'), 2);
    assert.equal(await s.oauth.findModel('AccessToken', 't1', 0), undefined);
    assert.ok(await s.oauth.findModel('AccessToken', 't2', 0));
    await s.oauth.destroyModel('AccessToken', 't2');
    assert.equal(await s.oauth.findModel('AccessToken', 't2', 0), undefined);
  });

  withStore('oauth: a secret is made once (the first candidate wins)', async (s) => {
    assert.equal(await s.oauth.ensureSecret('jwks', 'first'), 'first');
    assert.equal(await s.oauth.ensureSecret('jwks', 'second'), 'first');
  });

  withStore('oauth: a TOTP step is accepted once, and never an older one after it', async (s) => {
    const t = (await s.getTenant('default')) ?? (await s.createTenant({ name: 'default' }));
    const d = await s.createDomain({ name: 'example.org', tenantId: t.id });
    const a = await s.createAccount({
      address: 'x@example.org',
      localPart: 'x',
      domainId: d.id,
      tenantId: t.id,
      passwordHash: 'x',
    });
    assert.equal(await s.oauth.claimTotpStep(a.id, 100), true);
    assert.equal(await s.oauth.claimTotpStep(a.id, 100), false, 'replay');
    assert.equal(await s.oauth.claimTotpStep(a.id, 99), false, 'older step');
    assert.equal(await s.oauth.claimTotpStep(a.id, 101), true);
  });
}
