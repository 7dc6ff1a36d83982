// Real clients against a running Petrel: Python imaplib, imapflow (npm) and mbsync (isync).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ImapFlow } from 'imapflow';
import { peer } from '../helpers/peers.ts';
import { type ImapFixture, imapFixture, msg } from './fixture.ts';

const here = dirname(fileURLToPath(import.meta.url));
/** Child processes run asynchronously: the server under test lives in this process's event loop. */
const run = promisify(execFile);
let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice', 'bob', 'carol'] });
});
after(() => f.stop());

const py = peer('python3', 'python3');
test('Python imaplib drives the main commands', { skip: py.skip }, async () => {
  const r = await run('python3', [join(here, 'imaplib_flow.py'), String(f.port), 'alice@example.com', 'secret'], {
    encoding: 'utf8',
    timeout: 30000,
  });
  const o = JSON.parse(r.stdout);
  assert.ok(o.caps_before.includes('STARTTLS'));
  assert.equal(o.login, 'OK');
  assert.ok(o.caps.includes('IMAP4REV2') && o.caps.includes('AUTH=PLAIN'), o.caps.join(' '));
  assert.equal(o.namespace, '(("" "/")) NIL NIL');
  assert.equal(o.create, 'OK');
  assert.ok(o.list.includes('(\\HasChildren) "/" Lib'), o.list.join('|'));
  assert.ok(o.list.includes('(\\HasNoChildren) "/" Lib/Sub'));
  assert.equal(o.append[0], 'OK');
  assert.match(o.append[1][0], /^\[APPENDUID \d+ 1\] APPEND completed$/);
  assert.deepEqual(o.select, ['OK', '2']);
  assert.deepEqual(o.fetch[0], [
    '1 (FLAGS (\\Flagged \\Recent) RFC822.SIZE 73 BODY[HEADER.FIELDS (SUBJECT)] {20}',
    'Subject: imaplib\r\n\r\n',
  ]);
  assert.deepEqual(o.texts, ['body text\r\n', 'second\r\n']);
  assert.deepEqual(o.store, ['2 (FLAGS (\\Seen \\Deleted \\Recent))'], 'BODY[TEXT] set \\Seen');
  assert.equal(o.search, '1');
  assert.equal(o.uid_search, '1 2');
  assert.equal(o.copy[0], 'OK');
  assert.deepEqual(o.expunge, ['2']);
  assert.equal(o.status, 'Lib/Sub (MESSAGES 1 UNSEEN 0 UIDNEXT 3)');
  assert.equal(o.uid_move, 'OK');
  assert.equal(o.quota, 'OK');
  assert.equal(o.rename, 'OK');
  assert.equal(o.delete, 'OK');
  assert.equal(o.close, 'OK');
  assert.equal(o.logout, 'BYE');
});

test('imapflow: list, append, fetch, flags, search, move, idle, condstore', async () => {
  const client = new ImapFlow({
    host: '127.0.0.1',
    port: f.port,
    secure: false,
    doSTARTTLS: false,
    auth: { user: 'bob@example.com', pass: 'secret' },
    logger: false,
  });
  await client.connect();
  try {
    const boxes = await client.list();
    assert.deepEqual(boxes.map((b) => [b.path, b.specialUse ?? '']).sort(), [
      ['Archive', '\\Archive'],
      ['Drafts', '\\Drafts'],
      ['INBOX', '\\Inbox'],
      ['Junk', '\\Junk'],
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
    ]);
    const ap = await client.append('INBOX', msg('flow one', 'first body'), ['\\Seen']);
    assert.ok(ap && ap.uid === 1);
    await client.append('INBOX', msg('flow two', 'second body'));
    const lock = await client.getMailboxLock('INBOX');
    try {
      const box = client.mailbox;
      assert.ok(box && box.exists === 2);
      const seen: string[] = [];
      for await (const m of client.fetch('1:*', { envelope: true, flags: true, bodyStructure: true, source: true })) {
        seen.push(`${m.uid} ${m.envelope?.subject} ${[...(m.flags ?? [])].join(',')} ${m.bodyStructure?.type}`);
        assert.ok(m.source?.toString().includes('body'));
      }
      // imapflow enables IMAP4rev2: no \Recent (RFC 9051 removed it).
      assert.deepEqual(seen, ['1 flow one \\Seen text/plain', '2 flow two  text/plain']);
      await client.messageFlagsAdd({ uid: '2' }, ['\\Flagged'], { uid: true });
      assert.deepEqual(await client.search({ flagged: true }, { uid: true }), [2]);
      const dl = await client.download('2', '1', { uid: true });
      let text = '';
      for await (const chunk of dl.content ?? []) text += chunk.toString();
      assert.equal(text, 'second body\r\n');
      const mv = await client.messageMove({ uid: '1' }, 'Archive', { uid: true });
      assert.ok(mv && mv.uidMap?.get(1) === 1);
    } finally {
      lock.release();
    }
    // IDLE: a delivery wakes the client.
    const exists = new Promise<number>((resolve) => client.on('exists', (e) => resolve(e.count)));
    void client.idle();
    const acc = (await f.srv.app.store.getAccount('bob@example.com'))!;
    setTimeout(() => f.srv.app.mail.deliver(Buffer.from(msg('flow three')), [{ accountId: acc.id }]), 300);
    assert.equal(await exists, 2);
    const st = await client.status('Archive', { messages: true, highestModseq: true });
    assert.ok(st);
    assert.equal(st.messages, 1);
    assert.ok(typeof st.highestModseq === 'bigint' && st.highestModseq > 0n);
  } finally {
    await client.logout();
  }
});

const mbsync = peer('mbsync', 'isync');
test('mbsync syncs a mailbox tree both ways; a second sync changes nothing', { skip: mbsync.skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-mbsync-'));
  try {
    const local = join(dir, 'mail');
    mkdirSync(local);
    // A local Maildir++ folder with one message that must reach the server.
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(local, 'Local', sub), { recursive: true });
    writeFileSync(join(local, 'Local', 'cur', '1700000000.1.host:2,S'), msg('from local', 'made offline'));
    const c = await f.login('carol@example.com');
    await c.cmd('CREATE Projects/Alpha');
    for (const s of ['inbox one', 'inbox two']) await c.cmd(`APPEND INBOX {${msg(s).length}+}\r\n${msg(s)}`);
    await c.cmd(`APPEND Projects/Alpha (\\Flagged) {${msg('alpha').length}+}\r\n${msg('alpha')}`);
    const rc = join(dir, 'mbsyncrc');
    writeFileSync(
      rc,
      `IMAPAccount petrel
Host 127.0.0.1
Port ${f.port}
User carol@example.com
Pass secret
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account petrel

MaildirStore local
Path ${local}/
Inbox ${local}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`,
    );
    const sync = async () => {
      const r = await run('mbsync', ['-c', rc, '-a', '-V'], { encoding: 'utf8', timeout: 60000 });
      return r.stdout + r.stderr;
    };
    const first = await sync();
    assert.match(first, /Channel all/);
    const count = (p: string) => readdirSync(join(local, p, 'cur')).length + readdirSync(join(local, p, 'new')).length;
    assert.equal(count('INBOX'), 2);
    assert.equal(count('Projects/Alpha'), 1);
    const alpha = [
      ...readdirSync(join(local, 'Projects/Alpha', 'cur')),
      ...readdirSync(join(local, 'Projects/Alpha', 'new')),
    ];
    assert.ok(
      alpha.some((n) => /,[A-Z]*F/.test(n)),
      `flag synced: ${alpha}`,
    );
    assert.deepEqual((await c.cmd('STATUS Local (MESSAGES)')).lines, ['* STATUS Local (MESSAGES 1)']);
    // The second sync is a no-op: no MODSEQ moves on the server, no file changes locally.
    const state = async () => {
      const boxes = (await c.cmd('LIST "" "*" RETURN (STATUS (MESSAGES HIGHESTMODSEQ))')).lines.filter((l) =>
        l.startsWith('* STATUS'),
      );
      const files = (await run('find', [local, '-type', 'f', '-not', '-name', '.mbsyncstate*'])).stdout
        .split('\n')
        .sort();
      return { boxes, files };
    };
    const before = await state();
    await sync();
    assert.deepEqual(await state(), before);
    c.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
