// `petrel mail reindex` over the wire, on SQLite and PostgreSQL: messages APPENDed over IMAP are given the
// full-text rows an older version wrote (through SQL, below), SEARCH BODY/TEXT then miss words in them; the
// command, run as a real process beside the running server, rebuilds them and SEARCH finds the words. Also:
// scoping to accounts, a second run finding nothing to do, usage errors, and the warning `serve` logs.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parseMessage } from '../../src/mime/parse.ts';
import type { App } from '../../src/server/app.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { startTestServer } from '../helpers/server.ts';
import { appendCmd, type ImapFixture, imapFixture, msg, PASSWORD } from './fixture.ts';

const execFileP = promisify(execFile);

/** A text/plain part, a text/calendar part and a PDF attachment: the calendar's words and the file name are
 * what the old indexer left out (it read text/plain and text/html only, and no part headers). */
const invitation = [
  'From: Carol <carol@example.net>',
  'To: alice@example.com',
  'Subject: quarterly plans',
  'Date: Mon, 7 Dec 2026 10:00:00 +0000',
  'Message-ID: <invitation@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See the invitation below.',
  '--b1',
  'Content-Type: text/calendar; charset=utf-8; method=REQUEST',
  '',
  'BEGIN:VCALENDAR',
  'SUMMARY:Zebracrossing review',
  'END:VCALENDAR',
  '--b1',
  'Content-Type: application/pdf; name="aardvark-budget.pdf"',
  'Content-Disposition: attachment; filename="aardvark-budget.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQK',
  '--b1--',
  '',
].join('\r\n');

const csv = [
  'From: Dan <dan@example.net>',
  'To: bob@example.com',
  'Subject: counts',
  'Message-ID: <counts@example.net>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b2"',
  '',
  '--b2',
  'Content-Type: text/plain',
  '',
  'The counts are attached.',
  '--b2',
  'Content-Type: text/csv',
  '',
  'animal,count',
  'wombat,12',
  '--b2--',
  '',
].join('\r\n');

/** More than the parser's 1 MiB of text (and more than inline_max: its blob is a file), a word at the end. */
const long = `From: Erin <erin@example.net>\r\nTo: alice@example.com\r\nSubject: log\r\nMessage-ID: <log@example.net>\r\n\r\n${'filler line of the log\r\n'.repeat(50_000)}pastthecap\r\n`;

/**
 * Gives a stored message the full-text row the indexer before SEARCH_INDEX_VERSION 1 wrote, as that code did:
 * the top-level header fields as "name: value" lines, the text of the text/plain and text/html leaves only,
 * at most the first MiB, folded; text_cut 0 (migration 27's default) and index_version 0 (migration 28's).
 */
async function makeOld(app: App, address: string, subject: string, oldBodyText: string): Promise<void> {
  const acc = (await app.store.getAccount(address))!;
  const inbox = (await app.store.getMailbox(acc.id, 'INBOX'))!;
  const all = await app.store.listMessages(inbox.id);
  const body = (await app.store.getBodies(all.map((m) => m.bodyId))).find((b) => b.subject === subject);
  assert.ok(body, `no message "${subject}" for ${address}`);
  const raw = await app.blobs.get(body.hash, body.size);
  const headers = parseMessage(raw)
    .headerFields.map((h) => `${h.name}: ${h.value}`)
    .join('\n')
    .toLowerCase();
  const key = app.db.dialect === 'sqlite' ? 'rowid' : 'body_id';
  await app.db.run(`UPDATE body_text SET headers = ?, body = ? WHERE ${key} = ?`, [
    headers,
    oldBodyText.toLowerCase(),
    body.id,
  ]);
  await app.db.run('UPDATE bodies SET text_cut = 0, index_version = 0 WHERE id = ?', [body.id]);
}

/** `petrel mail ...` as an admin runs it beside the running server, on its data directory and database. */
async function petrel(app: App, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PETREL_SERVER_DATA_DIR: app.config.server.data_dir };
  if (app.config.store.backend === 'postgres') {
    env.PETREL_STORE_BACKEND = 'postgres';
    env.PETREL_STORE_POSTGRES_URL = app.config.store.postgres_url;
  }
  try {
    const r = await execFileP(process.execPath, [resolve('bin/petrel.js'), 'mail', ...args], {
      env,
      timeout: 60_000,
    });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

async function uidSearch(f: ImapFixture, user: string, criteria: string): Promise<string> {
  const c = await f.login(user);
  await c.cmd('SELECT INBOX');
  const r = await c.cmd(`UID SEARCH ${criteria}`);
  c.close();
  assert.match(r.tagged, /OK/);
  return r.lines.join('\n');
}

function suite(backend: 'sqlite' | 'postgres') {
  const url = pgTestUrl();
  const skip = backend === 'postgres' && !url ? PG_SKIP_REASON : undefined;
  describe(`petrel mail reindex on ${backend}`, { skip }, () => {
    let f: ImapFixture;
    before(async () => {
      f = await imapFixture({ backend, pgUrl: url, users: ['alice', 'bob'] });
      const a = await f.login('alice@example.com');
      assert.match((await a.cmd(appendCmd('INBOX', invitation))).tagged, /OK/);
      assert.match((await a.cmd(appendCmd('INBOX', long))).tagged, /OK/);
      a.close();
      const b = await f.login('bob@example.com');
      assert.match((await b.cmd(appendCmd('INBOX', csv))).tagged, /OK/);
      b.close();
    });
    after(() => f?.stop());

    test('SEARCH misses words in an old index; reindex of an account, then --all, makes it find them', async () => {
      const app = f.srv.app;
      const alice = 'alice@example.com';
      const bob = 'bob@example.com';
      // Freshly stored, every word is found.
      assert.equal(await uidSearch(f, alice, 'BODY zebracrossing'), '* SEARCH 1');
      assert.equal(await uidSearch(f, alice, 'BODY pastthecap'), '* SEARCH 2');

      await makeOld(app, alice, 'quarterly plans', 'See the invitation below.');
      await makeOld(app, alice, 'log', 'filler line of the log\n'.repeat(43_690));
      await makeOld(app, bob, 'counts', 'The counts are attached.');
      assert.equal(await uidSearch(f, alice, 'BODY invitation'), '* SEARCH 1');
      assert.equal(await uidSearch(f, alice, 'BODY zebracrossing'), '* SEARCH', 'text/calendar was not indexed');
      assert.equal(await uidSearch(f, alice, 'TEXT aardvark-budget'), '* SEARCH', 'part headers were not indexed');
      assert.equal(await uidSearch(f, alice, 'BODY pastthecap'), '* SEARCH', 'past the first MiB, not marked cut');
      assert.equal(await uidSearch(f, bob, 'BODY wombat'), '* SEARCH');

      let r = await petrel(app, 'reindex', alice, '--batch', '1');
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /^2 stored messages reindexed, 0 already current$/m);
      assert.match(r.out, /^1 stored message still with an old search index \(--all does every account\)$/m);
      assert.equal(await uidSearch(f, alice, 'BODY zebracrossing'), '* SEARCH 1');
      assert.equal(await uidSearch(f, alice, 'TEXT aardvark-budget'), '* SEARCH 1');
      assert.equal(await uidSearch(f, alice, 'BODY pastthecap'), '* SEARCH 2');
      assert.equal(await uidSearch(f, bob, 'BODY wombat'), '* SEARCH', "only alice's mail was reindexed");

      r = await petrel(app, 'reindex', '--all');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '1 stored message reindexed\n');
      assert.equal(await uidSearch(f, bob, 'BODY wombat'), '* SEARCH 1');

      // Idempotent: nothing left to do, and the index stays right.
      r = await petrel(app, 'reindex', '--all');
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '0 stored messages reindexed\n');
      r = await petrel(app, 'reindex', alice, bob);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '0 stored messages reindexed, 3 already current\n');
      assert.equal(await uidSearch(f, alice, 'OR BODY zebracrossing BODY pastthecap'), '* SEARCH 1 2');
    });

    test('delivery goes on while reindex runs beside the server, and every old message is rebuilt', async () => {
      const app = f.srv.app;
      const carol = 'carol@example.com';
      const acc = await app.directory.addAccount(carol, PASSWORD);
      const c = await f.login(carol);
      const n = 60;
      for (let i = 0; i < n; i++)
        assert.match((await c.cmd(appendCmd('INBOX', msg(`old ${i}`, `ordinary text with quokka ${i}`)))).tagged, /OK/);
      // The oldest kind of row: a body text that an older indexer never wrote (here: none at all).
      const key = app.db.dialect === 'sqlite' ? 'rowid' : 'body_id';
      const mine = '(SELECT body_id FROM messages WHERE account_id = ?)';
      await app.db.run(`UPDATE body_text SET body = '' WHERE ${key} IN ${mine}`, [acc.id]);
      await app.db.run(`UPDATE bodies SET index_version = 0 WHERE id IN ${mine}`, [acc.id]);
      assert.equal(await uidSearch(f, carol, 'BODY quokka'), '* SEARCH');

      // Small batches, so the command's transactions and the APPENDs' interleave.
      const run = petrel(app, 'reindex', carol, '--batch', '3');
      let done = false;
      void run.finally(() => {
        done = true;
      });
      let appended = 0;
      while (!done && appended < 200) {
        const r = await c.cmd(appendCmd('INBOX', msg(`new ${appended}`, 'fresh text with quokka')));
        assert.match(r.tagged, /OK \[APPENDUID/, 'an APPEND during the reindex');
        appended++;
      }
      const r = await run;
      assert.equal(r.code, 0, r.err);
      // Those appended before it listed carol's mail are counted current; those after, not at all.
      const m = /^(\d+) stored messages reindexed, (\d+) already current$/m.exec(r.out);
      assert.ok(m, r.out);
      assert.equal(Number(m[1]), n);
      assert.ok(Number(m[2]) <= appended, r.out);
      await c.cmd('SELECT INBOX');
      const hits = (await c.cmd('SEARCH RETURN (COUNT) BODY quokka')).lines.join('\n');
      assert.match(hits, new RegExp(`COUNT ${n + appended}$`));
      c.close();
    });

    test('a message whose content cannot be read is named, left as it was, and rebuilt by a later run', async () => {
      const app = f.srv.app;
      const dave = 'dave@example.com';
      const acc = await app.directory.addAccount(dave, PASSWORD);
      const c = await f.login(dave);
      // Past blobs.inline_max: the content is a file under <data_dir>/blobs.
      const big = msg('big', `${'padding text '.repeat(12_000)}numbat`);
      assert.match((await c.cmd(appendCmd('INBOX', big))).tagged, /OK/);
      const [rec] = await app.store.listMessages((await app.store.getMailbox(acc.id, 'INBOX'))!.id);
      const { hash } = (await app.store.getBody(rec.bodyId))!;
      await makeOld(app, dave, 'big', 'padding text');
      const file = join(app.config.server.data_dir, 'blobs', hash.slice(0, 2), hash);
      renameSync(file, `${file}.away`);
      let r = await petrel(app, 'reindex', dave);
      assert.equal(r.code, 1, r.out + r.err);
      assert.equal(
        r.out,
        '0 stored messages reindexed, 0 already current, 1 could not be read (left as they were; run again once restored)\n1 stored message still with an old search index (--all does every account)\n',
      );
      assert.match(r.err, new RegExp(`message content ${hash}: .*; left as it was`));
      assert.equal(await uidSearch(f, dave, 'BODY numbat'), '* SEARCH');
      renameSync(`${file}.away`, file);
      r = await petrel(app, 'reindex', dave);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, '1 stored message reindexed, 0 already current\n');
      assert.equal(await uidSearch(f, dave, 'BODY numbat'), '* SEARCH 1');
      c.close();
    });

    // The same code on both backends: once is enough (each case is a process of its own).
    if (backend === 'sqlite')
      test('usage errors say what is wrong', async () => {
        const app = f.srv.app;
        for (const [args, why] of [
          [[], /needs account addresses or --all/],
          [['alice@example.com', '--all'], /not both/],
          [['nobody@example.com'], /no such account: nobody@example\.com/],
          [['--all', '--batch', '0'], /--batch needs a number/],
        ] as const) {
          const r = await petrel(app, 'reindex', ...args);
          assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}${r.err}`);
          assert.match(r.err, why);
        }
        const r = await petrel(app, 'rebuild');
        assert.equal(r.code, 2);
        assert.match(r.err, /unknown mail subcommand: rebuild/);
      });
  });
}

suite('sqlite');
suite('postgres');

test('serve warns at start when stored messages have an old search index', async () => {
  const log = captureLog();
  const srv = await startTestServer({
    logTo: log.stream,
    logLevel: 'warn',
    async beforeServe(app) {
      await app.directory.addDomain('example.com');
      const acc = await app.directory.addAccount('alice@example.com', 'secret');
      await app.mail.deliver(Buffer.from(invitation), [{ accountId: acc.id }]);
      await app.mail.deliver(Buffer.from(csv), [{ accountId: acc.id }]);
      // As migration 28 leaves the bodies stored before it.
      await app.db.run('UPDATE bodies SET index_version = 0');
    },
  });
  try {
    const said = async () => {
      for (let i = 0; i < 100; i++) {
        const l = log.lines.find((x) => /search index from an older version/.test(x.msg));
        if (l) return l;
        await new Promise((r) => setTimeout(r, 50));
      }
      return undefined;
    };
    const line = await said();
    assert.ok(line, JSON.stringify(log.lines));
    assert.equal(line.messages, 2);
    assert.match(line.msg, /petrel mail reindex --all/);
  } finally {
    await srv.stop();
  }
});
