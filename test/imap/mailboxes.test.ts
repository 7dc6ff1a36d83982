// Mailbox commands as transcripts: CREATE (with USE), DELETE, RENAME (INBOX too), SUBSCRIBE, LIST with
// LIST-EXTENDED / LIST-STATUS / SPECIAL-USE, LSUB, STATUS, QUOTA, modified UTF-7 and UTF8=ACCEPT names.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({
    users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank', 'ivan', 'judy', 'kate'],
  });
});
after(() => f.stop());

test('LIST: default mailboxes with special use, children, the delimiter query', async () => {
  const c = await f.login('bob@example.com');
  const r = await c.cmd('LIST "" "*"');
  assert.deepEqual(r.lines, [
    '* LIST (\\HasNoChildren) "/" INBOX',
    '* LIST (\\HasNoChildren \\Archive) "/" Archive',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
  ]);
  assert.deepEqual((await c.cmd('LIST "" ""')).lines, ['* LIST (\\Noselect) "/" ""']);
  assert.deepEqual((await c.cmd('LIST "" inbox')).lines, ['* LIST (\\HasNoChildren) "/" INBOX']);
  const su = await c.cmd('LIST (SPECIAL-USE) "" "*" RETURN (SPECIAL-USE)');
  assert.equal(su.lines.length, 5);
  c.close();
});

test('CREATE makes parents; LIST % shows levels; DELETE keeps children; RENAME moves the subtree', async () => {
  const c = await f.login('carol@example.com');
  assert.match((await c.cmd('CREATE Projects/2024/Q1/')).tagged, /OK/);
  assert.match((await c.cmd('CREATE Projects')).tagged, /NO \[ALREADYEXISTS\]/);
  assert.match((await c.cmd('CREATE INBOX')).tagged, /NO \[ALREADYEXISTS\]/);
  assert.match((await c.cmd('CREATE "a//b"')).tagged, /BAD/);
  assert.match((await c.cmd('CREATE "a*b"')).tagged, /BAD/);
  assert.deepEqual((await c.cmd('LIST "" Projects/%')).lines, ['* LIST (\\HasChildren) "/" Projects/2024']);
  assert.deepEqual((await c.cmd('LIST Projects/ %')).lines, ['* LIST (\\HasChildren) "/" Projects/2024']);
  assert.match((await c.cmd('DELETE Projects/2024')).tagged, /OK/);
  assert.deepEqual((await c.cmd('LIST "" Projects/*')).lines, [
    '* LIST (\\Noselect \\HasChildren) "/" Projects/2024',
    '* LIST (\\HasNoChildren) "/" Projects/2024/Q1',
  ]);
  assert.match((await c.cmd('RENAME Projects Work/Old')).tagged, /OK/);
  assert.deepEqual((await c.cmd('LIST "" Work/*')).lines, [
    '* LIST (\\HasChildren) "/" Work/Old',
    '* LIST (\\Noselect \\HasChildren) "/" Work/Old/2024',
    '* LIST (\\HasNoChildren) "/" Work/Old/2024/Q1',
  ]);
  assert.match((await c.cmd('RENAME Nope Other')).tagged, /NO \[NONEXISTENT\]/);
  assert.match((await c.cmd('RENAME Work Sent')).tagged, /NO \[ALREADYEXISTS\]/);
  assert.match((await c.cmd('DELETE INBOX')).tagged, /NO \[CANNOT\]/);
  assert.match((await c.cmd('DELETE Nope')).tagged, /NO \[NONEXISTENT\]/);
  c.close();
});

test('RENAME INBOX moves its messages and leaves INBOX empty', async () => {
  const c = await f.login('dave@example.com');
  await c.cmd(appendCmd('INBOX', msg('one')));
  await c.cmd(appendCmd('INBOX', msg('two')));
  assert.match((await c.cmd('RENAME INBOX Old-Inbox')).tagged, /OK/);
  assert.deepEqual((await c.cmd('STATUS INBOX (MESSAGES)')).lines, ['* STATUS INBOX (MESSAGES 0)']);
  assert.deepEqual((await c.cmd('STATUS Old-Inbox (MESSAGES)')).lines, ['* STATUS Old-Inbox (MESSAGES 2)']);
  // Into a child of INBOX too (RFC 9051 section 6.3.6: INBOX's inferiors are unaffected; INBOX stays).
  await c.cmd(appendCmd('INBOX', msg('three')));
  assert.match((await c.cmd('RENAME INBOX INBOX/2025')).tagged, /OK/);
  assert.deepEqual((await c.cmd('STATUS INBOX (MESSAGES)')).lines, ['* STATUS INBOX (MESSAGES 0)']);
  assert.deepEqual((await c.cmd('STATUS INBOX/2025 (MESSAGES)')).lines, ['* STATUS INBOX/2025 (MESSAGES 1)']);
  // Any other mailbox still cannot go into itself.
  await c.cmd('CREATE Work');
  assert.match((await c.cmd('RENAME Work Work/inner')).tagged, /NO \[CANNOT\]/);
  c.close();
});

test('CREATE-SPECIAL-USE, SUBSCRIBE, LSUB, LIST (SUBSCRIBED RECURSIVEMATCH), LIST-STATUS', async () => {
  const c = await f.login('erin@example.com');
  assert.match((await c.cmd('CREATE Stuff (USE (\\Flagged))')).tagged, /OK \[MAILBOXID \(M\d+\)\] CREATE completed/);
  assert.match((await c.cmd('CREATE Bad (USE (\\Nope))')).tagged, /NO \[USEATTR\]/);
  assert.deepEqual((await c.cmd('LIST "" Stuff')).lines, ['* LIST (\\HasNoChildren \\Flagged) "/" Stuff']);
  await c.cmd('CREATE Lists/Rust');
  await c.cmd('SUBSCRIBE Lists/Rust');
  await c.cmd('SUBSCRIBE Gone');
  const sub = await c.cmd('LIST (SUBSCRIBED) "" "*"');
  assert.ok(sub.lines.includes('* LIST (\\HasNoChildren \\Subscribed) "/" Lists/Rust'), sub.raw);
  assert.ok(sub.lines.includes('* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" Gone'), sub.raw);
  const rec = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"');
  assert.ok(rec.lines.includes('* LIST (\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))'), rec.raw);
  const lsub = await c.cmd('LSUB "" "Lists/*"');
  assert.deepEqual(lsub.lines, ['* LSUB () "/" Lists/Rust']);
  await c.cmd('UNSUBSCRIBE Gone');
  assert.ok(!(await c.cmd('LSUB "" "*"')).raw.includes('Gone'));
  await c.cmd(appendCmd('Stuff', msg('x'), '\\Seen'));
  const st = await c.cmd('LIST "" Stuff RETURN (STATUS (MESSAGES UNSEEN SIZE))');
  assert.deepEqual(st.lines, [
    '* LIST (\\HasNoChildren \\Flagged) "/" Stuff',
    `* STATUS Stuff (MESSAGES 1 UNSEEN 0 SIZE ${Buffer.byteLength(msg('x'))})`,
  ]);
  assert.match((await c.cmd('LIST (BOGUS) "" "*"')).tagged, /BAD/);
  c.close();
});

test('LIST (SPECIAL-USE RECURSIVEMATCH): RECURSIVEMATCH goes with any other selection option (RFC 5258 3.1)', async () => {
  const c = await f.login('ivan@example.com');
  assert.match((await c.cmd('CREATE Projects/Starred (USE (\\Flagged))')).tagged, /OK/);
  const r = await c.cmd('LIST (SPECIAL-USE RECURSIVEMATCH) "" "%"');
  assert.match(r.tagged, /OK/);
  assert.deepEqual(r.lines, [
    '* LIST (\\HasNoChildren \\Archive) "/" Archive',
    '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
    '* LIST (\\HasNoChildren \\Junk) "/" Junk',
    '* LIST (\\HasChildren) "/" Projects ("CHILDINFO" ("SPECIAL-USE"))',
    '* LIST (\\HasNoChildren \\Sent) "/" Sent',
    '* LIST (\\HasNoChildren \\Trash) "/" Trash',
  ]);
  // Both criteria: a child must meet both for its parent to be listed.
  await c.cmd('UNSUBSCRIBE Projects/Starred');
  const both = await c.cmd('LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) "" "Projects"');
  assert.deepEqual(both.lines, []);
  await c.cmd('SUBSCRIBE Projects/Starred');
  const again = await c.cmd('LIST (SUBSCRIBED SPECIAL-USE RECURSIVEMATCH) "" "Projects"');
  assert.deepEqual(again.lines, ['* LIST (\\HasChildren) "/" Projects ("CHILDINFO" ("SUBSCRIBED" "SPECIAL-USE"))']);
  // Alone, or only with REMOTE, it is still BAD.
  assert.match((await c.cmd('LIST (RECURSIVEMATCH) "" "%"')).tagged, /BAD/);
  assert.match((await c.cmd('LIST (REMOTE RECURSIVEMATCH) "" "%"')).tagged, /BAD/);
  c.close();
});

test('STATUS items, QUOTA and the quota root', async () => {
  const c = await f.login('alice@example.com');
  await c.cmd(appendCmd('Drafts', msg('d'), '\\Draft \\Deleted'));
  const r = await c.cmd(
    'STATUS Drafts (MESSAGES UIDNEXT UIDVALIDITY UNSEEN DELETED SIZE RECENT HIGHESTMODSEQ MAILBOXID APPENDLIMIT)',
  );
  assert.match(
    r.lines[0],
    /^\* STATUS Drafts \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+ UNSEEN 1 DELETED 1 SIZE \d+ RECENT 1 HIGHESTMODSEQ \d+ MAILBOXID \(M\d+\) APPENDLIMIT \d+\)$/,
  );
  assert.match((await c.cmd('STATUS Drafts (BOGUS)')).tagged, /BAD/);
  assert.match((await c.cmd('STATUS Nope (MESSAGES)')).tagged, /NO \[NONEXISTENT\]/);
  const q = await c.cmd('GETQUOTAROOT INBOX');
  assert.deepEqual(q.lines, ['* QUOTAROOT INBOX'], 'no limit, no quota root');
  const acc = (await f.srv.app.store.getAccount('alice@example.com'))!;
  await f.srv.app.store.updateAccount(acc.id, { quotaBytes: 10 * 1024 * 1024, quotaMessages: 100 });
  const q2 = await c.cmd('GETQUOTAROOT INBOX');
  assert.deepEqual(q2.lines, ['* QUOTAROOT INBOX ""', '* QUOTA "" (STORAGE 1 10240 MESSAGE 1 100)']);
  assert.deepEqual((await c.cmd('GETQUOTA ""')).lines, ['* QUOTA "" (STORAGE 1 10240 MESSAGE 1 100)']);
  await f.srv.app.store.updateAccount(acc.id, { quotaBytes: null, quotaMessages: null });
  assert.match((await c.cmd('SETQUOTA "" (STORAGE 10)')).tagged, /NO \[NOPERM\]/);
  c.close();
});

test('names: modified UTF-7 by default, UTF-8 after ENABLE UTF8=ACCEPT', async () => {
  const c = await f.login('bob@example.com');
  assert.match((await c.cmd('CREATE Envoy&AOk-s')).tagged, /OK/);
  assert.deepEqual((await c.cmd('LIST "" Envoy*')).lines, ['* LIST (\\HasNoChildren) "/" Envoy&AOk-s']);
  assert.match((await c.cmd('CREATE &Jjo!')).tagged, /BAD/);
  c.close();
  const d = await f.login('bob@example.com');
  await d.cmd('ENABLE UTF8=ACCEPT');
  assert.deepEqual((await d.cmd('LIST "" Envoy*')).lines, ['* LIST (\\HasNoChildren) "/" "Envoyés"']);
  assert.match((await d.cmd('CREATE "Überweisungen"')).tagged, /OK/);
  assert.match((await d.cmd('SELECT "Envoyés"')).tagged, /OK/);
  d.close();
});

test('names that are not modified UTF-7 are refused, not stored under another name (RFC 3501 5.1.3)', async () => {
  const c = await f.login('gina@example.com');
  // A lone surrogate (half of a UTF-16 pair) and two shifted runs where one would do: each decoded to
  // a name that encodes differently, so the mailbox created was not the one LIST then showed.
  for (const bad of ['&2D0-', '&3gA-', 'x&2D0-y', '&Jjo-&Jjo-', '&AOk-&AOk-s'])
    assert.match((await c.cmd(`CREATE ${bad}`)).tagged, /^\S+ BAD /, bad);
  assert.match((await c.cmd('CREATE &2D3eAA-')).tagged, /OK/); // U+1F600, a whole pair
  assert.match((await c.cmd('CREATE &JjomOg-')).tagged, /OK/); // two U+263A in one run
  assert.deepEqual((await c.cmd('LIST "" (&JjomOg- &2D3eAA- &Jjo- &2D0-)')).lines, [
    '* LIST (\\HasNoChildren) "/" &JjomOg-',
    '* LIST (\\HasNoChildren) "/" &2D3eAA-',
  ]);
  c.close();
});

test('8-bit names must be Net-Unicode: invalid UTF-8, C1 controls and non-NFC names are refused (RFC 9051 5.1)', async () => {
  const c = await f.login('hank@example.com');
  await c.cmd('ENABLE UTF8=ACCEPT');
  const create = async (name: Buffer) => {
    const tag = c.nextTag();
    c.send(Buffer.concat([Buffer.from(`${tag} CREATE "`), name, Buffer.from('"\r\n')]));
    return (await c.until(tag)).tagged;
  };
  // Each of these was stored as "bad\uFFFD": three names the client thought distinct, one mailbox.
  assert.match(await create(Buffer.from('bad\xff', 'latin1')), /^\S+ BAD /);
  assert.match(await create(Buffer.from('bad\xc3', 'latin1')), /^\S+ BAD /);
  assert.match(await create(Buffer.from('bad\xed\xa0\x80', 'latin1')), /^\S+ BAD /); // an encoded surrogate
  assert.match(await create(Buffer.from('c1\u0085ctl')), /^\S+ BAD /);
  assert.match(await create(Buffer.from('cafe\u0301')), /^\S+ BAD /); // NFD: "café" as e + combining accent
  assert.match(await create(Buffer.from('caf\u00e9')), /^\S+ OK /);
  const list = await c.cmd('LIST "" *');
  assert.deepEqual(
    list.lines.filter((l) => !/ (INBOX|Archive|Drafts|Junk|Sent|Trash)$/.test(l)),
    ['* LIST (\\HasNoChildren) "/" "café"'],
  );
  // Without UTF8=ACCEPT too: a UTF-8 name is taken (IMAP4rev2), invalid UTF-8 is not.
  const d = await f.login('hank@example.com');
  const tag = d.nextTag();
  d.send(Buffer.concat([Buffer.from(`${tag} CREATE "x`), Buffer.from([0xff]), Buffer.from('"\r\n')]));
  assert.match((await d.until(tag)).tagged, /^\S+ BAD /);
  c.close();
  d.close();
});

test('"[" is an ATOM-CHAR: names, patterns and keywords with an unclosed "[" are atoms (RFC 9051 section 9)', async () => {
  const c = await f.login('judy@example.com');
  // Only a fetch attribute's section (BODY[...], BINARY[...]) is bracketed; elsewhere "[" needs no "]".
  assert.match((await c.cmd('CREATE a[b')).tagged, /OK/);
  assert.deepEqual((await c.cmd('LIST "" a[*')).lines, ['* LIST (\\HasNoChildren) "/" "a[b"']);
  assert.match((await c.cmd('STATUS a[b (MESSAGES)')).tagged, /OK/);
  assert.match((await c.cmd(appendCmd('a[b', msg('bracket'), 'x[y'))).tagged, /OK \[APPENDUID/);
  assert.match((await c.cmd('SELECT a[b')).tagged, /OK/);
  assert.match((await c.cmd('STORE 1 +FLAGS (k[1 m}2)')).tagged, /OK/);
  assert.deepEqual((await c.cmd('FETCH 1 (FLAGS)')).lines, ['* 1 FETCH (FLAGS (x[y k[1 m}2 \\Recent))']);
  assert.deepEqual((await c.cmd('SEARCH KEYWORD k[1')).lines, ['* SEARCH 1']);
  // Sections still take spaces and parentheses, and an unclosed one is still an error.
  const h = await c.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)])');
  assert.match(h.lines[0], /^\* 1 FETCH \(BODY\[HEADER\.FIELDS \(Subject\)\] \{20\}\r\nSubject: bracket\r\n\r\n\)$/);
  assert.match((await c.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject))')).tagged, /BAD/);
  c.close();
});

test('LIST with a pattern that backtracks exponentially as a regex answers at once', async () => {
  // The old matcher was /^.*a.*a...b$/: against this 400-octet name, one LIST held the server for ever.
  const c = await f.login('frank@example.com');
  const long = 'a'.repeat(400);
  assert.match((await c.cmd(`CREATE ${long}`)).tagged, /OK/);
  const none = await c.cmd(`LIST "" "${'*a'.repeat(40)}b"`);
  assert.match(none.tagged, /OK/);
  assert.deepEqual(none.lines, []);
  const some = await c.cmd(`LIST "" "${'%a'.repeat(40)}*"`);
  assert.deepEqual(some.lines, [`* LIST (\\HasNoChildren) "/" ${long}`]);
  c.close();
});

test('LIST with hundreds of patterns against long names is refused with [LIMIT], not run on the event loop', async () => {
  // Each pattern is linear in each name, but 500 patterns x 200 names of 480 octets was ~15 s of
  // CPU in one command, the whole server waiting.
  const acc = (await f.srv.app.store.getAccount('kate@example.com'))!;
  for (let i = 0; i < 200; i++)
    await f.srv.app.mail.createMailbox(acc.id, `${String(i).padStart(3, '0')}${'a'.repeat(480)}`);
  const c = await f.login('kate@example.com');
  const many = Array.from({ length: 500 }, (_, i) => `*a*a*a*a*a*a*a*a*b${i}`).join(' ');
  assert.match((await c.cmd(`LIST "" (${many})`, 60000)).tagged, /^\S+ NO \[LIMIT\] /);
  // What clients ask is answered.
  assert.equal((await c.cmd('LIST "" *')).lines.length, 206);
  assert.equal((await c.cmd('LIST "" (INBOX 000* 199* Sent)')).lines.length, 4);
  assert.equal((await c.cmd('LIST (SUBSCRIBED) "" (*a*a*b %a%a%b)')).lines.length, 0);
  c.close();
});
