// Message commands as transcripts: APPEND (MULTIAPPEND, APPENDUID, TOOBIG, OVERQUOTA, UTF8 literal8),
// SELECT/EXAMINE, FETCH items, STORE, COPY/MOVE with COPYUID, EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { appendCmd, type ImapFixture, imapFixture, msg, parallelAppendsAtTheEdge } from './fixture.ts';

let f: ImapFixture;
before(async () => {
  f = await imapFixture({
    users: ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'],
    configure: (c) => {
      c.imap.max_message_size = 4096;
    },
  });
});
after(() => f.stop());

const MULTI = [
  'From: "Ann" <ann@example.com>',
  'To: bob@example.com, "Group": x@y.z;',
  'Subject: =?utf-8?q?caf=C3=A9?= parts',
  'Date: Tue, 1 Feb 2022 10:00:00 +0000',
  'Message-ID: <multi@example.com>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  'preamble',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 au lait',
  '--b1',
  'Content-Type: application/octet-stream; name="z.bin"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="z.bin"',
  '',
  'AAECAw==',
  '--b1--',
  '',
].join('\r\n');

test('APPEND: flags, date, APPENDUID, MULTIAPPEND, TRYCREATE, TOOBIG', async () => {
  const c = await f.login('alice@example.com');
  const one = msg('one');
  const r = await c.cmd(`APPEND INBOX (\\Seen $Work) "05-Mar-2021 10:20:30 +0100" {${one.length}+}\r\n${one}`);
  assert.match(r.tagged, /^t2 OK \[APPENDUID \d+ 1\] APPEND completed$/);
  const two = msg('two');
  const three = msg('three');
  const m = await c.cmd(`APPEND INBOX {${two.length}+}\r\n${two} (\\Flagged) {${three.length}+}\r\n${three}`);
  assert.match(m.tagged, /OK \[APPENDUID \d+ 2:3\]/);
  assert.match((await c.cmd(appendCmd('Nope', one))).tagged, /NO \[TRYCREATE\]/);
  // Over APPENDLIMIT: a synchronising literal is refused before the client sends it.
  c.send('big APPEND INBOX {5000}\r\n');
  assert.match(await c.line(), /^big NO \[TOOBIG\]/);
  assert.match((await c.cmd('EXAMINE INBOX')).tagged, /OK \[READ-ONLY\]/);
  const f1 = await c.cmd('FETCH 1 (FLAGS INTERNALDATE)');
  // No session has selected INBOX yet: \\Recent, which EXAMINE shows without taking (RFC 3501 section 2.3.2).
  assert.deepEqual(f1.lines, ['* 1 FETCH (FLAGS (\\Seen $Work \\Recent) INTERNALDATE "05-Mar-2021 09:20:30 +0000")']);
  c.close();
});

test('APPEND date-time and SEARCH dates with a year below 100 keep that year (date-year is 4DIGIT)', async () => {
  const c = await f.login('heidi@example.com');
  for (const date of ['01-Jan-0050 12:00:00 +0000', '01-Jan-1950 12:00:00 +0000', '29-Feb-0004 00:00:00 +0000']) {
    const m = msg(`y${date.slice(7, 11)}`);
    assert.match((await c.cmd(`APPEND INBOX "${date}" {${m.length}+}\r\n${m}`)).tagged, /OK/);
  }
  await c.cmd('SELECT INBOX');
  // Date.UTC reads years 0 to 99 as 1900 to 1999: year 50 was stored as 1950, 29-Feb-0004 as 1904.
  const dates = await c.cmd('FETCH 1:* (INTERNALDATE)');
  assert.deepEqual(dates.lines, [
    '* 1 FETCH (INTERNALDATE "01-Jan-0050 12:00:00 +0000")',
    '* 2 FETCH (INTERNALDATE "01-Jan-1950 12:00:00 +0000")',
    '* 3 FETCH (INTERNALDATE "29-Feb-0004 00:00:00 +0000")',
  ]);
  assert.deepEqual((await c.cmd('SEARCH BEFORE 1-Jan-0051')).lines, ['* SEARCH 1 3']);
  assert.deepEqual((await c.cmd('SEARCH ON 1-Jan-1950')).lines, ['* SEARCH 2']);
  assert.deepEqual((await c.cmd('SEARCH ON 29-Feb-0004')).lines, ['* SEARCH 3']);
  c.close();
});

test('APPEND over quota is NO [OVERQUOTA]; UTF8 (literal8) is accepted', async () => {
  const acc = (await f.srv.app.store.getAccount('bob@example.com'))!;
  await f.srv.app.store.updateAccount(acc.id, { quotaMessages: 1 });
  const c = await f.login('bob@example.com');
  await c.cmd('ENABLE UTF8=ACCEPT');
  const u = msg('ünïcode');
  assert.match((await c.cmd(`APPEND INBOX UTF8 (~{${Buffer.byteLength(u)}+}\r\n${u})`)).tagged, /OK \[APPENDUID/);
  assert.match((await c.cmd(appendCmd('INBOX', msg('more')))).tagged, /NO \[OVERQUOTA\]/);
  await c.cmd('SELECT INBOX');
  assert.match((await c.cmd('COPY 1 Sent')).tagged, /NO \[OVERQUOTA\]/);
  c.close();
});

test('parallel APPENDs at the edge of a message quota: one fits, the others NO [OVERQUOTA]', async () => {
  await parallelAppendsAtTheEdge(f);
});

test('SELECT: the required responses, in order (rev1 client)', async () => {
  const c = await f.login('carol@example.com');
  await c.cmd(appendCmd('INBOX', msg('a'), '\\Seen'));
  await c.cmd(appendCmd('INBOX', msg('b'), '$Todo'));
  const r = await c.cmd('SELECT INBOX');
  assert.equal(r.lines[0], '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Todo)');
  assert.equal(
    r.lines[1],
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Todo \\*)] Flags permitted',
  );
  assert.equal(r.lines[2], '* 2 EXISTS');
  assert.equal(r.lines[3], '* 2 RECENT');
  assert.equal(r.lines[4], '* OK [UNSEEN 2] First unseen');
  assert.match(r.lines[5], /^\* OK \[UIDVALIDITY \d+\]/);
  assert.equal(r.lines[6], '* OK [UIDNEXT 3] Predicted next UID');
  assert.match(r.lines[7], /^\* OK \[HIGHESTMODSEQ \d+\]/);
  assert.match(r.lines[8], /^\* OK \[MAILBOXID \(M\d+\)\]/);
  assert.match(r.tagged, /OK \[READ-WRITE\] SELECT completed/);
  // A second session sees them as not recent any more (RFC 3501 section 2.3.2).
  const d = await f.login('carol@example.com');
  assert.ok((await d.cmd('SELECT INBOX')).lines.includes('* 0 RECENT'));
  // rev2 client: no RECENT, no UNSEEN, a LIST line; [CLOSED] when switching.
  await d.cmd('ENABLE IMAP4rev2');
  const e = await d.cmd('SELECT Sent');
  assert.equal(e.lines[0], '* OK [CLOSED] Previous mailbox closed');
  assert.ok(!e.raw.includes('RECENT') && !e.raw.includes('UNSEEN'));
  assert.ok(e.lines.includes('* LIST () "/" Sent'));
  assert.match((await d.cmd('SELECT Nope')).tagged, /NO \[NONEXISTENT\]/);
  assert.match((await d.cmd('FETCH 1 FLAGS')).tagged, /BAD Select a mailbox first/);
  c.close();
  d.close();
});

test('FETCH: every item, sections, partials, implicit \\Seen', async () => {
  const c = await f.login('dave@example.com');
  await c.cmd(appendCmd('INBOX', MULTI));
  await c.cmd('SELECT INBOX');
  const r = await c.cmd('FETCH 1 (UID RFC822.SIZE ENVELOPE BODY EMAILID THREADID MODSEQ SAVEDATE PREVIEW)');
  // MODSEQ makes this the session's first CONDSTORE command: HIGHESTMODSEQ comes first (RFC 7162 3.1).
  assert.match(r.lines[0], /^\* OK \[HIGHESTMODSEQ \d+\]/);
  const line = r.lines[1];
  assert.match(
    line,
    /^\* 1 FETCH \(UID 1 RFC822\.SIZE \d+ ENVELOPE \("Tue, 1 Feb 2022 10:00:00 \+0000" "=\?utf-8\?q\?caf=C3=A9\?= parts" \(\("Ann" NIL "ann" "example\.com"\)\) /,
  );
  assert.ok(
    line.includes('(NIL NIL "bob" "example.com")(NIL NIL "Group" NIL)(NIL NIL "x" "y.z")(NIL NIL NIL NIL)'),
    line,
  );
  assert.ok(line.includes('NIL "<multi@example.com>")'), line);
  assert.ok(
    line.includes(
      'BODY (("text" "plain" ("charset" "utf-8") NIL NIL "quoted-printable" 17 0)("application" "octet-stream" ("name" "z.bin") NIL NIL "base64" 8) "mixed")',
    ),
    line,
  );
  assert.match(
    line,
    /EMAILID \(E\d+\) THREADID \(T\d+\) MODSEQ \(\d+\) SAVEDATE "[^"]+" PREVIEW "café au lait"|PREVIEW \{/,
  );
  const bs = await c.cmd('FETCH 1 BODYSTRUCTURE');
  assert.ok(bs.lines[0].includes('"mixed" ("boundary" "b1") NIL NIL NIL)'), bs.lines[0]);
  assert.ok(bs.lines[0].includes('"base64" 8 NIL ("attachment" ("filename" "z.bin")) NIL NIL)'), bs.lines[0]);
  // PEEK leaves \Seen alone; BODY[] sets it and reports FLAGS.
  const p = await c.cmd('FETCH 1 (BODY.PEEK[1] BODY.PEEK[HEADER.FIELDS (subject message-id)])');
  assert.equal(
    p.lines[0],
    '* 1 FETCH (BODY[1] {17}\r\ncaf=C3=A9 au lait BODY[HEADER.FIELDS (subject message-id)] {73}\r\nSubject: =?utf-8?q?caf=C3=A9?= parts\r\nMessage-ID: <multi@example.com>\r\n\r\n)',
  );
  assert.deepEqual((await c.cmd('FETCH 1 FLAGS')).lines, ['* 1 FETCH (FLAGS (\\Recent))']);
  const t = await c.cmd('FETCH 1 BODY[2]<2.3>');
  // The session used MODSEQ above, so the new MODSEQ comes with the flags (RFC 7162 section 3.1).
  assert.match(t.lines[0], /^\* 1 FETCH \(BODY\[2\]<2> \{3\}\r\nECA FLAGS \(\\Seen \\Recent\) MODSEQ \(\d+\)\)$/);
  const bin = await c.cmd('FETCH 1 (BINARY.SIZE[1] BINARY.SIZE[2] BINARY[2] BINARY.PEEK[1])');
  assert.equal(
    bin.lines[0],
    '* 1 FETCH (BINARY.SIZE[1] 13 BINARY.SIZE[2] 4 BINARY[2] ~{4}\r\n\u0000\u0001\u0002\u0003 BINARY[1] ~{13}\r\ncafé au lait)',
  );
  const mime = await c.cmd('FETCH 1 (BODY.PEEK[2.MIME] BODY.PEEK[3] BODY.PEEK[TEXT]<0.8>)');
  assert.equal(
    mime.lines[0],
    '* 1 FETCH (BODY[2.MIME] {106}\r\nContent-Type: application/octet-stream; name="z.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="z.bin"\r\n\r\n BODY[3] {0}\r\n BODY[TEXT]<0> {8}\r\npreamble)'.replace(
      '{106}',
      `{${Buffer.byteLength('Content-Type: application/octet-stream; name="z.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="z.bin"\r\n\r\n')}}`,
    ),
  );
  assert.match((await c.cmd('FETCH 1 (BODY[')).tagged, /BAD/);
  assert.match((await c.cmd('FETCH 2 FLAGS')).tagged, /BAD invalid message sequence number/);
  assert.match((await c.cmd('FETCH 1 NOPE')).tagged, /BAD unknown data item/);
  assert.deepEqual((await c.cmd('UID FETCH 99 FLAGS')).lines, []);
  const full = await c.cmd('FETCH 1 (RFC822.HEADER RFC822.TEXT)');
  assert.match(
    full.lines[0],
    /^\* 1 FETCH \(RFC822\.HEADER \{\d+\}\r\nFrom: "Ann"[\s\S]*RFC822\.TEXT \{\d+\}\r\npreamble/,
  );
  c.close();
});

test('FETCH: no NUL in a literal; BODY sections send 0x80, ENVELOPE and BODYSTRUCTURE U+FFFD, BINARY keeps it', async () => {
  // RFC 9051 section 4.3.1: a literal is CHAR8s (no NUL); only literal8 (BINARY, RFC 3516) carries NUL.
  // The replacements are Dovecot's; a body keeps its size.
  const c = await f.login('alice@example.com');
  await c.cmd('CREATE nul');
  const m =
    'From: a@example.com\r\nTo: "x\0y" <to@example.com>\r\nSubject: nul\r\nMessage-ID: <a\0b@example.com>\r\n' +
    'Content-Type: text/plain; name="n\0m"\r\nContent-Description: d\0e\r\n\r\nab\0cd\r\n';
  assert.match((await c.cmd(`APPEND nul ~{${m.length}+}\r\n${m}`)).tagged, /OK/);
  await c.cmd('EXAMINE nul');
  const r = await c.cmd('FETCH 1 (BODY.PEEK[TEXT] BODY.PEEK[HEADER.FIELDS (To)] BINARY.PEEK[1])');
  assert.equal(
    r.lines[0],
    '* 1 FETCH (BODY[TEXT] {7}\r\nab\ufffdcd\r\n BODY[HEADER.FIELDS (To)] {30}\r\nTo: "x\ufffdy" <to@example.com>\r\n\r\n BINARY[1] ~{7}\r\nab\0cd\r\n)',
  );
  const whole = await c.cmd('FETCH 1 (BODY.PEEK[])');
  assert.ok(whole.lines[0].startsWith(`* 1 FETCH (BODY[] {${m.length}}\r\n`), whole.lines[0]);
  assert.ok(!whole.lines[0].includes('\0'), whole.lines[0]);
  const env = await c.cmd('FETCH 1 (ENVELOPE BODYSTRUCTURE)');
  assert.ok(env.lines[0].includes('(({5}\r\nx\ufffdy NIL "to" "example.com"))'), env.lines[0]);
  assert.ok(env.lines[0].includes('{19}\r\n<a\ufffdb@example.com>)'), env.lines[0]);
  assert.ok(
    env.lines[0].includes('("name" {5}\r\nn\ufffdm "charset" "us-ascii") NIL {5}\r\nd\ufffde "7bit"'),
    env.lines[0],
  );
  assert.ok(!env.lines[0].includes('\0'), env.lines[0]);
  // A large section is streamed from the blob store: the same there.
  const acc = (await f.srv.app.store.getAccount('alice@example.com'))!;
  const box = (await f.srv.app.store.getMailbox(acc.id, 'nul'))!;
  await f.srv.app.mail.append(acc.id, box.id, Buffer.from(`Subject: big\r\n\r\n${'ab\0cd\r\n'.repeat(60000)}`));
  await c.cmd('EXAMINE nul');
  const big = await c.cmd('FETCH 2 (BODY.PEEK[TEXT])');
  assert.ok(big.lines[0].startsWith('* 2 FETCH (BODY[TEXT] {420000}\r\nab\ufffdcd\r\n'), big.lines[0].slice(0, 100));
  assert.ok(!big.lines[0].includes('\0'));
  c.close();
});

test('BINARY[] of a single-part encoded message sends the body decoded under "Content-Transfer-Encoding: binary"', async () => {
  // Left saying quoted-printable, "price=3D100" would be decoded again by a reader, to "price=100". As Dovecot
  // does, the field (folded or not, in any case) is dropped and a binary one ends the header.
  const c = await f.login('alice@example.com');
  await c.cmd('CREATE encoded');
  const qp =
    'Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\nContent-Type: text/plain\r\n\r\nprice=3D3D100\r\n';
  const b64 = 'content-transfer-encoding:\r\n BASE64\r\nSubject: b64\r\n\r\nYWJj\r\n';
  for (const m of [qp, b64]) assert.match((await c.cmd(appendCmd('encoded', m))).tagged, /OK/);
  await c.cmd('EXAMINE encoded');
  const want = [
    'Subject: qp\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\nprice=3D100\r\n',
    'Subject: b64\r\nContent-Transfer-Encoding: binary\r\n\r\nabc',
  ];
  const r = await c.cmd('FETCH 1:2 (BINARY.SIZE[] BINARY.PEEK[])');
  assert.deepEqual(r.lines, [
    `* 1 FETCH (BINARY.SIZE[] ${want[0].length} BINARY[] ~{${want[0].length}}\r\n${want[0]})`,
    `* 2 FETCH (BINARY.SIZE[] ${want[1].length} BINARY[] ~{${want[1].length}}\r\n${want[1]})`,
  ]);
  c.close();
});

test('BINARY of a text part stored with bare LF line ends is sent (and sized) with CRLF', async () => {
  // RFC 9051 section 7.5.2: "textual line-oriented sections are always transmitted using the IMAP CRLF line
  // termination syntax". Binary parts keep their octets; what base64 decodes to is the sender's (Dovecot too).
  const c = await f.login('alice@example.com');
  await c.cmd('CREATE barelf');
  const b64 = Buffer.from('d1\nd2\r\n').toString('base64');
  const m = [
    'Subject: lf\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="x"\n',
    '--x\nContent-Type: text/plain\n\nline1\nline2\nline3',
    '--x\nContent-Type: text/html\nContent-Transfer-Encoding: quoted-printable\n\n<p>x=\nyy\nz=3D</p>',
    '--x\nContent-Type: application/octet-stream\n\nbin1\nbin2',
    `--x\nContent-Type: text/plain\nContent-Transfer-Encoding: base64\n\n${b64}`,
    '--x--\n',
  ].join('\n');
  const single = 'Subject: one\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\na=3Db\nc\n';
  for (const x of [m, single]) assert.match((await c.cmd(appendCmd('barelf', x))).tagged, /OK/);
  await c.cmd('EXAMINE barelf');
  const r = await c.cmd(
    'FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1] BINARY.PEEK[1]<2.5> BINARY.PEEK[2] BINARY.SIZE[2] BINARY.PEEK[3] BINARY.SIZE[3] BINARY.PEEK[4] BINARY.SIZE[4])',
  );
  assert.equal(
    r.lines[0],
    '* 1 FETCH (BINARY[1] {19}\r\nline1\r\nline2\r\nline3 BINARY.SIZE[1] 19 BINARY[1]<2> {5}\r\nne1\r\n ' +
      'BINARY[2] ~{14}\r\n<p>xyy\r\nz=</p> BINARY.SIZE[2] 14 BINARY[3] {9}\r\nbin1\nbin2 BINARY.SIZE[3] 9 ' +
      'BINARY[4] ~{7}\r\nd1\nd2\r\n BINARY.SIZE[4] 7)',
  );
  const want = 'Subject: one\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: binary\r\n\r\na=b\r\nc\r\n';
  const whole = await c.cmd('FETCH 2 (BINARY.PEEK[] BINARY.SIZE[])');
  assert.equal(whole.lines[0], `* 2 FETCH (BINARY[] ~{${want.length}}\r\n${want} BINARY.SIZE[] ${want.length})`);
  c.close();
});

test('BINARY of a large quoted-printable text part is decoded as it is sent: whole, sized, partials', async () => {
  // Past 256 KiB a part is decoded chunk by chunk (soft breaks, escapes and line ends across chunk edges).
  const acc = (await f.srv.app.store.getAccount('alice@example.com'))!;
  const box = await f.srv.app.mail.createMailbox(acc.id, 'bigqp');
  let qp = '';
  let want = '';
  for (let i = 0; i < 20000; i++) {
    qp += `line ${i} caf=C3=A9 a=3Db =\nsoft  \n`;
    want += `line ${i} café a=b soft\r\n`;
  }
  const m = `Subject: big qp\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n${qp}`;
  await f.srv.app.mail.append(acc.id, box.id, Buffer.from(m));
  const c = await f.login('alice@example.com');
  await c.cmd('EXAMINE bigqp');
  const size = Buffer.byteLength(want);
  const r = await c.cmd('FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1]<300000.40> BINARY.PEEK[1])', 20000);
  const mid = Buffer.from(want).subarray(300000, 300040).toString();
  assert.equal(
    r.lines[0],
    `* 1 FETCH (BINARY.SIZE[1] ${size} BINARY[1]<300000> ~{40}\r\n${mid} BINARY[1] ~{${size}}\r\n${want})`,
  );
  c.close();
});

test('BODYSTRUCTURE of a message/rfc822 or message/global left unparsed still has envelope, body and lines', async () => {
  // RFC 9051 section 9: body-type-basic MUST NOT be message/rfc822 or message/global, so an inner message we
  // do not parse (encoded: RFC 6532 section 3.5 allows it for message/global; past the nesting limit) gets
  // body-type-msg with what Dovecot writes: an envelope of NILs, an empty text/plain body, the line count.
  const c = await f.login('alice@example.com');
  await c.cmd('CREATE encapsulated');
  const inner = Buffer.from('Subject: inner\r\n\r\nbody\r\n').toString('base64');
  const part = (type: string) =>
    `Subject: m\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: ${type}\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${inner}\r\nmore\r\n--x--\r\n`;
  const deep = `${'Content-Type: message/rfc822\r\n\r\n'.repeat(40)}Subject: deep\r\n\r\nx\r\n`;
  for (const m of [part('message/global'), part('message/rfc822'), deep])
    assert.match((await c.cmd(appendCmd('encapsulated', m))).tagged, /OK/);
  await c.cmd('EXAMINE encapsulated');
  const opaque = (type: string, ext: string) =>
    `("message" "${type}" NIL NIL NIL "base64" ${inner.length + 6} (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ` +
    `("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0${ext}) 1${ext})`;
  const r = await c.cmd('FETCH 1:2 (BODY BODYSTRUCTURE BODY.PEEK[1.1] BINARY.PEEK[1.1])');
  assert.deepEqual(r.lines, [
    `* 1 FETCH (BODY (${opaque('global', '')} "mixed") BODYSTRUCTURE (${opaque('global', ' NIL NIL NIL NIL')} "mixed" ("boundary" "x") NIL NIL NIL) BODY[1.1] {0}\r\n BINARY[1.1] {0}\r\n)`,
    `* 2 FETCH (BODY (${opaque('rfc822', '')} "mixed") BODYSTRUCTURE (${opaque('rfc822', ' NIL NIL NIL NIL')} "mixed" ("boundary" "x") NIL NIL NIL) BODY[1.1] {0}\r\n BINARY[1.1] {0}\r\n)`,
  ]);
  const d = (await c.cmd('FETCH 3 BODYSTRUCTURE')).lines[0];
  assert.doesNotMatch(d, /"message" "rfc822" NIL NIL NIL "7bit" \d+ NIL/, 'a basic body for message/rfc822');
  assert.equal(d.split('(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain"').length, 2, d);
  c.close();
});

test('FETCH that fails with [UNKNOWN-CTE] sets \\Seen only on the messages it returned', async () => {
  // RFC 9051 section 6.4.5: \Seen goes with the data; message 2's part cannot be decoded (RFC 3516
  // section 4.3), so messages 2 to 4 are never sent and stay unseen, as in Dovecot.
  const c = await f.login('grace@example.com');
  const good = 'Subject: ok\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n';
  const bad =
    'Subject: bad\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n' +
    'Content-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nzzz\r\n--b--\r\n';
  for (const m of [good, bad, good, good]) assert.match((await c.cmd(appendCmd('INBOX', m))).tagged, /OK/);
  await c.cmd('SELECT INBOX');
  const r = await c.cmd('FETCH 1:4 BINARY[1]');
  assert.match(r.tagged, /NO \[UNKNOWN-CTE\]/);
  assert.deepEqual(r.lines, ['* 1 FETCH (BINARY[1] ~{5}\r\nhello FLAGS (\\Seen \\Recent))']);
  assert.deepEqual((await c.cmd('NOOP')).lines, []);
  assert.deepEqual((await c.cmd('FETCH 1:4 FLAGS')).lines, [
    '* 1 FETCH (FLAGS (\\Seen \\Recent))',
    '* 2 FETCH (FLAGS (\\Recent))',
    '* 3 FETCH (FLAGS (\\Recent))',
    '* 4 FETCH (FLAGS (\\Recent))',
  ]);
  // Past the failing message on its own, the others are returned and seen.
  assert.match((await c.cmd('FETCH 3:4 BINARY[1]')).tagged, /OK/);
  assert.deepEqual((await c.cmd('FETCH 2:4 FLAGS')).lines, [
    '* 2 FETCH (FLAGS (\\Recent))',
    '* 3 FETCH (FLAGS (\\Seen \\Recent))',
    '* 4 FETCH (FLAGS (\\Seen \\Recent))',
  ]);
  c.close();
});

test('STORE: forms, .SILENT, UNCHANGEDSINCE and [MODIFIED]', async () => {
  const c = await f.login('erin@example.com');
  for (const s of ['a', 'b', 'c']) await c.cmd(appendCmd('INBOX', msg(s)));
  await c.cmd('SELECT INBOX');
  assert.deepEqual((await c.cmd('STORE 1:2 +FLAGS (\\Flagged $X)')).lines, [
    '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $X)',
    '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $X \\*)] Flags permitted',
    '* 1 FETCH (FLAGS (\\Flagged $X \\Recent))',
    '* 2 FETCH (FLAGS (\\Flagged $X \\Recent))',
  ]);
  assert.deepEqual((await c.cmd('STORE 2 -FLAGS.SILENT ($X)')).lines, []);
  assert.deepEqual((await c.cmd('UID STORE 3 FLAGS \\Seen \\Answered')).lines, [
    '* 3 FETCH (UID 3 FLAGS (\\Seen \\Answered \\Recent))',
  ]);
  assert.match((await c.cmd('STORE 1 +FLAGS (\\Recent)')).tagged, /BAD/);
  assert.match((await c.cmd('STORE 1 +FLAGZ (\\Seen)')).tagged, /BAD/);
  const ms = await c.cmd('FETCH 1:3 (MODSEQ)');
  assert.match(ms.lines[0], /^\* OK \[HIGHESTMODSEQ \d+\]/); // the first CONDSTORE command (RFC 7162 3.1)
  const modseqs = ms.lines.slice(1).map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]));
  const r = await c.cmd(`STORE 1:3 (UNCHANGEDSINCE ${modseqs[0]}) +FLAGS (\\Deleted)`);
  assert.match(r.tagged, /OK \[MODIFIED 2:3\] /);
  assert.match(r.lines[0], /^\* 1 FETCH \(FLAGS \(\\Flagged \\Deleted \$X \\Recent\) MODSEQ \(\d+\)\)$/);
  c.close();
});

test('COPY/MOVE with COPYUID; EXPUNGE, UID EXPUNGE, CLOSE, UNSELECT', async () => {
  const c = await f.login('frank@example.com');
  for (const s of ['a', 'b', 'c', 'd', 'e']) await c.cmd(appendCmd('INBOX', msg(s)));
  await c.cmd('SELECT INBOX');
  const cp = await c.cmd('COPY 2:3 Archive');
  assert.match(cp.tagged, /^t\d+ OK \[COPYUID \d+ 2:3 1:2\] COPY completed$/);
  assert.match((await c.cmd('COPY 1 Nope')).tagged, /NO \[TRYCREATE\]/);
  const mv = await c.cmd('UID MOVE 4 Trash');
  assert.match(mv.lines[0], /^\* OK \[COPYUID \d+ 4 1\] /);
  assert.equal(mv.lines[1], '* 4 EXPUNGE');
  await c.cmd('STORE 1:2 +FLAGS.SILENT (\\Deleted)');
  const ue = await c.cmd('UID EXPUNGE 2:4');
  assert.deepEqual(ue.lines, ['* 2 EXPUNGE']);
  const ex = await c.cmd('EXPUNGE');
  assert.deepEqual(ex.lines, ['* 1 EXPUNGE']);
  assert.deepEqual((await c.cmd('UID SEARCH ALL')).lines, ['* SEARCH 3 5']);
  await c.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
  assert.deepEqual((await c.cmd('CLOSE')).lines, [], 'CLOSE expunges silently');
  assert.deepEqual((await c.cmd('STATUS INBOX (MESSAGES)')).lines, ['* STATUS INBOX (MESSAGES 1)']);
  await c.cmd('EXAMINE INBOX');
  assert.match((await c.cmd('STORE 1 +FLAGS (\\Seen)')).tagged, /NO \[READ-ONLY\]/);
  assert.match((await c.cmd('EXPUNGE')).tagged, /NO \[READ-ONLY\]/);
  assert.match((await c.cmd('UNSELECT')).tagged, /OK/);
  assert.match((await c.cmd('UNSELECT')).tagged, /BAD/);
  c.close();
});
