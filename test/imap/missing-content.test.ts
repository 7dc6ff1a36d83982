// A message whose content cannot be read (its blob file lost, or on a node that does not have it) while a
// FETCH renders it: the client gets a tagged NO after whole responses only, never a response line cut
// short with the tagged reply glued to it (which no client can parse: it waits for the rest).
import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({
    configure: (c) => {
      c.blobs.inline_max = 0; // every message in a file
    },
  });
});
after(() => f.stop());

test('FETCH of a message whose content is gone: a tagged NO on a line of its own, the session goes on', async () => {
  const c = await f.login();
  assert.match((await c.cmd(appendCmd('INBOX', msg('kept')))).tagged, /OK/);
  const blobs = join(f.srv.dataDir, 'blobs');
  const kept = new Set(readdirSync(blobs, { recursive: true }).map(String));
  assert.match((await c.cmd(appendCmd('INBOX', msg('lost')))).tagged, /OK/);
  for (const p of readdirSync(blobs, { recursive: true }).map(String))
    if (!kept.has(p) && p.length > 2) rmSync(join(blobs, p));
  await c.cmd('SELECT INBOX');

  const r = await c.cmd('FETCH 1:2 (UID BODY.PEEK[])');
  assert.equal(r.lines.length, 1, r.raw);
  assert.match(r.lines[0], /^\* 1 FETCH \(UID 1 BODY\[\] \{\d+\}\r\n[\s\S]*Subject: kept[\s\S]*\)$/);
  assert.match(r.tagged, /^\S+ NO /);
  assert.match((await c.cmd('FETCH 2 (UID FLAGS)')).lines[0], /^\* 2 FETCH \(UID 2 FLAGS \(/);
  assert.match((await c.cmd('NOOP')).tagged, /OK/);
});

test('a literal cut short by a truncated file: the connection is closed, no reply inside the literal', async () => {
  const c = await f.login('bob@example.com');
  const blobs = join(f.srv.dataDir, 'blobs');
  const before = new Set(readdirSync(blobs, { recursive: true }).map(String));
  // Over 256 KiB: streamed from the file after the literal's header is sent.
  assert.match(
    (await c.cmd(appendCmd('INBOX', msg('big', 'x'.repeat(998).concat('\r\n').repeat(300))), 15000)).tagged,
    /OK/,
  );
  const file = readdirSync(blobs, { recursive: true })
    .map(String)
    .find((p) => !before.has(p) && statSync(join(blobs, p)).isFile())!;
  truncateSync(join(blobs, file), 100_000);
  await c.cmd('SELECT INBOX');
  c.send('x FETCH 1 BODY.PEEK[]\r\n');
  // The client would wait for the literal's missing octets for ever: the server ends the connection.
  await assert.rejects(c.until('x', 15000), /connection closed/);
});
