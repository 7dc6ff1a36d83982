// SEARCH plumbing: plain SEARCH by number and UID, ESEARCH return options (RFC 4731), SEARCHRES SAVE
// and `$` (RFC 5182) with its reset rules, SORT and THREAD response shapes (RFC 5256); BODY and TEXT
// over what the message holds (RFC 9051 section 6.4.4).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ThreadNode } from '../../src/imap/search/api.ts';
import { formatThreads } from '../../src/imap/search/thread-format.ts';
import { appendCmd, type ImapFixture, imapFixture, msg } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({ users: ['alice', 'bob'] });
  const c = await f.login();
  for (let i = 1; i <= 6; i++) await c.cmd(appendCmd('INBOX', msg(`m${i}`), i % 2 ? '\\Seen' : ''));
  await c.cmd('SELECT INBOX');
  await c.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
  await c.cmd('EXPUNGE'); // UIDs 2..6 remain as 1..5
  c.close();
});
after(() => f.stop());

test('SEARCH answers sequence numbers, UID SEARCH answers UIDs', async () => {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  assert.deepEqual((await c.cmd('SEARCH UNSEEN')).lines, ['* SEARCH 1 3 5']);
  assert.deepEqual((await c.cmd('UID SEARCH UNSEEN')).lines, ['* SEARCH 2 4 6']);
  assert.deepEqual((await c.cmd('UID SEARCH SEEN UID 1:3')).lines, ['* SEARCH 3']);
  assert.deepEqual((await c.cmd('SEARCH DELETED')).lines, ['* SEARCH']);
  assert.match((await c.cmd('SEARCH FOO')).tagged, /BAD/);
  assert.match((await c.cmd('SEARCH CHARSET KLINGON ALL')).tagged, /NO \[BADCHARSET \(US-ASCII UTF-8\)\]/);
  c.close();
});

test('ESEARCH: MIN MAX COUNT ALL, RETURN () means ALL, no match omits MIN/MAX/ALL', async () => {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  const r = await c.cmd('SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN');
  assert.deepEqual(r.lines, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") MIN 1 MAX 5 ALL 1,3,5 COUNT 3`]);
  const u = await c.cmd('UID SEARCH RETURN () ALL');
  assert.deepEqual(u.lines, [`* ESEARCH (TAG "${u.tagged.split(' ')[0]}") UID ALL 2:6`]);
  const n = await c.cmd('SEARCH RETURN (MIN COUNT) DELETED');
  assert.deepEqual(n.lines, [`* ESEARCH (TAG "${n.tagged.split(' ')[0]}") COUNT 0`]);
  assert.match((await c.cmd('SEARCH RETURN (BOGUS) ALL')).tagged, /BAD/);
  c.close();
});

test('SEARCHRES: SAVE then $ in FETCH, STORE, SEARCH; MIN/MAX-only saves; reset on SELECT and failure', async () => {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  assert.deepEqual((await c.cmd('UID FETCH $ FLAGS')).lines, [], '$ starts empty');
  assert.deepEqual((await c.cmd('SEARCH RETURN (SAVE) UNSEEN')).lines, [], 'SAVE alone answers nothing');
  assert.deepEqual((await c.cmd('FETCH $ (UID)')).lines, [
    '* 1 FETCH (UID 2)',
    '* 3 FETCH (UID 4)',
    '* 5 FETCH (UID 6)',
  ]);
  assert.deepEqual((await c.cmd('UID SEARCH $ SEEN')).lines, ['* SEARCH']);
  assert.deepEqual((await c.cmd('UID SEARCH OR $ SEEN')).lines, ['* SEARCH 2 3 4 5 6']);
  const mm = await c.cmd('SEARCH RETURN (SAVE MIN MAX) ALL');
  assert.deepEqual(mm.lines, [`* ESEARCH (TAG "${mm.tagged.split(' ')[0]}") MIN 1 MAX 5`]);
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH 2 6']);
  await c.cmd('SEARCH RETURN (SAVE) FOO');
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH'], 'a failed SAVE empties $');
  await c.cmd('SEARCH RETURN (SAVE) ALL');
  await c.cmd('SELECT INBOX');
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH'], 'SELECT resets $');
  c.close();
});

test('IMAP4rev2 sessions get ESEARCH for a plain SEARCH', async () => {
  const c = await f.login();
  await c.cmd('ENABLE IMAP4rev2');
  await c.cmd('SELECT INBOX');
  const r = await c.cmd('UID SEARCH UNSEEN');
  assert.deepEqual(r.lines, [`* ESEARCH (TAG "${r.tagged.split(' ')[0]}") UID ALL 2,4,6`]);
  const n = await c.cmd('SEARCH DELETED');
  assert.deepEqual(n.lines, [`* ESEARCH (TAG "${n.tagged.split(' ')[0]}")`]);
  c.close();
});

test('SORT and THREAD responses', async () => {
  const c = await f.login();
  await c.cmd('SELECT INBOX');
  assert.deepEqual((await c.cmd('SORT (REVERSE ARRIVAL) UTF-8 ALL')).lines, ['* SORT 5 4 3 2 1']);
  assert.deepEqual((await c.cmd('UID SORT (ARRIVAL) UTF-8 UNSEEN')).lines, ['* SORT 2 4 6']);
  assert.deepEqual((await c.cmd('THREAD REFERENCES UTF-8 SEEN')).lines, ['* THREAD (2)(4)']);
  assert.match((await c.cmd('THREAD NOPE UTF-8 ALL')).tagged, /BAD/);
  c.close();
});

test('ESORT: SORT RETURN answers ESEARCH in sort order; MIN and MAX are its ends; SAVE (RFC 5267 section 3)', async () => {
  const c = await f.login();
  assert.match((await c.cmd('CAPABILITY')).lines[0], / ESORT /);
  await c.cmd('CREATE esort');
  // By subject: a (4) b (3) c (2) d (1) e (5) f (6) g (7).
  for (const s of ['d', 'c', 'b', 'a', 'e', 'f', 'g']) await c.cmd(appendCmd('esort', msg(s)));
  await c.cmd('SELECT esort');
  const esearch = async (cmd: string) => {
    const r = await c.cmd(cmd);
    assert.match(r.tagged, / OK /, cmd);
    const tag = r.tagged.split(' ')[0];
    assert.equal(r.lines.length, 1, cmd);
    assert.ok(r.lines[0].startsWith(`* ESEARCH (TAG "${tag}")`), r.lines[0]);
    return r.lines[0].slice(`* ESEARCH (TAG "${tag}")`.length);
  };
  // ALL keeps the sort order; a range only for numbers that ascend (section 3.2: 10:12 is 10,11,12).
  assert.equal(
    await esearch('SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL'),
    ' MIN 4 MAX 7 ALL 4,3,2,1,5:7 COUNT 7',
  );
  assert.equal(await esearch('UID SORT RETURN () (REVERSE SUBJECT) UTF-8 ALL'), ' UID ALL 7,6,5,1:4');
  assert.equal(await esearch('SORT RETURN (MAX) (REVERSE SUBJECT) UTF-8 UID 1:3'), ' MAX 3');
  assert.equal(await esearch('SORT RETURN (MIN MAX ALL) (SUBJECT) UTF-8 DELETED'), '');
  assert.equal(await esearch('SORT RETURN (COUNT) (SUBJECT) UTF-8 DELETED'), ' COUNT 0');
  // SAVE keeps what was returned: with MIN alone, the first message in sort order.
  assert.deepEqual((await c.cmd('SORT RETURN (SAVE) (SUBJECT) UTF-8 UID 2:3')).lines, []);
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH 2 3']);
  assert.equal(await esearch('UID SORT RETURN (SAVE MIN) (SUBJECT) UTF-8 ALL'), ' UID MIN 4');
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH 4']);
  assert.equal(await esearch('UID SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 OR $ UID 1:2'), ' UID ALL 1:2,4');
  assert.match((await c.cmd('SORT RETURN (SAVE) (SUBJECT) UTF-8 FOO')).tagged, /BAD/);
  assert.deepEqual((await c.cmd('UID SEARCH $')).lines, ['* SEARCH'], 'a failed SAVE empties $');
  assert.match((await c.cmd('SORT RETURN (BOGUS) (SUBJECT) UTF-8 ALL')).tagged, /BAD/);
  assert.match((await c.cmd('SORT RETURN ALL (SUBJECT) UTF-8 ALL')).tagged, /BAD/);
  // Without RETURN, SORT answers as RFC 5256 says, IMAP4rev2 or not (RFC 9051 has no SORT).
  assert.deepEqual((await c.cmd('SORT (SUBJECT) UTF-8 ALL')).lines, ['* SORT 4 3 2 1 5 6 7']);
  await c.cmd('ENABLE IMAP4rev2');
  assert.deepEqual((await c.cmd('SORT (SUBJECT) UTF-8 UID 1:2')).lines, ['* SORT 2 1']);
  c.close();
});

test('SORT=DISPLAY is advertised, and DISPLAYFROM/DISPLAYTO sort by display name (RFC 5957)', async () => {
  // Without the capability a client may not send DISPLAYFROM or DISPLAYTO (RFC 5957 section 3).
  const c = await f.login('bob@example.com');
  assert.match((await c.cmd('CAPABILITY')).lines[0], / SORT SORT=DISPLAY /);
  await c.cmd('CREATE display');
  for (const from of ['"Zoe" <adam@example.com>', 'bert@example.com', '"Al" <zed@example.com>'])
    await c.cmd(appendCmd('display', `From: ${from}\r\nTo: ${from}\r\nSubject: s\r\n\r\nx\r\n`));
  await c.cmd('SELECT display');
  // By the display name, else the address: "Al", "bert@example.com", "Zoe"; FROM sorts by mailbox.
  assert.deepEqual((await c.cmd('SORT (DISPLAYFROM) UTF-8 ALL')).lines, ['* SORT 3 2 1']);
  assert.deepEqual((await c.cmd('SORT (REVERSE DISPLAYTO) UTF-8 ALL')).lines, ['* SORT 1 2 3']);
  assert.deepEqual((await c.cmd('SORT (FROM) UTF-8 ALL')).lines, ['* SORT 1 2 3']);
  c.close();
});

test('SEARCH BODY and TEXT find text that follows a NUL octet in the body', async () => {
  const c = await f.login();
  await c.cmd('CREATE nul');
  const m = msg('nul', 'first\u0000 second target');
  // A literal8 (RFC 3516) is how a client sends a message holding NUL.
  assert.match((await c.cmd(`APPEND nul ~{${Buffer.byteLength(m)}+}\r\n${m}`)).tagged, /OK/);
  await c.cmd('SELECT nul');
  assert.deepEqual((await c.cmd('SEARCH BODY first')).lines, ['* SEARCH 1']);
  assert.deepEqual((await c.cmd('SEARCH BODY "second target"')).lines, ['* SEARCH 1']);
  assert.deepEqual((await c.cmd('SEARCH TEXT target')).lines, ['* SEARCH 1']);
  c.close();
});

/** A multipart/mixed message of the given parts (each its header, blank line, body). */
function multipart(subject: string, ...parts: string[]): string {
  return msg(
    subject,
    `${parts.map((p) => `--x\r\n${p}\r\n`).join('')}--x--`,
    'Content-Type: multipart/mixed; boundary="x"\r\n',
  );
}

test('SEARCH TEXT matches MIME header fields of body parts and the header of an attached message', async () => {
  const c = await f.login();
  await c.cmd('CREATE mimeheaders');
  const msgs = [
    multipart(
      'pdf',
      'Content-Type: text/plain\r\n\r\nhello',
      'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="quarterlyreport.pdf"\r\n\r\nJVBERi0=',
    ),
    multipart(
      'forward',
      'Content-Type: text/plain\r\n\r\nhello',
      'Content-Type: message/rfc822\r\n\r\nSubject: =?utf-8?q?inner_subj=C3=A9ct?=\r\n\r\nbody',
    ),
  ];
  for (const m of msgs) await c.cmd(appendCmd('mimeheaders', m));
  await c.cmd('SELECT mimeheaders');
  // RFC 9051 section 6.4.4: TEXT looks "in the header (including MIME header fields) or body".
  assert.deepEqual((await c.cmd('SEARCH TEXT quarterlyreport')).lines, ['* SEARCH 1']);
  assert.deepEqual((await c.cmd('SEARCH CHARSET UTF-8 TEXT "inner subjéct"')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH TEXT application/pdf')).lines, ['* SEARCH 1']);
  // BODY is the body's text only; SUBJECT and HEADER are the top-level header's fields.
  assert.deepEqual((await c.cmd('SEARCH BODY quarterlyreport')).lines, ['* SEARCH']);
  assert.deepEqual((await c.cmd('SEARCH SUBJECT inner')).lines, ['* SEARCH']);
  assert.deepEqual((await c.cmd('SEARCH HEADER Content-Disposition quarterly')).lines, ['* SEARCH']);
  c.close();
});

test('SEARCH BODY finds words in every text/* part, not only text/plain and text/html', async () => {
  const c = await f.login();
  await c.cmd('CREATE textparts');
  const msgs = [
    multipart('csv', 'Content-Type: text/plain\r\n\r\nhello', 'Content-Type: text/csv\r\n\r\ncsvword,2,3'),
    multipart('ics', 'Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nSUMMARY:calword\r\nEND:VCALENDAR'),
    msg('enriched', '<bold>richword</bold>', 'Content-Type: text/enriched\r\n'),
  ];
  for (const m of msgs) await c.cmd(appendCmd('textparts', m));
  await c.cmd('SELECT textparts');
  assert.deepEqual((await c.cmd('SEARCH BODY csvword')).lines, ['* SEARCH 1']);
  assert.deepEqual((await c.cmd('SEARCH BODY calword')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH TEXT richword')).lines, ['* SEARCH 3']);
  c.close();
});

test('SEARCH BODY and TEXT find text past the first MB of a message, the index holding only that', async () => {
  const c = await f.login();
  await c.cmd('CREATE longtext');
  const filler = 'filler '.repeat(160_000); // 1.1 MB: past the parser's maxTextLength
  const html = Buffer.from(`<p>${filler}</p><script>var scriptword = 1;</script><p>html<b>nest</b>edword</p>`);
  const msgs = [
    msg('plain', `${filler}deepword`, 'Content-Type: text/plain\r\n'),
    multipart(
      'base64 html',
      `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${html.toString('base64').replace(/.{76}/g, '$&\r\n')}`,
      'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="lateattachment.pdf"\r\n\r\nJVBERi0=',
    ),
    msg('short', 'filler deepword'),
  ];
  for (const m of msgs) assert.match((await c.cmd(appendCmd('longtext', m), 30_000)).tagged, /OK/);
  await c.cmd('SELECT longtext');
  assert.deepEqual((await c.cmd('SEARCH BODY deepword')).lines, ['* SEARCH 1 3']);
  assert.deepEqual((await c.cmd('SEARCH TEXT deepword')).lines, ['* SEARCH 1 3']);
  assert.deepEqual((await c.cmd('SEARCH BODY htmlnestedword')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH BODY scriptword')).lines, ['* SEARCH'], 'a script is not text');
  // The MIME header of a part after the long one: TEXT, not BODY.
  assert.deepEqual((await c.cmd('SEARCH TEXT lateattachment')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH BODY lateattachment')).lines, ['* SEARCH']);
  assert.deepEqual((await c.cmd('SEARCH NOT BODY deepword')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH BODY absentword')).lines, ['* SEARCH']);
  c.close();
});

test('SEARCH BODY finds the text of parts past the part limit: the last part holds the rest', async () => {
  const c = await f.login();
  await c.cmd('CREATE manyparts');
  let body = '';
  for (let i = 1; i <= 2500; i++) body += `--x\r\nContent-Type: text/plain\r\n\r\nword${i}x\r\n`;
  const m = msg('parts', `${body}--x--`, 'Content-Type: multipart/mixed; boundary="x"\r\n');
  assert.match((await c.cmd(appendCmd('manyparts', m))).tagged, /OK/);
  await c.cmd('SELECT manyparts');
  assert.deepEqual((await c.cmd('SEARCH BODY word2500x')).lines, ['* SEARCH 1']);
  // The parser's limit is 2,000 parts, the root one of them: part 1999 runs to the end, as in Dovecot.
  const last = (await c.cmd('FETCH 1 (BODY.PEEK[1999])')).lines.join('\r\n');
  assert.match(last, /^\* 1 FETCH \(BODY\[1999\] \{\d+\}\r\nword1999x\r\n--x\r\n/);
  assert.match(last, /word2500x\r\n--x--\r\n\)$/);
  c.close();
});

test('thread-list formatting (RFC 5256 section 4 examples)', () => {
  const n = (uid: number | null, ...children: ThreadNode[]): ThreadNode => ({ uid, children });
  const id = (u: number) => u;
  // (2)(3 6 (4 23)(44 7 96))
  const t = n(3, n(6, n(4, n(23)), n(44, n(7, n(96)))));
  assert.equal(formatThreads([n(2), t], id), '(2)(3 6 (4 23)(44 7 96))');
  // A dummy parent: ((3)(5))
  assert.equal(formatThreads([n(null, n(3), n(5))], id), '((3)(5))');
});

test('THREAD answers a reply chain that branches at every level, thousands deep', async () => {
  // Message k+1 and a side reply both answer message k: every level has two children. The response
  // used to be written recursively, one stack frame per level, and failed with NO [SERVERBUG].
  const DEPTH = 3000;
  const acc = (await f.srv.app.store.getAccount('bob@example.com'))!;
  const box = await f.srv.app.mail.createMailbox(acc.id, 'deep');
  const raw = (id: string, parent: string | null) =>
    Buffer.from(
      `Message-ID: <${id}@deep>\r\n${parent ? `In-Reply-To: <${parent}@deep>\r\n` : ''}Subject: level\r\n` +
        `Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nx\r\n`,
    );
  const raws = [raw('m0', null)];
  for (let k = 0; k < DEPTH; k++) raws.push(raw(`m${k + 1}`, `m${k}`), raw(`s${k}`, `m${k}`));
  for (let i = 0; i < raws.length; i += 500) {
    const contents = await Promise.all(raws.slice(i, i + 500).map((r) => f.srv.app.mail.ingest(r)));
    await f.srv.app.mail.appendIngested(contents.map((content) => ({ accountId: acc.id, mailboxId: box.id, content })));
  }
  const c = await f.login('bob@example.com');
  await c.cmd('SELECT deep');
  const r = await c.cmd('UID THREAD REFERENCES UTF-8 ALL', 60000);
  assert.match(r.tagged, /OK/);
  const line = r.lines.find((l) => l.startsWith('* THREAD '))!;
  // UIDs follow the order above: 1 is the root, 2k+2 continues the chain and 2k+3 is its side reply.
  assert.ok(line.startsWith('* THREAD (1 (2 (4 (6 '), line.slice(0, 60));
  assert.ok(line.includes('(5))(3))'), line.slice(-60));
  assert.equal(line.split('(').length, line.split(')').length);
  c.close();
});
