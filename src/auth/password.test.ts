// Password hashing: Argon2id PHC strings that verify, and refuse the wrong password.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hashPassword, verifyPassword } from './password.ts';
import { decodePlain } from './sasl/plain.ts';

test('hashes are Argon2id and verify only the right password', async () => {
  const h = await hashPassword('secret');
  assert.match(h, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.equal(await verifyPassword(h, 'secret'), true);
  assert.equal(await verifyPassword(h, 'Secret'), false);
  assert.equal(await verifyPassword(null, 'secret'), false);
  assert.equal(await verifyPassword('plain-text', 'plain-text'), false, 'only Argon2 hashes are accepted');
});

test('SASL PLAIN decoding (RFC 4616 section 4 examples)', () => {
  assert.deepEqual(decodePlain(Buffer.from('\0tim\0tanstaaftanstaaf').toString('base64')), {
    authzid: '',
    authcid: 'tim',
    password: 'tanstaaftanstaaf',
  });
  assert.deepEqual(decodePlain(Buffer.from('Ursel\0Kurt\0xipj3plmq').toString('base64'))?.authzid, 'Ursel');
  assert.equal(decodePlain('not base64!'), null);
  assert.equal(decodePlain(Buffer.from('only\0two').toString('base64')), null);
  assert.equal(decodePlain(Buffer.from('\0\0pw').toString('base64')), null);
});
