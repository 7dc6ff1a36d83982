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

test('the failure delay doubles with each failure from an IP, up to the cap (Dovecot: 2, 4, 8, 15 s)', () => {
  const l = new AuthLimiter({ ...opts, maxFailuresPerIp: 100, delayMs: 2000, maxDelayMs: 15_000 }, () => 0);
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    l.failure('1.1.1.1', null);
    delays.push(l.delay('1.1.1.1'));
  }
  assert.deepEqual(delays, [2000, 4000, 8000, 15_000, 15_000, 15_000]);
  // However many failures, the delay is a number at the cap (no overflow to Infinity or NaN).
  for (let i = 0; i < 2000; i++) l.failure('1.1.1.1', null);
  assert.equal(l.delay('1.1.1.1'), 15_000);
  const none = new AuthLimiter({ ...opts, maxFailuresPerIp: 10_000, delayMs: 0 }, () => 0);
  for (let i = 0; i < 2000; i++) none.failure('1.1.1.1', null);
  assert.equal(none.delay('1.1.1.1'), 0, 'no delay configured: none, however many failures');
});

test('a success from an IP resets its delay, not its lockout count nor any account’s failures', () => {
  let now = 0;
  const l = new AuthLimiter({ ...opts, maxFailuresPerIp: 6, delayMs: 100, maxDelayMs: 10_000 }, () => now);
  // Someone at 1.1.1.1 who owns mallory@x guesses alice@x's password, signing in as mallory between guesses.
  for (let i = 0; i < 4; i++) l.failure('1.1.1.1', 'alice@x');
  assert.equal(l.delay('1.1.1.1'), 800);
  now += 1000;
  l.success('1.1.1.1', 'mallory@x');
  assert.equal(l.delay('1.1.1.1'), 100, 'the penalty starts again, as Dovecot’s does');
  l.failure('1.1.1.1', 'alice@x');
  assert.equal(l.delay('1.1.1.1'), 100, 'the first failure since the success');
  assert.equal(l.locked('1.1.1.1', null, true), null, 'five failures: the IP is not locked yet');
  l.failure('1.1.1.1', 'alice@x');
  assert.equal(l.delay('1.1.1.1'), 200);
  assert.equal(l.locked('1.1.1.1', 'mallory@x', true), 'ip', 'six failures in the window lock the IP all the same');
  // The six guesses at alice@x all count towards her account's lockout: mallory's success reset none of them,
  // and neither does alice's own (her known-good IP is what spares her; see the limiter's header).
  assert.equal(l.locked('10.0.0.99', 'alice@x', true), 'account');
  l.success('9.9.9.9', 'alice@x');
  assert.equal(l.locked('10.0.0.99', 'alice@x', true), 'account', 'still locked for IPs that never signed her in');
  assert.equal(l.locked('9.9.9.9', 'alice@x', true), null);
  // A success another node heard resets the delay here too.
  for (let i = 0; i < 3; i++) l.failure('2.2.2.2', null);
  assert.equal(l.delay('2.2.2.2'), 400);
  l.heard(['s', '2.2.2.2', 'bob@x']);
  assert.equal(l.delay('2.2.2.2'), 100);
});
