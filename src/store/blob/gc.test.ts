// Blob garbage collection over a real store: unreferenced blobs go after the grace period, referenced
// and recently written ones stay.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
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
    // Within the grace period nothing goes.
    assert.deepEqual(await collectBlobs(store.db, blobs, { graceMs: 60_000 }), {
      examined: 3,
      removed: 0,
      temporary: 0,
    });
    // Later: the expunged message's blob and the orphan go; the referenced one stays.
    const later = Date.now() + 120_000;
    const r = await collectBlobs(store.db, blobs, { graceMs: 60_000, now: later });
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

// A put cut short (the process killed between the writer's open of its temporary file and the rename) leaves
// that file behind, under a name no listing of blobs yields: garbage collection removes it after the grace.
test('gc removes the temporary files of writes a crash cut short, after the grace period', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-gc-tmp-'));
  const store = await openSqliteStore({ path: join(dir, 'p.db') });
  const blobs = fsBlobStore(join(dir, 'blobs'));
  try {
    // A blob beside it (unreferenced: it goes after the grace too).
    const kept = await blobs.put(Buffer.from('a blob beside the leftover'));
    const sub = join(dir, 'blobs', kept.hash.slice(0, 2));
    // The name fs-writer.ts gives a blob file until its rename.
    const left = join(sub, `.tmp-${kept.hash.slice(0, 8)}-0123456789ab`);
    writeFileSync(left, 'half a message');
    await collectBlobs(store.db, blobs, { graceMs: 60_000 });
    assert.ok(existsSync(left), 'within the grace period it stays (a write may be running)');
    assert.deepEqual(await collectBlobs(store.db, blobs, { graceMs: 60_000, now: Date.now() + 120_000 }), {
      examined: 1,
      removed: 1,
      temporary: 1,
    });
    assert.deepEqual(readdirSync(sub), [], 'the leftover is gone');
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A collection sets a blob file aside (renamed) while it decides whether a delivery reused it; a crash in
// between leaves it under that name, where no read finds it. The next run puts it back, and decides again.
test('gc puts back a blob a crash left set aside, and the message reads again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-gc-aside-'));
  const store = await openSqliteStore({ path: join(dir, 'p.db') });
  const blobs = fsBlobStore(join(dir, 'blobs'));
  const mail = new MailService({ store, blobs, events: memoryEventBus(), log: silentLogger });
  try {
    const ds = new DirectoryService(store);
    await ds.addDomain('example.com');
    const acc = await ds.addAccount('a@example.com', null);
    const inbox = (await store.getMailbox(acc.id, 'INBOX'))!;
    const raw = 'Subject: aside\r\n\r\nset aside by a collection that crashed\r\n';
    const { uid } = await mail.append(acc.id, inbox.id, Buffer.from(raw));
    const [rec] = await store.listMessages(inbox.id, { uids: [uid] });
    const hash = (await store.getBody(rec.bodyId))!.hash;
    const file = join(dir, 'blobs', hash.slice(0, 2), hash);
    renameSync(file, join(dir, 'blobs', hash.slice(0, 2), `.gc-${hash}-0123456789ab`));
    await assert.rejects(
      mail.source(rec).then((s) => s.read()),
      /no such blob/,
    );
    const r = await collectBlobs(store.db, blobs, { graceMs: 60_000, now: Date.now() + 120_000 });
    assert.equal(r.removed, 0);
    assert.ok(existsSync(file));
    assert.equal((await (await mail.source(rec)).read()).toString(), raw);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// Queued mail holds its content (blobs.refs) however old the file is; let go of, it ages from that moment.
test('gc keeps what the outbound queue holds, and removes it an hour after the queue lets go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-gc-queue-'));
  const store = await openSqliteStore({ path: join(dir, 'p.db') });
  const blobs = fsBlobStore(join(dir, 'blobs'));
  try {
    const { hash, size } = await blobs.put(Buffer.from('Subject: queued\r\n\r\nfor another server\r\n'));
    const now = Date.now();
    await store.queue.insert({
      queueId: 'Q1',
      from: 'alice@example.com',
      blobHash: hash,
      size,
      envId: null,
      ret: null,
      smtpUtf8: false,
      requireTls: false,
      tlsOptional: false,
      bodyType: null,
      accountId: null,
      createdAt: now,
      expiresAt: now + 86400_000,
      warnAt: null,
      recipients: [{ address: 'bob@example.net', domain: 'example.net', orcpt: null, notify: null }],
    });
    const later = { graceMs: 3_600_000, now: now + 2 * 3_600_000 };
    assert.equal((await collectBlobs(store.db, blobs, later)).removed, 0);
    assert.equal(await blobs.has(hash), true);
    assert.equal(await store.queue.delete('Q1'), true);
    // Let go of just now: within the grace, however old the file.
    const old = new Date(now - 3 * 3_600_000);
    utimesSync(join(dir, 'blobs', hash.slice(0, 2), hash), old, old);
    assert.equal((await collectBlobs(store.db, blobs, { graceMs: 3_600_000 })).removed, 0);
    assert.equal((await collectBlobs(store.db, blobs, later)).removed, 1);
    assert.equal(await blobs.has(hash), false);
    assert.equal(await store.db.get('SELECT 1 AS one FROM blobs WHERE hash = ?', [hash]), undefined);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
