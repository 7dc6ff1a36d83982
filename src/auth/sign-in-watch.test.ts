// SignInWatch: asks only on `account` events, once ended calls nothing more, settled() waits for the check an
// event started, a failing check leaves the session be, and stop() ends hearing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Account } from '../core/model.ts';
import { memoryEventBus } from '../mailbox/events.ts';
import { silentLogger } from '../telemetry/log.ts';
import type { SaslSuccess } from './sasl/types.ts';
import { type SignedOut, SignInWatch } from './sign-in-watch.ts';

const signIn = { account: { id: 7, address: 'a@example.com' } as Account, via: 'password' } as SaslSuccess;

/** A watch whose checks answer `answers` in turn (an Error is thrown); what it asked and ended with. */
function watched(answers: ('ok' | SignedOut | Error)[]) {
  const events = memoryEventBus();
  const seen = { asked: 0, ended: [] as SignedOut[] };
  const auth = {
    async stillSignedIn() {
      const a = answers[seen.asked++] ?? 'ok';
      if (a instanceof Error) throw a;
      return a;
    },
  };
  const watch = new SignInWatch({ auth, log: silentLogger, events }, signIn, (why) => seen.ended.push(why));
  const event = (kind: 'account' | 'append', accountId = 7) => events.publish({ accountId, modseq: 0, kind });
  return { watch, seen, event };
}

test('only account events of its own account ask; settled() waits for the check', async () => {
  const { watch, seen, event } = watched(['ok', 'expired']);
  event('append');
  event('account', 8);
  await watch.settled();
  assert.equal(seen.asked, 0, 'no store read without an account event');
  event('account');
  await watch.settled();
  assert.deepEqual(seen, { asked: 1, ended: [] });
  event('account');
  await watch.settled();
  assert.deepEqual(seen, { asked: 2, ended: ['expired'] });
  assert.equal(watch.ended, 'expired');
  event('account');
  await watch.settled();
  assert.deepEqual(seen, { asked: 2, ended: ['expired'] }, 'ended once, asked no more');
});

test('a check that fails leaves the session be; the next event asks again', async () => {
  const { watch, seen, event } = watched([new Error('store down'), 'gone']);
  event('account');
  await watch.settled();
  assert.deepEqual(seen.ended, []);
  event('account');
  await watch.settled();
  assert.deepEqual(seen.ended, ['gone']);
});

test('stopped: neither the check under way nor a later event ends anything', async () => {
  const events = memoryEventBus();
  let answer: (a: SignedOut) => void = () => {};
  let asked = 0;
  const auth = {
    stillSignedIn: () => {
      asked++;
      return new Promise<SignedOut>((r) => (answer = r));
    },
  };
  const ended: SignedOut[] = [];
  const watch = new SignInWatch({ auth, log: silentLogger, events }, signIn, (why) => ended.push(why));
  events.publish({ accountId: 7, modseq: 0, kind: 'account' });
  while (asked === 0) await new Promise((r) => setImmediate(r));
  watch.stop();
  answer('gone');
  events.publish({ accountId: 7, modseq: 0, kind: 'account' });
  await watch.settled();
  assert.deepEqual({ asked, ended }, { asked: 1, ended: [] });
});
