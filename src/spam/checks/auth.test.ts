// pct= sampling of the DMARC policy (RFC 7489 section 6.6.4), with the random number fixed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sampledPolicy } from './auth.ts';

test('pct= applies the policy to that share of failures, the next less strict one to the rest', () => {
  const at = (r: number) => () => r;
  assert.equal(sampledPolicy('reject', 'v=DMARC1; p=reject; pct=50', at(0.49)), 'reject');
  assert.equal(sampledPolicy('reject', 'v=DMARC1; p=reject; pct=50', at(0.5)), 'quarantine');
  assert.equal(sampledPolicy('quarantine', 'v=DMARC1; p=quarantine; pct=0', at(0)), 'none');
  assert.equal(sampledPolicy('reject', 'v=DMARC1; p=reject; pct = 0 ', at(0)), 'quarantine');
  assert.equal(sampledPolicy('none', 'v=DMARC1; p=none; pct=0', at(0)), 'none');
  // No pct=, 100, or a value that is not 0-100: the default, every message.
  for (const rec of [
    'v=DMARC1; p=reject',
    'v=DMARC1; p=reject; pct=100',
    'v=DMARC1; p=reject; pct=abc',
    'v=DMARC1; p=reject; pct=-5',
  ])
    assert.equal(sampledPolicy('reject', rec, at(0.99)), 'reject', rec);
});
