// SCRAM-SHA-256 on two Petrel nodes sharing one PostgreSQL database: an account's salt is in the store, so
// both nodes give the same one; the salt an unknown user gets must be the same on both too, or asking two
// nodes behind one name tells which accounts exist.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { imapScramSalt } from '../helpers/scram.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const url = pgTestUrl();
const skip = url ? undefined : PG_SKIP_REASON;
let a: TestServer;
let b: TestServer;

/** Only IMAP on each node. */
const imapOnly = (c: Config) => {
  for (const [name, l] of Object.entries(c.listeners)) if (name !== 'imap') l.enabled = false;
};

before(async () => {
  if (skip) return;
  a = await startTestServer({ backend: 'postgres', pgUrl: url, configure: imapOnly });
  b = await startTestServer({
    configure: (c) => {
      imapOnly(c);
      c.store.backend = 'postgres';
      c.store.postgres_url = a.app.config.store.postgres_url;
    },
  });
  await a.app.directory.addDomain('example.com');
  await a.app.directory.addAccount('alice@example.com', 'alice password');
});
after(async () => {
  await b?.stop();
  await a?.stop();
});

const salt = imapScramSalt;

test('both nodes give one salt for an account and one for an unknown user', { skip }, async () => {
  assert.equal(await salt(b.ports.imap, 'alice@example.com'), await salt(a.ports.imap, 'alice@example.com'));
  assert.equal(await salt(b.ports.imap, 'nobody@example.com'), await salt(a.ports.imap, 'nobody@example.com'));
});
