// Bayes expiry over the wire: an account's table holds tokens learned a month ago; a client (imapflow)
// APPENDs a message into Junk, which teaches spam, and that learn finds the table past
// spam.bayes.max_tokens: the month-old tokens go, the new message's stay, and the table's version moves
// so no cache serves the dropped counts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { parseMessage } from '../../src/mime/parse.ts';
import { tokenIds, tokenStreams } from '../../src/spam/bayes/tokenize.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const USER = 'eve@expiry.test';
const PASS = 'eve-expiry-secret';
const DAY = 86_400_000;
const MESSAGE = Buffer.from(
  'From: Deals <deals@shop.example>\r\nTo: eve@expiry.test\r\nSubject: Cheap watches today only\r\n' +
    'Message-ID: <junk-1@shop.example>\r\nDate: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n' +
    'Replica watches at a fraction of the price. Order now, stock is limited.\r\n',
);
const tokens = tokenIds(tokenStreams(MESSAGE, parseMessage(MESSAGE)));
// Ids no message makes: a month-old learn of 600 tokens.
const OLD = Array.from({ length: 600 }, (_, i) => 2 ** 51 + i);

let t: TestServer;
let accountId: number;
before(async () => {
  t = await startTestServer({
    configure: (c) => {
      c.bootstrap.domain = 'expiry.test';
      c.spam.bayes.max_tokens = tokens.length + 50;
    },
  });
  await t.app.directory.addDomain('expiry.test').catch(() => {});
  accountId = (await t.app.directory.addAccount(USER, PASS)).id;
  await t.app.store.bayes.learn(accountId, [{ digest: 'old', class: 'ham', tokens: OLD }], Date.now() - 30 * DAY);
});
after(() => t?.stop());

test('a learn past max_tokens drops the least recently learned tokens', async () => {
  const before = await t.app.store.bayes.totals(accountId);
  assert.equal((await t.app.store.bayes.counts(accountId, OLD)).size, OLD.length);
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: t.server.ports.imap,
    secure: false,
    doSTARTTLS: false,
    auth: { user: USER, pass: PASS },
    logger: false,
  });
  await client.connect();
  await client.append('Junk', MESSAGE);
  await client.logout();
  // Learning from the APPEND runs after the reply: wait for the spam count to move.
  const deadline = Date.now() + 10_000;
  while ((await t.app.store.bayes.totals(accountId)).spam === 0 && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  let left = OLD.length;
  while (Date.now() < deadline) {
    left = (await t.app.store.bayes.counts(accountId, OLD)).size;
    if (left === 0) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(left, 0, 'the month-old tokens are gone');
  assert.equal((await t.app.store.bayes.counts(accountId, tokens)).size, tokens.length, 'the new ones stay');
  const after = await t.app.store.bayes.totals(accountId);
  assert.deepEqual([after.spam, after.ham], [1, 1], 'message totals are not expired');
  assert.ok(after.version >= before.version + 2, 'learn and expiry each moved the version');
});
