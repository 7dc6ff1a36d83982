// "Not spam" link tokens: what they name round-trips; another key, another claim, a changed signature or
// an expired token is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { releaseToken, verifyReleaseToken } from './release-token.ts';

test('a release token names its message until it expires, and nothing else', () => {
  const claims = { accountId: 7, mailboxId: 42, uid: 1234, expiresAt: 2_000_000_000_000 };
  const t = releaseToken('key-one', claims);
  assert.deepEqual(verifyReleaseToken('key-one', t, 1_900_000_000_000), claims);
  assert.equal(verifyReleaseToken('key-one', t, 2_000_000_000_000), null, 'expired');
  assert.equal(verifyReleaseToken('key-two', t, 0), null, 'another key');
  assert.equal(verifyReleaseToken('key-one', t.replace(/^7\./, '8.'), 0), null, 'another account');
  assert.equal(verifyReleaseToken('key-one', t.replace('.1234.', '.1235.'), 0), null, 'another message');
  const sig = t.slice(t.lastIndexOf('.') + 1);
  const other = sig[0] === 'a' ? 'b' : 'a';
  assert.equal(verifyReleaseToken('key-one', `${t.slice(0, t.lastIndexOf('.') + 1)}${other}${sig.slice(1)}`, 0), null);
  for (const bad of ['', 'x', `${t}.`, `${t}x`, t.replace(/\.[^.]+$/, '')])
    assert.equal(verifyReleaseToken('key-one', bad, 0), null, bad);
});
