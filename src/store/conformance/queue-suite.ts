// The outbound queue part of the store conformance suite: every backend runs these (SQLite, PostgreSQL).
import assert from 'node:assert/strict';
import type { NewQueuedMessage, QueueEntry, RecipientUpdate, Store } from '../../core/ports.ts';
import type { SqlDriver } from '../sql/driver.ts';
import { body, type StoreFactory } from './suite.ts';

type WithStore = (title: string, fn: (s: Store, f: StoreFactory) => Promise<void>) => void;

const T0 = 1_700_000_000_000;

function message(queueId: string, rcpts: string[], extra: Partial<NewQueuedMessage> = {}): NewQueuedMessage {
  return {
    queueId,
    from: 'alice@example.com',
    blobHash: 'a'.repeat(64),
    size: 100,
    envId: null,
    ret: null,
    smtpUtf8: false,
    requireTls: false,
    tlsOptional: false,
    bodyType: null,
    accountId: null,
    createdAt: T0,
    expiresAt: T0 + 5 * 86400_000,
    warnAt: T0 + 4 * 3600_000,
    recipients: rcpts.map((address) => ({
      address,
      domain: address.split('@')[1],
      orcpt: null,
      notify: null,
    })),
    ...extra,
  };
}

async function blobRefs(s: Store, hash: string): Promise<number | undefined> {
  const db = (s as Store & { db?: SqlDriver }).db;
  if (!db) return undefined;
  const r = await db.get<{ refs: number }>('SELECT refs FROM blobs WHERE hash = ?', [hash]);
  return r ? Number(r.refs) : 0;
}

const ids = (es: QueueEntry[]) => es.flatMap((e) => e.recipients.map((r) => r.address)).sort();

function outcome(id: number, status: RecipientUpdate['status'], extra: Partial<RecipientUpdate> = {}): RecipientUpdate {
  return {
    id,
    status,
    attempts: 1,
    nextAttempt: T0,
    lastAttempt: T0,
    lastReply: null,
    lastStatus: null,
    remoteMta: null,
    warned: false,
    ...extra,
  };
}

export function queueTests(withStore: WithStore) {
  withStore('queue: insert keeps every field, holds a blob reference, lists and gets', async (s) => {
    const m = await s.queue.insert(
      message('q1', ['bob@remote.test', 'carol@other.test'], {
        envId: 'env-1',
        ret: 'HDRS',
        smtpUtf8: true,
        requireTls: true,
        tlsOptional: true,
        bodyType: '8BITMIME',
        accountId: 7,
        recipients: [
          { address: 'bob@remote.test', domain: 'remote.test', orcpt: 'rfc822;Bob@Remote.test', notify: 'NEVER' },
          { address: 'carol@other.test', domain: 'other.test', orcpt: null, notify: ['SUCCESS', 'DELAY'] },
        ],
      }),
    );
    assert.equal(m.queueId, 'q1');
    assert.equal((await blobRefs(s, 'a'.repeat(64))) ?? 1, 1);
    await s.queue.insert(message('q2', ['dan@remote.test']));
    assert.equal((await blobRefs(s, 'a'.repeat(64))) ?? 2, 2, 'the same content queued twice holds two references');
    const got = (await s.queue.get('q1'))!;
    assert.deepEqual(
      { ...got.message, id: 0 },
      {
        id: 0,
        queueId: 'q1',
        from: 'alice@example.com',
        blobHash: 'a'.repeat(64),
        size: 100,
        envId: 'env-1',
        ret: 'HDRS',
        smtpUtf8: true,
        requireTls: true,
        tlsOptional: true,
        bodyType: '8BITMIME',
        accountId: 7,
        createdAt: T0,
        expiresAt: T0 + 5 * 86400_000,
        warnAt: T0 + 4 * 3600_000,
        held: false,
        notice: false,
      },
    );
    assert.deepEqual(
      got.recipients.map((r) => [r.address, r.domain, r.orcpt, r.notify, r.status, r.attempts, r.nextAttempt]),
      [
        ['bob@remote.test', 'remote.test', 'rfc822;Bob@Remote.test', 'NEVER', 'queued', 0, T0],
        ['carol@other.test', 'other.test', null, ['SUCCESS', 'DELAY'], 'queued', 0, T0],
      ],
    );
    assert.deepEqual(
      (await s.queue.list()).map((e) => e.message.queueId),
      ['q1', 'q2'],
    );
    assert.equal(await s.queue.get('nope'), undefined);
    await assert.rejects(s.queue.insert(message('q1', ['x@y.test'])), 'queue ids are unique');
  });

  withStore('queue: a lease takes due recipients once; it expires; release gives them back', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test', 'b@two.test']));
    await s.queue.insert(message('q2', ['c@one.test'], { createdAt: T0 + 60_000 }));
    assert.equal(await s.queue.nextDue(), T0);
    assert.deepEqual(await s.queue.lease('n1', T0 - 1, 1000, 10), [], 'nothing is due before its time');
    const first = await s.queue.lease('n1', T0, 1000, 10);
    assert.deepEqual(ids(first), ['a@one.test', 'b@two.test']);
    assert.equal(first.length, 1, 'grouped by message');
    assert.equal(first[0].recipients[0].leaseOwner, 'n1');
    assert.deepEqual(await s.queue.lease('n2', T0 + 500, 1000, 10), [], 'leased rows are not handed out twice');
    assert.equal(await s.queue.nextDue(), T0 + 1000, 'leased work is due again when the lease runs out');
    const later = await s.queue.lease('n2', T0 + 60_000, 1000, 10);
    assert.deepEqual(ids(later), ['a@one.test', 'b@two.test', 'c@one.test'], 'an expired lease is taken over');
    assert.equal(await s.queue.release('n1'), 0, 'the old owner holds nothing any more');
    assert.equal(await s.queue.release('n2', [later[0].recipients[0].id]), 1);
    const again = await s.queue.lease('n3', T0 + 60_000, 1000, 10);
    assert.deepEqual(ids(again), ['a@one.test']);
    assert.equal(await s.queue.release('n2'), 2);
    assert.deepEqual(await s.queue.lease('n3', T0 + 60_000, 1000, 1).then(ids), ['b@two.test'], 'limit respected');
  });

  withStore('queue: a lease and nextDue leave out the domains they are told to skip', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test', 'b@two.test']));
    await s.queue.insert(message('q2', ['c@three.test'], { createdAt: T0 + 60_000 }));
    assert.equal(await s.queue.nextDue(['one.test', 'two.test']), T0 + 60_000);
    assert.equal(await s.queue.nextDue(['one.test', 'two.test', 'three.test']), null);
    const got = await s.queue.lease('n1', T0 + 60_000, 1000, 10, ['one.test', 'three.test']);
    assert.deepEqual(ids(got), ['b@two.test']);
    assert.deepEqual(ids(await s.queue.lease('n1', T0 + 60_000, 1000, 10, [])), ['a@one.test', 'c@three.test']);
  });

  withStore('queue: renew extends only the leases the owner still holds', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test', 'b@two.test']));
    const [e] = await s.queue.lease('n1', T0, 1000, 10);
    const [a, b] = e.recipients.map((r) => r.id);
    const renewed = await s.queue.renew('n1', [a, b], T0 + 5000);
    assert.deepEqual(
      renewed.sort((x, y) => x - y),
      [a, b].sort((x, y) => x - y),
    );
    assert.deepEqual(await s.queue.lease('n2', T0 + 2000, 1000, 10), [], 'a renewed lease is not taken over');
    assert.equal(await s.queue.nextDue(), T0 + 5000);
    assert.deepEqual(await s.queue.renew('n2', [a, b], T0 + 9000), [], 'not for another owner');
    assert.deepEqual(await s.queue.renew('n1', [], T0 + 9000), []);
    // Past the renewed lease another node takes a over: n1 can no longer renew it.
    await s.queue.release('n1', [b]);
    const taken = await s.queue.lease('n2', T0 + 6000, 1000, 10);
    assert.deepEqual(ids(taken), ['a@one.test', 'b@two.test']);
    assert.deepEqual(await s.queue.renew('n1', [a, b], T0 + 9000), [], 'taken over: no longer ours');
    assert.deepEqual(await s.queue.renew('n2', [a], T0 + 9000), [a]);
  });

  withStore(
    'queue: outcomes are recorded by the lease owner; a finished message goes and frees its blob',
    async (s) => {
      await s.queue.insert(message('q1', ['a@one.test', 'b@one.test']));
      const [e] = await s.queue.lease('n1', T0, 60_000, 10);
      const [a, b] = e.recipients;
      assert.deepEqual((await s.queue.update('n2', [outcome(a.id, 'sent')])).done, [], 'not the owner: ignored');
      assert.equal((await s.queue.get('q1'))!.recipients[0].status, 'queued');
      const deferred = outcome(b.id, 'queued', {
        attempts: 1,
        nextAttempt: T0 + 300_000,
        lastReply: '451 4.3.0 try later',
        lastStatus: '4.3.0',
        remoteMta: 'mx.one.test',
        warned: true,
      });
      await s.queue.insert(message('q9', ['z@two.test']));
      assert.deepEqual(await s.queue.counts(), { messages: 2, recipients: 3, deferred: 0 });
      assert.deepEqual(
        (await s.queue.update('n1', [outcome(a.id, 'sent', { lastReply: '250 ok' }), deferred])).done,
        [],
      );
      // Sent ones leave the count; the deferred one counts as tried.
      assert.deepEqual(await s.queue.counts(), { messages: 2, recipients: 2, deferred: 1 });
      await s.queue.delete('q9');
      const got = (await s.queue.get('q1'))!;
      assert.deepEqual(
        got.recipients.map((r) => [
          r.status,
          r.attempts,
          r.nextAttempt,
          r.lastReply,
          r.remoteMta,
          r.warned,
          r.leaseOwner,
        ]),
        [
          ['sent', 1, T0, '250 ok', null, false, null],
          ['queued', 1, T0 + 300_000, '451 4.3.0 try later', 'mx.one.test', true, null],
        ],
      );
      assert.equal(await s.queue.nextDue(), T0 + 300_000);
      const [e2] = await s.queue.lease('n1', T0 + 300_000, 60_000, 10);
      assert.deepEqual((await s.queue.update('n1', [outcome(e2.recipients[0].id, 'failed', { attempts: 2 })])).done, [
        'q1',
      ]);
      assert.equal(await s.queue.get('q1'), undefined);
      assert.equal((await blobRefs(s, 'a'.repeat(64))) ?? 0, 0);
      assert.equal(await s.queue.nextDue(), null);
    },
  );

  withStore(
    'queue: a DSN is queued in the transaction that records the outcomes it reports, never without',
    async (s) => {
      await s.queue.insert(message('q1', ['a@one.test']));
      const [e] = await s.queue.lease('n1', T0, 60_000, 10);
      const a = e.recipients[0].id;
      const dsn = (id: string) => ({
        rcpts: [a],
        message: message(id, ['alice@example.com'], { from: '', blobHash: 'b'.repeat(64), createdAt: T0 + 1 }),
      });
      // Another node's outcome (a lease it lost): neither the outcome nor its DSN.
      assert.deepEqual(await s.queue.update('n2', [outcome(a, 'failed')], [dsn('dsn-x')]), {
        done: [],
        queued: [],
        appended: [],
      });
      assert.equal(await s.queue.get('dsn-x'), undefined);
      assert.deepEqual(await s.queue.update('n1', [outcome(a, 'failed')], [dsn('dsn-1')]), {
        done: ['q1'],
        queued: ['dsn-1'],
        appended: [],
      });
      const got = (await s.queue.get('dsn-1'))!;
      assert.equal(got.message.from, '');
      assert.deepEqual(
        got.recipients.map((r) => [r.address, r.status]),
        [['alice@example.com', 'queued']],
      );
      assert.equal((await blobRefs(s, 'b'.repeat(64))) ?? 1, 1);
      // Recorded once: the same outcome again (a stale report) is not the owner's any more, no second DSN.
      assert.deepEqual(await s.queue.update('n1', [outcome(a, 'failed')], [dsn('dsn-2')]), {
        done: [],
        queued: [],
        appended: [],
      });
      assert.deepEqual(
        (await s.queue.list()).map((x) => x.message.queueId),
        ['dsn-1'],
      );
    },
  );

  withStore(
    "queue: a local sender's DSN is appended to its mailbox in the transaction that records the outcomes, never without",
    async (s) => {
      const t = await s.createTenant({ name: 'default' });
      const d = await s.createDomain({ name: 'example.com', tenantId: t.id });
      const acc = await s.createAccount({
        address: 'alice@example.com',
        localPart: 'alice',
        domainId: d.id,
        tenantId: t.id,
        passwordHash: 'x',
      });
      const inbox = await s.createMailbox(acc.id, 'INBOX', '\\Inbox');
      await s.queue.insert(message('q1', ['a@one.test']));
      const [e] = await s.queue.lease('n1', T0, 60_000, 10);
      const a = e.recipients[0].id;
      const dsn = (text: string) => ({
        rcpts: [a],
        local: [
          {
            accountId: acc.id,
            mailboxId: inbox.id,
            body: body(text),
            prefix: 'Return-Path: <>\r\n',
            flags: [],
            internalDate: T0,
            messageId: null,
            references: [],
            skipQuota: true,
          },
        ],
      });
      // Another node's outcome (a lease it lost): neither the outcome nor its DSN.
      assert.deepEqual((await s.queue.update('n2', [outcome(a, 'failed')], [dsn('lost')])).appended, []);
      assert.deepEqual(await s.listMessages(inbox.id), []);
      const r = await s.queue.update('n1', [outcome(a, 'failed')], [dsn('bounce')]);
      assert.deepEqual(r.done, ['q1']);
      assert.deepEqual(
        r.appended.map((x) => [x.dsn, x.results.map((y) => [y.mailboxId, y.uid])]),
        [[0, [[inbox.id, 1]]]],
      );
      assert.deepEqual(
        (await s.listMessages(inbox.id)).map((m) => m.uid),
        [1],
      );
      assert.equal((await s.getMailbox(acc.id, 'INBOX'))?.messages, 1);
      // Recorded once: the same outcome again is not the owner's any more, no second DSN.
      assert.deepEqual((await s.queue.update('n1', [outcome(a, 'failed')], [dsn('again')])).appended, []);
      assert.equal((await s.listMessages(inbox.id)).length, 1);
    },
  );

  withStore(
    'queue: a local delivery\'s notice (its "delivered" DSN) is written with it, both or neither',
    async (s) => {
      const t = await s.createTenant({ name: 'default' });
      const d = await s.createDomain({ name: 'example.com', tenantId: t.id });
      const acc = await s.createAccount({
        address: 'bob@example.com',
        localPart: 'bob',
        domainId: d.id,
        tenantId: t.id,
        passwordHash: 'x',
      });
      const inbox = await s.createMailbox(acc.id, 'INBOX', '\\Inbox');
      const row = (text: string) => ({
        accountId: acc.id,
        mailboxId: inbox.id,
        body: body(text),
        prefix: 'Delivered-To: bob@example.com\r\n',
        flags: [],
        internalDate: T0,
        messageId: null,
        references: [],
      });
      const notice = (queueId: string) =>
        message(queueId, ['bob@example.com'], { notice: true, blobHash: row('x').body.hash, warnAt: null });
      const r = await s.queue.appendWithNotice([row('first')], notice('n1'));
      assert.deepEqual(
        r.map((x) => [x.mailboxId, x.uid]),
        [[inbox.id, 1]],
      );
      const [e] = await s.queue.lease('node', T0, 60_000, 10);
      assert.deepEqual([e.message.queueId, e.message.notice], ['n1', true]);
      // The notice holds the delivered content as any queued message does (SQL stores show the count).
      const refs = await blobRefs(s, row('x').body.hash);
      if (refs !== undefined) assert.equal(refs, 1);
      // A notice that cannot be written (its queue id taken) takes the delivery with it.
      await assert.rejects(s.queue.appendWithNotice([row('second')], notice('n1')));
      assert.deepEqual(
        (await s.listMessages(inbox.id)).map((m) => m.uid),
        [1],
      );
      assert.equal((await s.queue.list()).length, 1);
    },
  );

  withStore('queue: retry now, and delete without delivery', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test']));
    const [e] = await s.queue.lease('n1', T0, 1000, 10);
    await s.queue.update('n1', [outcome(e.recipients[0].id, 'queued', { nextAttempt: T0 + 3600_000 })]);
    assert.deepEqual(await s.queue.lease('n1', T0 + 10, 1000, 10), []);
    assert.equal(await s.queue.retryNow('q1', T0 + 10), 1);
    assert.equal((await s.queue.lease('n1', T0 + 10, 1000, 10)).length, 1);
    await s.queue.release('n1');
    await s.queue.insert(message('q2', ['b@two.test'], { createdAt: T0 + 5000 }));
    assert.equal(await s.queue.retryNow(null, T0 + 20), 2);
    assert.equal(await s.queue.delete('q1'), true);
    assert.equal(await s.queue.delete('q1'), false);
    assert.deepEqual(
      (await s.queue.list()).map((x) => x.message.queueId),
      ['q2'],
    );
    assert.equal((await blobRefs(s, 'a'.repeat(64))) ?? 1, 1);
  });

  withStore('queue: a held message is never leased nor due; released, it is due at once', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test', 'b@two.test']));
    await s.queue.insert(message('q2', ['c@one.test'], { createdAt: T0 + 1 }));
    assert.equal(await s.queue.setHeld('q1', true, T0), 1);
    assert.equal(await s.queue.setHeld('q1', true, T0), 0, 'already held');
    assert.equal(await s.queue.setHeld('nope', true, T0), 0);
    assert.equal((await s.queue.get('q1'))!.message.held, true);
    assert.equal((await s.queue.get('q2'))!.message.held, false);
    assert.deepEqual(
      (await s.queue.list()).map((e) => [e.message.queueId, e.message.held]),
      [
        ['q1', true],
        ['q2', false],
      ],
    );
    assert.deepEqual(ids(await s.queue.lease('n1', T0 + 10_000, 1000, 10)), ['c@one.test']);
    await s.queue.release('n1');
    await s.queue.setHeld('q2', true, T0);
    assert.deepEqual(await s.queue.lease('n1', T0 + 10_000, 1000, 10), []);
    assert.equal(await s.queue.nextDue(), null, 'held mail is never due');
    // Released (one, then every other): due at the time of the release, whatever its schedule said.
    const [e] = [(await s.queue.get('q1'))!];
    assert.equal(await s.queue.setHeld('q1', false, T0 + 20_000), 1);
    assert.equal(await s.queue.setHeld('q1', false, T0 + 20_000), 0, 'not held');
    assert.deepEqual(
      (await s.queue.get('q1'))!.recipients.map((r) => r.nextAttempt),
      e.recipients.map(() => T0 + 20_000),
    );
    assert.equal(await s.queue.nextDue(), T0 + 20_000);
    assert.equal(await s.queue.setHeld(null, true, T0), 1, 'every message not yet held');
    assert.equal(await s.queue.setHeld(null, false, T0 + 30_000), 2);
    assert.deepEqual(ids(await s.queue.lease('n1', T0 + 30_000, 1000, 10)), ['a@one.test', 'b@two.test', 'c@one.test']);
  });

  withStore('queue: leaseMessage takes every queued recipient, held or not due, unless one is under way', async (s) => {
    await s.queue.insert(message('q1', ['a@one.test', 'b@two.test']));
    assert.equal(await s.queue.leaseMessage('nope', 'admin', T0, 1000), undefined);
    const [e] = await s.queue.lease('n1', T0, 1000, 1);
    assert.equal(await s.queue.leaseMessage('q1', 'admin', T0 + 10, 1000), 'busy', 'one recipient under way');
    await s.queue.update('n1', [outcome(e.recipients[0].id, 'sent')]);
    await s.queue.setHeld('q1', true, T0);
    const got = await s.queue.leaseMessage('q1', 'admin', T0 + 20, 1000);
    assert.ok(got && got !== 'busy');
    assert.deepEqual(
      got.recipients.map((r) => [r.address, r.leaseOwner]),
      [['b@two.test', 'admin']],
      'the queued one, though held',
    );
    assert.deepEqual(await s.queue.lease('n1', T0 + 30, 1000, 10), []);
    // An expired lease (a node gone) does not stand in the way.
    assert.ok(typeof (await s.queue.leaseMessage('q1', 'admin2', T0 + 5000, 1000)) === 'object');
  });

  withStore('queue: two connections leasing at once never get the same recipient', async (s, f) => {
    const N = 60;
    for (let i = 0; i < N; i += 6)
      await s.queue.insert(
        message(
          `m${i}`,
          Array.from({ length: 6 }, (_, j) => `r${i + j}@d${j % 3}.test`),
        ),
      );
    const s2 = await f.openSecond();
    try {
      const take = async (st: Store, owner: string) => {
        const got: string[] = [];
        for (;;) {
          const batch = await st.queue.lease(owner, T0, 60_000, 7);
          if (batch.length === 0) return got;
          got.push(...ids(batch));
        }
      };
      const [x, y] = await Promise.all([take(s, 'n1'), take(s2, 'n2')]);
      assert.equal(x.length + y.length, N);
      assert.equal(new Set([...x, ...y]).size, N, 'no recipient leased by both');
    } finally {
      await s2.close();
    }
  });

  // Two nodes (PostgreSQL, read committed) each settling the last queued recipient of the same message: each
  // looked for recipients still queued before the other's change was committed, saw the other's, and kept
  // the message, so it stayed for ever with none queued, its content's reference (blobs.refs) with it: a
  // blob garbage collection could never remove. Each now locks the message before it looks.
  withStore('queue: two nodes settling the last recipients of one message at once delete it once', async (s, f) => {
    const s2 = await f.openSecond();
    try {
      const n = 20;
      for (let i = 0; i < n; i++) await s.queue.insert(message(`m${i}`, ['a@one.test', 'b@two.test']));
      for (let i = 0; i < n; i++) {
        const [x] = await s.queue.lease('n1', T0, 60_000, 1, ['two.test']);
        const [y] = await s2.queue.lease('n2', T0, 60_000, 1, ['one.test']);
        assert.equal(x.message.id, y.message.id);
        const [dx, dy] = await Promise.all([
          s.queue.update('n1', [outcome(x.recipients[0].id, 'sent')]),
          s2.queue.update('n2', [outcome(y.recipients[0].id, 'sent')]),
        ]);
        assert.deepEqual([...dx.done, ...dy.done], [x.message.queueId], 'the message is done, once');
      }
      assert.deepEqual(await s.queue.list(), []);
      assert.equal((await blobRefs(s, 'a'.repeat(64))) ?? 0, 0);
    } finally {
      await s2.close();
    }
  });
}
