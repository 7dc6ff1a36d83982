// Destination slots on one shared leases table: two nodes together never hold more than the limit, a slot
// given back is free for the other node, and a node restarted after a crash takes its dead run's at once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LeaseStore } from '../core/lease-port.ts';
import { openSqlStore } from '../store/sql/store.ts';
import { openSqlite } from '../store/sqlite/driver.ts';
import { silentLogger } from '../telemetry/log.ts';
import { DestinationSlots } from './destination-slots.ts';

async function withLeases(fn: (leases: LeaseStore) => Promise<void>): Promise<void> {
  const store = await openSqlStore(openSqlite({ path: ':memory:' }));
  try {
    await fn(store.leases);
  } finally {
    await store.close();
  }
}

const slots = (leases: LeaseStore, node: string, perDestination = 2) =>
  new DestinationSlots({ leases, node, perDestination, log: silentLogger });

test('two nodes share a domain’s slots: what one holds the other cannot take until it is given back', () =>
  withLeases(async (leases) => {
    const a = slots(leases, 'node-a');
    const b = slots(leases, 'node-b');
    try {
      assert.deepEqual(await a.take('remote.test', 3), [0, 1], 'no more than the limit, even when asked for more');
      assert.deepEqual(await b.take('remote.test', 1), []);
      assert.deepEqual(await b.take('other.test', 2), [0, 1], 'each domain has slots of its own');
      a.give('remote.test', 1);
      assert.deepEqual(await b.take('remote.test', 2), [1]);
      assert.deepEqual(await a.take('remote.test', 1), []);
    } finally {
      await a.stop();
      await b.stop();
    }
  }));

test('a node takes its own slot again at once after giving it back, and no second copy of one it holds', () =>
  withLeases(async (leases) => {
    const a = slots(leases, 'node-a');
    try {
      assert.deepEqual(await a.take('remote.test', 1), [0]);
      a.give('remote.test', 0);
      // The release may still be on its way: the take waits for it rather than lose the slot to it.
      assert.deepEqual(await a.take('remote.test', 1), [0]);
      assert.deepEqual(await a.take('remote.test', 2), [1], 'slot 0 is already this node’s, in use');
    } finally {
      await a.stop();
    }
  }));

test('stop gives every slot back; a crashed run’s slots are its restarted node’s at once, not another’s', () =>
  withLeases(async (leases) => {
    const a = slots(leases, 'node-a');
    const b = slots(leases, 'node-b');
    assert.deepEqual(await a.take('remote.test', 2), [0, 1]);
    await a.stop();
    assert.deepEqual(await b.take('remote.test', 2), [0, 1]);
    // b dies without giving them back (no stop): another node waits for them to lapse, b's next run does not.
    const c = slots(leases, 'node-c');
    const b2 = slots(leases, 'node-b');
    try {
      assert.deepEqual(await c.take('remote.test', 1), []);
      assert.deepEqual(await b2.take('remote.test', 2), [0, 1]);
    } finally {
      await c.stop();
      await b2.stop();
      await b.stop().catch(() => {});
    }
  }));
