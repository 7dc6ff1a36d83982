// Blob garbage collection over a real store: unreferenced blobs go after the grace period, referenced
// and recently written ones stay.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DirectoryService } from '../../directory/service.ts';
import { memoryEventBus } from '../../mailbox/events.ts';
import { MailService } from '../../mailbox/service.ts';
import { silentLogger } from '../../telemetry/log.ts';
import { openSqliteStore } from '../sqlite/store.ts';
import { fsBlobStore } from './fs.ts';
import { collectBlobs } from './gc.ts';

test('gc removes unreferenced blobs after the grace period only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-gc-'));
  const store = await openSqliteStore({ path: join(dir, 'p.db') });
  const blobs = fsBlobStore(join(dir, 'blobs'));
  const mail = new MailService({ store, blobs, events: memoryEventBus(), log: silentLogger });
  try {
    const ds = new DirectoryService(store);
    await ds.addDomain('example.com');
    const acc = await ds.addAccount('a@example.com', null);
    const inbox = (await store.getMailbox(acc.id, 'INBOX'))!;
    const keep = await mail.append(acc.id, inbox.id, Buffer.from('Subject: keep\r\n\r\nkeep\r\n'));
    const gone = await mail.append(acc.id, inbox.id, Buffer.from('Subject: gone\r\n\r\ngone\r\n'));
    const orphan = await blobs.put(Buffer.from('written but never committed'));
    const goneHash = (await store.getBody((await store.listMessages(inbox.id, { uids: [gone.uid] }))[0].bodyId))!.hash;
    await mail.expunge(inbox, [gone.uid]);
    const seen = new Map<string, number>();
    // Within the grace period nothing goes.
    assert.deepEqual(await collectBlobs(store.db, blobs, { graceMs: 60_000, seen }), { examined: 3, removed: 0 });
    // Later: the expunged message's blob and the orphan go; the referenced one stays.
    const later = Date.now() + 120_000;
    const r = await collectBlobs(store.db, blobs, { graceMs: 60_000, now: later, seen });
    assert.equal(r.removed, 2);
    assert.equal(await blobs.has(goneHash), false);
    assert.equal(await blobs.has(orphan.hash), false);
    const [kept] = await store.listMessages(inbox.id, { uids: [keep.uid] });
    assert.equal((await (await mail.source(kept)).read()).toString(), 'Subject: keep\r\n\r\nkeep\r\n');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
