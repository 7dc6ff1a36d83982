// The brute-force limiter: per-IP lockout, per-account lockout that spares known-good IPs, growing delay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthLimiter } from './limiter.ts';

const opts = {
  maxFailuresPerIp: 3,
  maxFailuresPerAccount: 5,
  windowMs: 60_000,
  lockoutMs: 120_000,
  delayMs: 100,
  maxDelayMs: 250,
};

test('an IP is locked after too many failures, until the lockout ends', () => {
  let now = 0;
  const l = new AuthLimiter(opts, () => now);
  assert.equal(l.delay('1.1.1.1'), 100);
  l.failure('1.1.1.1', 'a@x');
  assert.equal(l.delay('1.1.1.1'), 100);
  l.failure('1.1.1.1', 'a@x');
  assert.equal(l.delay('1.1.1.1'), 200);
  assert.equal(l.locked('1.1.1.1', 'a@x', true), null);
  l.failure('1.1.1.1', 'b@x');
  assert.equal(l.delay('1.1.1.1'), 250, 'capped');
  assert.equal(l.locked('1.1.1.1', 'anyone@x', false), 'ip', 'locked for tokens too');
  assert.equal(l.locked('2.2.2.2', 'a@x', true), null, 'another IP is not');
  now += 120_001;
  assert.equal(l.locked('1.1.1.1', 'a@x', true), null);
});

test('an account under distributed attack is locked for passwords, except from its known-good IPs', () => {
  let now = 0;
  const l = new AuthLimiter(opts, () => now);
  l.success('9.9.9.9', 'Victim@x');
  for (let i = 0; i < 5; i++) l.failure(`10.0.0.${i}`, 'victim@x');
  assert.equal(l.locked('10.0.0.99', 'victim@x', true), 'account');
  assert.equal(l.locked('10.0.0.99', ' Victim@x\t', true), 'account', 'the name as the account lookup reads it');
  assert.equal(l.locked('10.0.0.99', 'victim@x', false), null, 'bearer tokens still work');
  assert.equal(l.locked('9.9.9.9', 'VICTIM@x', true), null, 'the owner’s known-good IP still works');
  now += 61_000;
  assert.equal(l.locked('10.0.0.99', 'victim@x', true), 'account', 'the lockout outlives the window');
  now += 120_000;
  assert.equal(l.locked('10.0.0.99', 'victim@x', true), null);
});

test('failures older than the window are forgotten; tables are bounded', () => {
  let now = 0;
  const l = new AuthLimiter({ ...opts, maxEntries: 10 }, () => now);
  l.failure('1.1.1.1', null);
  l.failure('1.1.1.1', null);
  now += 60_001;
  l.failure('1.1.1.1', null);
  assert.equal(l.locked('1.1.1.1', null, true), null);
  for (let i = 0; i < 100; i++) l.failure(`10.1.0.${i}`, `u${i}@x`);
  assert.equal(l.locked('10.1.0.99', null, true), null);
});

test('an IPv6 client is counted by its /64, an IPv4 client by its address', () => {
  const l = new AuthLimiter(opts, () => 0);
  for (let i = 1; i <= 3; i++) l.failure(`2001:db8:1:2::${i}`, null);
  assert.equal(l.locked('2001:db8:1:2:a:b:c:d', null, true), 'ip', 'another address of the same /64');
  assert.equal(l.delay('2001:DB8:1:2::99'), 250);
  assert.equal(l.locked('2001:db8:1:3::1', null, true), null, 'the next /64');
  // Known-good is per /64 too; IPv4 addresses are not grouped (five failures in one /24 lock no IP).
  l.success('2001:db8:5:6::1', 'owner@x');
  for (let i = 0; i < 5; i++) l.failure(`10.0.0.${i}`, 'owner@x');
  assert.equal(l.locked('10.0.0.99', null, true), null);
  assert.equal(l.locked('10.0.0.99', 'owner@x', true), 'account');
  assert.equal(l.locked('2001:db8:5:6::2', 'owner@x', true), null, 'the owner’s /64');
});
