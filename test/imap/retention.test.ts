// Retention of Junk and Trash over the wire: messages an IMAP client APPENDed are deleted once they have
// been in Junk or Trash longer than [retention] allows (the run is given a later "now"), counted from when
// they were put there (SAVEDATE), not from when they arrived; INBOX is never touched; a session with Junk
// selected is told (EXPUNGE) and the quota usage goes down; "0" keeps everything.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Retention } from '../../src/mailbox/retention.ts';
import { ImapClient } from '../helpers/imap-line-client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'rita@retention.test';
const PASS = 'rita-secret-pw';
const DAY = 86_400_000;
let t: TestServer;
let accountId: number;

async function open(backend: 'sqlite' | 'postgres') {
  t = await startTestServer({ backend, pgUrl: process.env.PETREL_TEST_PG_URL });
  await t.app.directory.addDomain('retention.test');
  accountId = (await t.app.directory.addAccount(USER, PASS)).id;
}
after(() => t?.stop());

const msg = (subject: string) =>
  Buffer.from(
    `From: a@b.test\r\nTo: ${USER}\r\nSubject: ${subject}\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\nhi\r\n`,
  );

async function count(c: ImapClient, mailbox: string): Promise<number> {
  const r = await c.ok(`STATUS ${mailbox} (MESSAGES)`);
  return Number(/MESSAGES (\d+)/.exec(r.untagged.join(' '))![1]);
}

for (const backend of ['sqlite', 'postgres'] as const)
  test(`Junk and Trash are emptied of what is past its age; INBOX and newer mail stay; sessions are told (${backend})`, {
    skip: backend === 'postgres' && !process.env.PETREL_TEST_PG_URL ? 'PETREL_TEST_PG_URL is not set' : undefined,
  }, async () => {
    await t?.stop();
    await open(backend);
    const c = await ImapClient.open(t.ports.imap);
    const watcher = await ImapClient.open(t.ports.imap);
    try {
      await c.ok(`LOGIN ${USER} ${PASS}`);
      await watcher.ok(`LOGIN ${USER} ${PASS}`);
      // An old arrival date does not matter: what counts is when it was put in Junk (now).
      await c.ok('APPEND Junk (\\Seen) "01-Jan-2020 00:00:00 +0000" ', msg('junk 1'));
      await c.ok('APPEND Junk ', msg('junk 2'));
      await c.ok('APPEND Trash ', msg('trash 1'));
      await c.ok('APPEND INBOX "01-Jan-2020 00:00:00 +0000" ', msg('inbox 1'));
      await watcher.ok('SELECT Junk');
      const domainId = (await t.app.store.getAccount(accountId))!.domainId;
      const usedBefore = await t.app.store.usage('domain', domainId);

      // Ten days on: nothing is past 30 days in Junk or Trash.
      assert.equal(await t.app.retention.run(Date.now() + 10 * DAY), 0);
      assert.equal(await count(c, 'Junk'), 2);

      // Thirty-one days on: Junk and Trash emptied, INBOX kept.
      assert.equal(await t.app.retention.run(Date.now() + 31 * DAY), 3);
      assert.equal(await count(c, 'Junk'), 0);
      assert.equal(await count(c, 'Trash'), 0);
      assert.equal(await count(c, 'INBOX'), 1);
      // The session with Junk selected hears of both (highest sequence number first is fine).
      const noop = await watcher.ok('NOOP');
      assert.equal(noop.untagged.filter((l) => /^\d+ EXPUNGE$/.test(l)).length, 2);
      // What they took is free again.
      const usedAfter = await t.app.store.usage('domain', domainId);
      assert.equal(usedAfter.messages, usedBefore.messages - 3);
      assert.ok(usedAfter.bytes < usedBefore.bytes);
    } finally {
      c.close();
      watcher.close();
    }
  });

test('retention "0" keeps Junk and Trash as they are', async () => {
  await t?.stop();
  await open('sqlite');
  const c = await ImapClient.open(t.ports.imap);
  try {
    await c.ok(`LOGIN ${USER} ${PASS}`);
    await c.ok('APPEND Junk ', msg('kept'));
    const config = structuredClone(t.app.config);
    config.retention.junk = '0';
    config.retention.trash = '0';
    const keep = new Retention(config, { mail: t.app.mail, leases: t.app.store.leases, log: t.app.log });
    assert.equal(await keep.run(Date.now() + 365 * DAY), 0);
    assert.equal(await count(c, 'Junk'), 1);
  } finally {
    c.close();
  }
});
