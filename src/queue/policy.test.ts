// What one attempt's outcome does to a recipient: the retry schedule, the lifetime, the delay warning and
// the DSNs NOTIFY asks for (RFC 3461 section 4.1).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { QueuedMessage, QueuedRecipient } from '../core/ports.ts';
import { decide, type Outcome, retryDelay, wants } from './policy.ts';

const T0 = 1_000_000;
const M = 60_000;
const policy = { retrySchedule: [5 * M, 10 * M, 30 * M], lifetimeMs: 120 * M, delayWarningMs: 40 * M };

const msg = (extra: Partial<QueuedMessage> = {}): QueuedMessage => ({
  id: 1,
  queueId: 'Q',
  from: 'alice@example.com',
  blobHash: 'h',
  size: 1,
  envId: null,
  ret: null,
  smtpUtf8: false,
  requireTls: false,
  tlsOptional: false,
  bodyType: null,
  accountId: null,
  createdAt: T0,
  expiresAt: T0 + policy.lifetimeMs,
  warnAt: T0 + policy.delayWarningMs,
  held: false,
  notice: false,
  ...extra,
});

const rcpt = (extra: Partial<QueuedRecipient> = {}): QueuedRecipient => ({
  id: 7,
  messageId: 1,
  address: 'bob@remote.test',
  domain: 'remote.test',
  orcpt: null,
  notify: null,
  status: 'queued',
  attempts: 0,
  nextAttempt: T0,
  lastAttempt: null,
  lastReply: null,
  lastStatus: null,
  remoteMta: null,
  warned: false,
  leaseOwner: 'n',
  leaseUntil: T0 + M,
  ...extra,
});

const deferred: Outcome = { kind: 'deferred', reply: '451 4.3.0 later', status: '4.3.0', remoteMta: 'mx' };
const failed: Outcome = { kind: 'failed', reply: '550 5.1.1 unknown', status: '5.1.1', remoteMta: 'mx' };
const sent = (remoteDsn: boolean): Outcome => ({ kind: 'sent', reply: '250 ok', remoteMta: 'mx', remoteDsn });

test('NOTIFY: the default is failures and delays; NEVER is nothing; a list is what it says', () => {
  assert.deepEqual(
    (['SUCCESS', 'FAILURE', 'DELAY'] as const).map((w) => wants(null, w)),
    [false, true, true],
  );
  assert.deepEqual(
    (['SUCCESS', 'FAILURE', 'DELAY'] as const).map((w) => wants('NEVER', w)),
    [false, false, false],
  );
  assert.deepEqual(
    (['SUCCESS', 'FAILURE', 'DELAY'] as const).map((w) => wants(['SUCCESS'], w)),
    [true, false, false],
  );
});

test('the schedule is followed and its last step repeats', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 9].map((a) => retryDelay(a, policy.retrySchedule) / M),
    [5, 10, 30, 30, 30],
  );
});

test('sent, failed, deferred: status, attempts, next attempt and the DSN called for', () => {
  const s = decide(msg(), rcpt(), sent(false), T0, policy);
  assert.equal(s.update.status, 'sent');
  assert.equal(s.report, null, 'no success DSN unless asked');
  assert.equal(decide(msg(), rcpt({ notify: ['SUCCESS'] }), sent(false), T0, policy).report, 'relayed');
  assert.equal(
    decide(msg(), rcpt({ notify: ['SUCCESS'] }), sent(true), T0, policy).report,
    null,
    'the next hop reports',
  );
  const f = decide(msg(), rcpt(), failed, T0, policy);
  assert.deepEqual([f.update.status, f.update.lastStatus, f.report], ['failed', '5.1.1', 'failed']);
  assert.equal(decide(msg(), rcpt({ notify: ['DELAY'] }), failed, T0, policy).report, null);
  const d = decide(msg(), rcpt({ attempts: 1 }), deferred, T0 + 5 * M, policy);
  assert.deepEqual([d.update.status, d.update.attempts, d.update.nextAttempt], ['queued', 2, T0 + 15 * M]);
  assert.equal(d.report, null);
  assert.equal(d.update.lastReply, '451 4.3.0 later');
});

test('the delay warning comes once, on time; the last attempt is at the end of the lifetime', () => {
  // Attempt 3 at 15 min would next wait 30 min (45 min), but the warning is due at 40 min.
  const third = decide(msg(), rcpt({ attempts: 2 }), deferred, T0 + 15 * M, policy);
  assert.equal(third.update.nextAttempt, T0 + 40 * M);
  const warn = decide(msg(), rcpt({ attempts: 3 }), deferred, T0 + 40 * M, policy);
  assert.equal(warn.report, 'delayed');
  assert.equal(warn.update.warned, true);
  const after = decide(msg(), rcpt({ attempts: 4, warned: true }), deferred, T0 + 100 * M, policy);
  assert.equal(after.report, null, 'only once');
  assert.equal(after.update.nextAttempt, T0 + 120 * M, 'capped at the end of the lifetime');
  const expired = decide(msg(), rcpt({ attempts: 5, warned: true }), deferred, T0 + 120 * M, policy);
  assert.deepEqual([expired.update.status, expired.update.lastStatus, expired.report], ['failed', '4.3.0', 'failed']);
  assert.equal(decide(msg({ warnAt: null }), rcpt({ attempts: 3 }), deferred, T0 + 41 * M, policy).report, null);
});

test('a null reverse-path never gets a DSN', () => {
  const m = msg({ from: '' });
  assert.equal(decide(m, rcpt(), failed, T0, policy).report, null);
  assert.equal(decide(m, rcpt({ attempts: 3 }), deferred, T0 + 41 * M, policy).report, null);
  assert.equal(decide(m, rcpt({ notify: ['SUCCESS'] }), sent(false), T0, policy).report, null);
  assert.equal(decide(m, rcpt(), deferred, T0 + 121 * M, policy).update.status, 'failed');
});

test("a notice's recipient, delivered here on arrival: sent, with a delivered DSN (RFC 3461 section 5.2.3), whatever its age", () => {
  const delivered: Outcome = { kind: 'delivered', reply: '250 2.0.0 delivered to the mailbox' };
  const d = decide(msg({ notice: true }), rcpt({ notify: ['SUCCESS'] }), delivered, T0 + 121 * M, policy);
  assert.deepEqual(
    [d.update.status, d.update.lastStatus, d.update.remoteMta, d.report],
    ['sent', null, null, 'delivered'],
  );
  assert.equal(decide(msg({ from: '' }), rcpt({ notify: ['SUCCESS'] }), delivered, T0, policy).report, null);
});
