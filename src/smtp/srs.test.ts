// SRS addresses: made and reversed, case-folded on the way, refused when forged, tampered or too old.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_AGE_DAYS, Srs } from './srs.ts';

const srs = new Srs('a-secret-of-sufficient-length');
const now = Date.UTC(2026, 10, 28, 12);
const DAY = 86_400_000;

test('an address rewritten into the forwarding domain reverses to the original', () => {
  const a = srs.forward('bob@sender.test', 'example.com', now);
  assert.match(a, /^SRS0=[A-Z2-7]{6}=[A-Z2-7]{2}=sender\.test=bob@example\.com$/);
  const local = a.slice(0, a.lastIndexOf('@'));
  assert.deepEqual(srs.reverse(local, now), { ok: true, address: 'bob@sender.test' });
  // MTAs on the way may change case: base32 survives it.
  assert.deepEqual(srs.reverse(local.toLowerCase(), now + DAY), { ok: true, address: 'bob@sender.test' });
  // A local part with "=" and an address already in SRS form both come back whole.
  for (const orig of ['a=b=c@sender.test', `${local}@example.com`]) {
    const f = srs.forward(orig, 'forward.test', now);
    assert.deepEqual(srs.reverse(f.slice(0, f.lastIndexOf('@')), now), { ok: true, address: orig });
  }
});

test('forged, tampered, foreign-key and expired addresses are refused', () => {
  const a = srs.forward('bob@sender.test', 'example.com', now);
  const local = a.slice(0, a.lastIndexOf('@'));
  assert.equal(srs.reverse(local.replace('=bob', '=eve'), now).ok, false);
  assert.deepEqual(srs.reverse(local.replace('sender.test', 'other.test'), now), { ok: false, reason: 'bad-hash' });
  assert.deepEqual(new Srs('another-secret-entirely').reverse(local, now), { ok: false, reason: 'bad-hash' });
  assert.deepEqual(srs.reverse(local, now + MAX_AGE_DAYS * DAY), { ok: true, address: 'bob@sender.test' });
  assert.deepEqual(srs.reverse(local, now + (MAX_AGE_DAYS + 1) * DAY), { ok: false, reason: 'expired' });
  assert.deepEqual(srs.reverse('SRS0=garbage', now), { ok: false, reason: 'malformed' });
  assert.deepEqual(srs.reverse('bob', now), { ok: false, reason: 'not-srs' });
  assert.throws(() => new Srs('short'));
});
