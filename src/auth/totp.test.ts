// TOTP codes against RFC 6238 Appendix B's test vectors (SHA-1 secret, 8 digits there; 6 here = last 6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Secret } from 'otpauth';
import {
  hashRecoveryCode,
  looksLikeRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  totpCode,
  totpStep,
  totpUri,
} from './totp.ts';

const RFC_SECRET = Secret.fromLatin1('12345678901234567890').base32;

test('codes match RFC 6238 Appendix B (SHA-1, last 6 digits)', () => {
  // Time (s) -> TOTP (8 digits) from the RFC's table.
  for (const [t, code] of [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
  ] as const) {
    assert.equal(totpCode(RFC_SECRET, t * 1000), code.slice(2));
    assert.equal(totpStep(RFC_SECRET, code.slice(2), t * 1000), Math.floor(t / 30));
  }
});

test('one step either side is accepted, two are not; garbage is refused', () => {
  const s = newTotpSecret();
  const now = 1_700_000_000_000;
  assert.equal(totpStep(s, totpCode(s, now - 30_000), now), Math.floor(now / 30_000) - 1);
  assert.equal(totpStep(s, totpCode(s, now + 30_000), now), Math.floor(now / 30_000) + 1);
  assert.equal(totpStep(s, totpCode(s, now - 90_000), now), null);
  assert.equal(totpStep(s, 'abcdef', now), null);
  assert.equal(totpStep(s, '1234567', now), null);
});

test('the otpauth URI names issuer, account and secret', () => {
  const s = newTotpSecret();
  assert.equal(s.length, 32);
  const u = new URL(totpUri(s, 'Petrel', 'alice@example.com'));
  assert.equal(u.protocol, 'otpauth:');
  assert.equal(u.searchParams.get('secret'), s);
  assert.equal(u.searchParams.get('issuer'), 'Petrel');
  assert.match(decodeURIComponent(u.pathname), /alice@example\.com/);
});

test('recovery codes: ten distinct, hashed without dashes or case', () => {
  const codes = newRecoveryCodes();
  assert.equal(new Set(codes).size, 10);
  for (const c of codes) assert.ok(looksLikeRecoveryCode(c));
  assert.equal(hashRecoveryCode(codes[0]), hashRecoveryCode(codes[0].toUpperCase().replace(/-/g, ' ')));
  assert.notEqual(hashRecoveryCode(codes[0]), hashRecoveryCode(codes[1]));
  assert.ok(!looksLikeRecoveryCode('123456'));
});
