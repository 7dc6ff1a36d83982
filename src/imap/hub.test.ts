// The account hub: one bus subscription per account however many sessions, events fan out, the
// subscription goes when the last session leaves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MailEvent } from '../core/ports.ts';
import { memoryEventBus } from '../mailbox/events.ts';
import { AccountHub } from './hub.ts';

test('one subscription per account, fan-out, clean leave', () => {
  const bus = memoryEventBus();
  let subscriptions = 0;
  const counting = {
    publish: bus.publish,
    subscribe: (id: number, fn: (e: MailEvent) => void) => {
      subscriptions++;
      return bus.subscribe(id, fn);
    },
  };
  const hub = new AccountHub(counting);
  const got: string[] = [];
  const member = (name: string, accountId: number) => ({ accountId, onMailEvent: () => got.push(name) });
  const a = member('a', 1);
  const b = member('b', 1);
  const c = member('c', 2);
  hub.join(a);
  hub.join(b);
  hub.join(c);
  assert.equal(subscriptions, 2);
  bus.publish({ accountId: 1, mailboxId: 5, modseq: 1, kind: 'append' });
  assert.deepEqual(got.sort(), ['a', 'b']);
  hub.leave(a);
  hub.leave(b);
  assert.equal(hub.size, 1);
  got.length = 0;
  bus.publish({ accountId: 1, mailboxId: 5, modseq: 2, kind: 'append' });
  assert.deepEqual(got, []);
  hub.leave(c);
  assert.equal(hub.size, 0);
});
