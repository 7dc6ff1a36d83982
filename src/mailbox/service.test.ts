// The mail service over a real store and blob directory: parse-once delivery, group commit, quotas,
// reading messages back with per-recipient prefixes, events.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isPetrelError } from '../core/errors.ts';
import type { MailEvent, Store } from '../core/ports.ts';
import { DirectoryService } from '../directory/service.ts';
import { fsBlobStore } from '../store/blob/fs.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { silentLogger } from '../telemetry/log.ts';
import { memoryEventBus } from './events.ts';
import { MailService } from './service.ts';

let dir: string;
let store: Store;
let mail: MailService;
let alice: number;
let bob: number;
const events: MailEvent[] = [];

const msg = (subject: string, body = 'Hello there, this is the body.') =>
  Buffer.from(
    `From: Sender <sender@remote.test>\r\nTo: alice@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\nDate: Tue, 1 Oct 2024 10:00:00 +0000\r\n\r\n${body}\r\n`,
  );

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'petrel-mail-'));
  store = await openSqliteStore({ path: join(dir, 'p.db') });
  const ev = memoryEventBus();
  mail = new MailService({ store, blobs: fsBlobStore(join(dir, 'blobs')), events: ev, log: silentLogger });
  const ds = new DirectoryService(store);
  await ds.addDomain('example.com');
  alice = (await ds.addAccount('alice@example.com', null)).id;
  bob = (await ds.addAccount('bob@example.com', null)).id;
  ev.subscribe(alice, (e) => events.push(e));
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('deliver: one content, two recipients, per-recipient prefix, byte-exact read back', async () => {
  const raw = msg('Greetings');
  const res = await mail.deliver(raw, [
    { accountId: alice, prefix: 'Delivered-To: alice@example.com\r\n' },
    { accountId: bob, prefix: 'Delivered-To: bob@example.com\r\n' },
  ]);
  assert.equal(res.length, 2);
  const inbox = (await store.getMailbox(alice, 'INBOX'))!;
  const [rec] = await store.listMessages(inbox.id);
  const src = await mail.source(rec);
  const expected = Buffer.concat([Buffer.from('Delivered-To: alice@example.com\r\n'), raw]);
  assert.equal(src.size, expected.length);
  assert.equal(rec.size, expected.length);
  assert.deepEqual(await src.read(), expected);
  assert.deepEqual(await src.read(5, 40), expected.subarray(5, 40));
  // The shifted structure points at the right bytes: header block and body.
  assert.equal((await src.read(src.root.bodyStart, src.root.bodyEnd)).toString(), 'Hello there, this is the body.\r\n');
  assert.match(
    (await src.read(src.root.headerStart, src.root.headerEnd)).toString(),
    /^Delivered-To: alice@example\.com\r\nFrom: /,
  );
  const bobInbox = (await store.getMailbox(bob, 'INBOX'))!;
  const [brec] = await store.listMessages(bobInbox.id);
  assert.equal(brec.bodyId, rec.bodyId, 'stored once for both recipients');
  assert.equal(src.envelope.subject, 'Greetings');
  assert.ok(events.some((e) => e.kind === 'append' && e.mailboxId === inbox.id));
  // Indexed for search on the way in.
  assert.deepEqual(await store.searchText(inbox.id, 'body', 'THIS IS THE'), [rec.uid]);
});

test('group commit: concurrent deliveries share transactions and all land', async () => {
  const inbox = (await store.getMailbox(bob, 'INBOX'))!;
  const before = (await store.getAccount(bob))!.modseq;
  const N = 50;
  await Promise.all(Array.from({ length: N }, (_, i) => mail.deliver(msg(`batch ${i}`), [{ accountId: bob }])));
  const after = (await store.getAccount(bob))!.modseq;
  assert.equal((await store.getMailbox(bob, inbox.id))!.messages, N + 1);
  assert.ok(after - before < N, `fewer transactions (${after - before}) than deliveries (${N})`);
});

test('quota: account limit refuses an append that would exceed it', async () => {
  const acc = (await store.getAccount(alice))!;
  await store.updateAccount(alice, { quotaBytes: acc.usedBytes + 300 });
  const inbox = (await store.getMailbox(alice, 'INBOX'))!;
  await mail.append(alice, inbox.id, msg('small'));
  await assert.rejects(mail.append(alice, inbox.id, msg('big', 'x'.repeat(400))), (e: unknown) =>
    isPetrelError(e, 'OVER_QUOTA'),
  );
  const q = await mail.quota(alice);
  assert.equal(q.account.limitBytes, acc.usedBytes + 300);
  await store.updateAccount(alice, { quotaBytes: null });
  // Domain quota counts every account of the domain.
  const d = (await store.getDomain('example.com'))!;
  const used = (await store.usage('domain', d.id)).bytes;
  await store.updateDomainQuota(d.id, used + 10, null);
  await assert.rejects(mail.checkQuota(bob, 100, 1), /domain quota exceeded/);
  await store.updateDomainQuota(d.id, null, null);
  await mail.checkQuota(bob, 100, 1);
});

test('exceeded: names the level a delivery would overrun, computing usage only where limits exist', async () => {
  const acc = (await store.getAccount(bob))!;
  assert.equal(await mail.exceeded(acc, 1_000_000, 1), null);
  await store.updateAccount(bob, { quotaMessages: acc.usedMessages + 1 });
  assert.equal(await mail.exceeded(bob, 10, 1), null);
  assert.equal(await mail.exceeded(bob, 10, 2), 'account');
  await store.updateAccount(bob, { quotaMessages: null });
  const d = (await store.getDomain('example.com'))!;
  const used = (await store.usage('domain', d.id)).bytes;
  await store.updateDomainQuota(d.id, used + 50, null);
  assert.equal(await mail.exceeded(bob, 40, 1), null);
  assert.equal(await mail.exceeded(bob, 60, 1), 'domain');
  await store.updateDomainQuota(d.id, null, null);
  const t = (await store.getTenant(acc.tenantId))!;
  await store.updateTenantQuota(t.id, null, 0);
  assert.equal(await mail.exceeded(bob, 1, 1), 'tenant');
  await store.updateTenantQuota(t.id, null, null);
});

test('copy checks quota; move and expunge publish events', async () => {
  const inbox = (await store.getMailbox(alice, 'INBOX'))!;
  const arch = (await store.getMailbox(alice, 'Archive'))!;
  const uids = await store.listUids(inbox.id);
  events.length = 0;
  const c = await mail.copy(inbox, uids.slice(0, 1), arch);
  assert.equal(c.pairs.length, 1);
  const m = await mail.move(inbox, uids.slice(1, 2), arch);
  assert.equal(m.pairs.length, 1);
  await mail.expunge(arch, [c.pairs[0][1]]);
  assert.deepEqual(
    events.map((e) => e.kind),
    ['append', 'append', 'expunge', 'expunge'],
  );
});

test('crlfSizes: stored at ingest for bare-LF content, counted from the blob once when a body lacks it', async () => {
  const bare = Buffer.from('Subject: lf\n\nline one\nline two');
  const res = await mail.deliver(bare, [{ accountId: bob, prefix: 'Delivered-To: bob@example.com\r\n' }]);
  const inbox = (await store.getMailbox(bob, 'INBOX'))!;
  const [rec] = await store.listMessages(inbox.id, { uids: [res[0].uid] });
  const expected = 'Delivered-To: bob@example.com\r\n'.length + 'Subject: lf\r\n\r\nline one\r\nline two\r\n'.length;
  assert.equal((await store.getBody(rec.bodyId))!.crlfSize, expected - 'Delivered-To: bob@example.com\r\n'.length);
  assert.deepEqual(await mail.crlfSizes([rec]), [expected]);
  // A body from before the column existed: a fresh service (empty cache) counts it and records the figure.
  await store.setBodyCrlfSize(rec.bodyId, null as unknown as number);
  const fresh = new MailService({ store, blobs: mail.blobs, events: memoryEventBus(), log: silentLogger });
  assert.deepEqual(await fresh.crlfSizes([rec]), [expected]);
  assert.equal((await store.getBody(rec.bodyId))!.crlfSize, expected - 'Delivered-To: bob@example.com\r\n'.length);
});
