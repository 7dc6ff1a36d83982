// The record index stays exact across appends, flag changes, expunges and COPY into the mailbox, and
// reads only deltas once filled.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Store } from '../core/ports.ts';
import { fsBlobStore } from '../store/blob/fs.ts';
import { openSqlStore } from '../store/sql/store.ts';
import { openSqlite } from '../store/sqlite/driver.ts';
import { silentLogger } from '../telemetry/log.ts';
import { memoryEventBus } from './events.ts';
import { MessageIndex } from './message-index.ts';
import { MailService } from './service.ts';

test('the index matches a full read after every kind of change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-index-'));
  const store = await openSqlStore(openSqlite({ path: join(dir, 'db') }));
  try {
    const mail = new MailService({
      store,
      blobs: fsBlobStore(join(dir, 'b')),
      events: memoryEventBus(),
      log: silentLogger,
    });
    const t = await store.createTenant({ name: 't' });
    const d = await store.createDomain({ name: 'x.test', tenantId: t.id });
    const a = await store.createAccount({
      address: 'a@x.test',
      localPart: 'a',
      domainId: d.id,
      tenantId: t.id,
      passwordHash: null,
    });
    const box = await store.createMailbox(a.id, 'INBOX');
    const other = await store.createMailbox(a.id, 'Other');
    let fullReads = 0;
    const counting = new Proxy(store, {
      get(target, k, r) {
        const v = Reflect.get(target, k, r);
        if (k === 'listMessages')
          return (id: number, o?: { changedSince?: number }) => {
            if (o?.changedSince === undefined) fullReads++;
            return v.call(target, id, o);
          };
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    const index = new MessageIndex(1000);
    const check = async () => {
      const got = await index.records(counting, a.id, box.id);
      const want = await store.listMessages(box.id);
      assert.deepEqual(got, want);
    };
    for (let i = 0; i < 5; i++) await mail.append(a.id, box.id, Buffer.from(`Subject: ${i}\r\n\r\nbody ${i}\r\n`));
    await check();
    await mail.updateFlags(box, [2, 4], 'add', ['\\Seen', '$X']);
    await check();
    await mail.expunge(box, [1, 4]);
    await check();
    await mail.append(a.id, other.id, Buffer.from('Subject: o\r\n\r\no\r\n'));
    await mail.copy(other, [1], box);
    await mail.append(a.id, box.id, Buffer.from('Subject: new\r\n\r\nnew\r\n'));
    await check();
    await check();
    assert.equal(fullReads, 1, 'one full read, then deltas');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
