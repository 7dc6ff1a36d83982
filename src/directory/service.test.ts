// Directory service over a real SQLite store: accounts, aliases, recipient resolution, logins.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { isPetrelError } from '../core/errors.ts';
import type { Store } from '../core/ports.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { DirectoryService } from './service.ts';

let dir: string;
let store: Store;
let ds: DirectoryService;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'petrel-dir-'));
  store = await openSqliteStore({ path: join(dir, 'p.db') });
  ds = new DirectoryService(store);
  await ds.addDomain('example.com');
  await ds.addDomain('other.org');
  await ds.addAccount('alice@example.com', 'pw-alice');
  await ds.addAccount('bob@example.com', 'pw-bob');
  await ds.addAccount('carol@other.org', 'pw-carol');
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const addrs = (r: Awaited<ReturnType<DirectoryService['resolve']>>) => r?.accounts.map((a) => a.address).sort() ?? null;

test('new accounts get the default mailboxes, subscribed', async () => {
  const a = await ds.requireAccount('alice@example.com');
  const names = (await store.listMailboxes(a.id)).map((m) => `${m.name}:${m.specialUse ?? ''}`);
  assert.deepEqual(names.sort(), [
    'Archive:\\Archive',
    'Drafts:\\Drafts',
    'INBOX:',
    'Junk:\\Junk',
    'Sent:\\Sent',
    'Trash:\\Trash',
  ]);
  assert.equal((await store.listSubscriptions(a.id)).length, 6);
});

test('clear errors: duplicate address, missing domain, bad address', async () => {
  const code = async (p: Promise<unknown>, c: string, msg: RegExp) =>
    assert.rejects(p, (e: unknown) => isPetrelError(e) && e.code === c && msg.test(e.message));
  await code(ds.addAccount('Alice@Example.com', 'x'), 'ALREADY_EXISTS', /already exists/);
  await code(ds.addAccount('dave@nowhere.test', 'x'), 'NOT_FOUND', /nowhere\.test is not hosted/);
  await code(ds.addAccount('not-an-address', 'x'), 'INVALID_ARGUMENT', /not a valid address/);
  await code(ds.addAccount('a b@example.com', 'x'), 'INVALID_ARGUMENT', /not a valid local part/);
  await code(ds.addAccount('x@exa mple.com', 'x'), 'INVALID_ARGUMENT', /not a valid domain/);
  await code(ds.addDomain('example.com'), 'ALREADY_EXISTS', /already exists/);
});

test('authenticate: right password only, case-insensitive user, disabled refused', async () => {
  assert.equal((await ds.authenticate('ALICE@example.com', 'pw-alice'))?.address, 'alice@example.com');
  assert.equal(await ds.authenticate('alice@example.com', 'wrong'), null);
  assert.equal(await ds.authenticate('nobody@example.com', 'pw-alice'), null);
  const bob = await ds.requireAccount('bob@example.com');
  await store.updateAccount(bob.id, { disabled: true });
  assert.equal(await ds.authenticate('bob@example.com', 'pw-bob'), null);
  await store.updateAccount(bob.id, { disabled: false });
});

test('resolve: accounts, +tags, aliases, groups, loops, catch-all, external targets', async () => {
  assert.deepEqual(addrs(await ds.resolve('alice@example.com')), ['alice@example.com']);
  assert.deepEqual(addrs(await ds.resolve('Alice+news@EXAMPLE.com')), ['alice@example.com']);
  assert.equal(await ds.resolve('nobody@example.com'), null);
  assert.equal(await ds.resolve('alice@elsewhere.test'), null, 'not a local domain');
  await ds.addAlias('sales@example.com', ['alice@example.com']);
  await ds.addAlias('team@example.com', ['sales@example.com', 'bob@example.com', 'carol@other.org']);
  await ds.addAlias('loop1@example.com', ['loop2@example.com']);
  await ds.addAlias('loop2@example.com', ['loop1@example.com', 'alice@example.com']);
  await ds.addAlias('fwd@example.com', ['someone@remote.test']);
  assert.deepEqual(addrs(await ds.resolve('sales@example.com')), ['alice@example.com']);
  assert.deepEqual(addrs(await ds.resolve('sales+x@example.com')), ['alice@example.com']);
  assert.deepEqual(addrs(await ds.resolve('team@example.com')), [
    'alice@example.com',
    'bob@example.com',
    'carol@other.org',
  ]);
  assert.deepEqual(addrs(await ds.resolve('loop1@example.com')), ['alice@example.com']);
  assert.deepEqual((await ds.resolve('fwd@example.com'))?.external, ['someone@remote.test']);
  await ds.addAlias('@other.org', ['carol@other.org']);
  assert.deepEqual(addrs(await ds.resolve('anything@other.org')), ['carol@other.org']);
  assert.deepEqual(addrs(await ds.resolve('carol@other.org')), ['carol@other.org']);
  await assert.rejects(ds.addAlias('alice@example.com', ['bob@example.com']), /already an account/);
  await assert.rejects(ds.addAccount('sales@example.com', 'x'), /already an alias/);
});

test('resolve: postmaster@ a domain without one goes to the configured postmaster; a missing one resolves to nothing', async () => {
  const withPm = new DirectoryService(store, { postmaster: 'carol@other.org' });
  assert.deepEqual(addrs(await withPm.resolve('POSTMASTER@example.com')), ['carol@other.org']);
  assert.equal(await withPm.resolve('postmaster@not-ours.test'), null, 'only for our domains');
  assert.equal(await withPm.resolve('webmaster@example.com'), null);
  const external = new DirectoryService(store, { postmaster: 'noc@provider.test' });
  assert.deepEqual((await external.resolve('postmaster@example.com'))?.external, ['noc@provider.test']);
  // Pointing at a postmaster@ of ours that has no mailbox either: nothing, not a loop.
  await ds.addDomain('third.test');
  const self = new DirectoryService(store, { postmaster: 'postmaster@third.test' });
  assert.equal(await self.resolve('postmaster@example.com'), null);
  assert.equal(await ds.resolve('postmaster@example.com'), null, 'no postmaster configured');
});

test('IDN: an account is found by its address as a U-label or an A-label; alias targets are stored as A-labels', async () => {
  await ds.addDomain('bücher.test');
  await ds.addAccount('dora@bücher.test', 'pw-dora');
  for (const given of ['dora@bücher.test', 'DORA@BÜCHER.TEST', 'dora@xn--bcher-kva.test']) {
    assert.equal((await ds.authenticate(given, 'pw-dora'))?.address, 'dora@xn--bcher-kva.test', given);
    assert.equal((await ds.requireAccount(given)).address, 'dora@xn--bcher-kva.test', given);
  }
  await ds.addAlias('books@example.com', ['dora@bücher.test', 'Friend@Bücher.Example']);
  assert.deepEqual((await store.getAlias('books@example.com'))?.targets, [
    'dora@xn--bcher-kva.test',
    'friend@xn--bcher-kva.example',
  ]);
  await assert.rejects(ds.addAlias('bad@example.com', ['x@exa_mple.com']), /not a valid target/);
  await ds.addAlias('shelf@bücher.test', ['dora@bücher.test']);
  await ds.removeAlias('shelf@BÜCHER.test');
  assert.equal(await store.getAlias('shelf@xn--bcher-kva.test'), undefined);
});
