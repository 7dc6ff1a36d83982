// CATENATE (RFC 4469) with IMAP URLs (RFC 5092): messages built from TEXT literals and the messages or
// parts already in the user's mailboxes (whole, by section, HEADER.FIELDS, PARTIAL, absolute URLs,
// mailboxes with the hierarchy separator), checked byte for byte; [BADURL] for URLs that name nothing
// (or another user's mail) with nothing stored, even in a MULTIAPPEND; [TOOBIG] past APPENDLIMIT; and,
// when Dovecot is installed, the same commands against Dovecot give the same messages.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RawImap } from '../helpers/imap-client.ts';
import { RawImap as Raw } from '../helpers/imap-client.ts';
import { type Dovecot, peer, startDovecot } from '../helpers/peers.ts';
import { type ImapFixture, imapFixture } from './fixture.ts';

const SOURCE = [
  'From: Carol <carol@example.org>',
  'To: alice@example.com',
  'Subject: the report',
  'Date: Mon, 7 Feb 1994 21:52:25 -0800',
  'Message-ID: <report@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'preamble',
  '--outer',
  'Content-Type: text/plain; charset=us-ascii',
  '',
  'Here is the report you asked for.',
  '--outer',
  'Content-Type: application/pdf; name="report.pdf"',
  'Content-Disposition: attachment; filename="report.pdf"',
  'Content-Transfer-Encoding: base64',
  '',
  'JVBERi0xLjQKJcOkw7zDtsOfCjIgMCBvYmoKPDwvTGVuZ3RoIDMgMCBSL0ZpbHRlci9GbGF0ZURlY29kZT4+',
  '--outer',
  'Content-Type: message/rfc822',
  '',
  'From: Dave <dave@example.net>',
  'Subject: inner',
  '',
  'inner body',
  '--outer--',
  '',
].join('\r\n');

const lit = (s: string) => `{${Buffer.byteLength(s)}+}\r\n${s}`;

/** The literal of `UID FETCH uid BODY.PEEK[]`. */
async function bodyOf(c: RawImap, uid: number): Promise<string> {
  const r = await c.cmd(`UID FETCH ${uid} BODY.PEEK[]`);
  const all = r.lines.join('\r\n');
  const m = /BODY\[\] \{(\d+)\}\r\n/.exec(all);
  assert.ok(m, all);
  // The literal's length is in octets; the client hands lines over as UTF-8 text.
  return Buffer.from(all.slice(m.index + m[0].length), 'utf8')
    .subarray(0, Number(m[1]))
    .toString('utf8');
}

async function uidValidity(c: RawImap, box: string): Promise<number> {
  const r = await c.cmd(`STATUS ${box} (UIDVALIDITY)`);
  return Number(/UIDVALIDITY (\d+)/.exec(r.lines.join(' '))![1]);
}

async function count(c: RawImap, box: string): Promise<number> {
  const r = await c.cmd(`STATUS ${box} (MESSAGES)`);
  return Number(/MESSAGES (\d+)/.exec(r.lines.join(' '))![1]);
}

/** APPEND with CATENATE: the new message's UID, or the tagged reply when it failed. */
async function catenate(c: RawImap, box: string, parts: string): Promise<number | string> {
  const r = await c.cmd(`APPEND ${box} CATENATE (${parts})`);
  const m = /OK \[APPENDUID \d+ (\d+)\]/.exec(r.tagged);
  return m ? Number(m[1]) : r.tagged;
}

const HEAD = 'From: alice@example.com\r\nTo: erin@example.net\r\nSubject: Fwd: the report\r\n\r\n';

describe('CATENATE', () => {
  let f: ImapFixture;
  let c: RawImap;
  let v: number;
  before(async () => {
    f = await imapFixture({ configure: (cfg) => (cfg.imap.max_message_size = 8192) });
    c = await f.login();
    await c.cmd(`APPEND INBOX ${lit(SOURCE)}`); // UID 1
    await c.cmd('CREATE Archive/2024');
    await c.cmd(`APPEND Archive/2024 ${lit('Subject: archived\r\n\r\nold news\r\n')}`);
    v = await uidValidity(c, 'INBOX');
  });
  after(() => f.stop());

  test('is announced after login', async () => {
    const r = await c.cmd('CAPABILITY');
    assert.match(r.lines[0], / CATENATE /);
    assert.match(r.lines[0], / URL-PARTIAL/);
  });

  test('TEXT and URL parts, byte for byte, without setting \\Seen on the source', async () => {
    const uid = await catenate(
      c,
      'Drafts',
      `TEXT ${lit(HEAD)} URL "/INBOX;UIDVALIDITY=${v}/;UID=1/;SECTION=1" TEXT ${lit('\r\n-- \r\nAlice\r\n')}`,
    );
    assert.equal(typeof uid, 'number', String(uid));
    await c.cmd('SELECT Drafts');
    assert.equal(await bodyOf(c, uid as number), `${HEAD}Here is the report you asked for.\r\n-- \r\nAlice\r\n`);
    await c.cmd('SELECT INBOX');
    const flags = await c.cmd('UID FETCH 1 (FLAGS)');
    assert.doesNotMatch(flags.lines.join(' '), /\\Seen/);
  });

  test('UTF8 (literal8) parts of RFC 6855', async () => {
    await c.cmd('ENABLE UTF8=ACCEPT');
    const head = 'Subject: Grüße\r\n\r\n';
    const uid = await catenate(
      c,
      'Drafts',
      `UTF8 (~{${Buffer.byteLength(head)}+}\r\n${head}) URL "/INBOX/;UID=1/;SECTION=1"`,
    );
    assert.equal(typeof uid, 'number', String(uid));
    await c.cmd('SELECT Drafts');
    assert.equal(await bodyOf(c, uid as number), `${head}Here is the report you asked for.`);
  });

  test('whole messages, MIME headers, HEADER.FIELDS, PARTIAL, absolute URLs, hierarchy', async () => {
    const cases: [string, string][] = [
      ['/INBOX/;UID=1', SOURCE],
      [
        `imap://alice%40example.com@localhost/INBOX;UIDVALIDITY=${v}/;UID=1/;SECTION=2.MIME`,
        SOURCE.slice(SOURCE.indexOf('Content-Type: application/pdf'), SOURCE.indexOf('JVBER')),
      ],
      [
        '/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(SUBJECT%20FROM)',
        'From: Carol <carol@example.org>\r\nSubject: the report\r\n\r\n',
      ],
      ['/INBOX/;UID=1/;SECTION=3.TEXT', 'inner body'], // the CRLF before --outer-- is the delimiter's
      ['/INBOX/;UID=1/;SECTION=1/;PARTIAL=5.10', 'is the rep'],
      ['/INBOX/;UID=1/;PARTIAL=6', SOURCE.slice(6)],
      ['/Archive/2024/;UID=1/;SECTION=TEXT', 'old news\r\n'],
    ];
    await c.cmd('SELECT Drafts');
    for (const [url, want] of cases) {
      const uid = await catenate(c, 'Drafts', `TEXT ${lit('X-Part: yes\r\n')} URL "${url}"`);
      assert.equal(typeof uid, 'number', `${url}: ${uid}`);
      assert.equal(await bodyOf(c, uid as number), `X-Part: yes\r\n${want}`, url);
    }
  });

  test('a URL that names nothing is NO [BADURL], and nothing of the command is stored', async () => {
    const bad = [
      '/INBOX/;UID=99',
      `/INBOX;UIDVALIDITY=${v + 1}/;UID=1`,
      '/Nowhere/;UID=1',
      '/INBOX/;UID=1/;SECTION=7',
      '/INBOX/;UID=1/;URLAUTH=anonymous:internal:0123',
      ';UID=1',
      'imap://bob%40example.com@localhost/INBOX/;UID=1',
      'http://example.com/',
    ];
    const before = await count(c, 'Drafts');
    for (const url of bad) {
      const r = await c.cmd(
        `APPEND Drafts ${lit('Subject: fine\r\n\r\nfine\r\n')} CATENATE (TEXT ${lit('x: y\r\n\r\n')} URL "${url}")`,
      );
      assert.equal(r.tagged.replace(/^t\d+ /, ''), `NO [BADURL ${url}] CATENATE: no such message or part`);
    }
    assert.equal(await count(c, 'Drafts'), before, 'MULTIAPPEND is all or nothing');
  });

  test("another user's message is not reachable by URL", async () => {
    const bob = await f.login('bob@example.com');
    await bob.cmd(`APPEND INBOX ${lit('Subject: private\r\n\r\nsecret\r\n')}`);
    const r = await c.cmd(`APPEND Drafts CATENATE (URL "imap://bob%40example.com@localhost/INBOX/;UID=1")`);
    assert.match(r.tagged, /NO \[BADURL/);
    bob.close();
  });

  test('URL data counts toward the APPEND total of twice APPENDLIMIT: NO [TOOBIG], nothing stored', async () => {
    // Each message is under the 8192-octet APPENDLIMIT, but the command names more than twice that in
    // all with a few hundred octets of URLs: refused before the messages are built, none appended.
    const items = Math.ceil((2 * 8192) / SOURCE.length) + 1;
    const before = await count(c, 'Drafts');
    const r = await c.cmd(
      `APPEND Drafts ${Array(items).fill(`CATENATE (URL "/INBOX;UIDVALIDITY=${v}/;UID=1")`).join(' ')}`,
    );
    assert.match(r.tagged, /NO \[TOOBIG\]/);
    assert.equal(await count(c, 'Drafts'), before, 'MULTIAPPEND is all or nothing');
    // URL data and literals share the bound; within it the same MULTIAPPEND is stored.
    const ok = await c.cmd(
      `APPEND Drafts ${lit(SOURCE)} ${Array(items - 3)
        .fill('CATENATE (URL "/INBOX/;UID=1")')
        .join(' ')}`,
    );
    assert.match(ok.tagged, /OK \[APPENDUID/);
    assert.equal(await count(c, 'Drafts'), before + items - 2);
    const over = await c.cmd(
      `APPEND Drafts ${lit(SOURCE)} ${Array(items - 1)
        .fill('CATENATE (URL "/INBOX/;UID=1")')
        .join(' ')}`,
    );
    assert.match(over.tagged, /NO \[TOOBIG\]/);
    assert.equal(await count(c, 'Drafts'), before + items - 2);
  });

  test('past APPENDLIMIT is NO [TOOBIG]; bad syntax is BAD', async () => {
    const copies = Math.ceil(8192 / SOURCE.length) + 1;
    const r = await c.cmd(`APPEND Drafts CATENATE (${Array(copies).fill('URL "/INBOX/;UID=1"').join(' ')})`);
    assert.match(r.tagged, /NO \[TOOBIG\]/);
    assert.match((await c.cmd('APPEND Drafts CATENATE ()')).tagged, /BAD/);
    assert.match((await c.cmd('APPEND Drafts CATENATE (TEXT "quoted")')).tagged, /BAD/);
    assert.match((await c.cmd('APPEND Drafts CATENATE (FILE "x")')).tagged, /BAD/);
  });
});

const dovecotSkip = peer('dovecot', 'dovecot-imapd').skip;

describe('CATENATE against Dovecot', { skip: dovecotSkip }, () => {
  let dovecot: Dovecot;
  let f: ImapFixture;
  let d: RawImap;
  let p: RawImap;
  before(async () => {
    dovecot = await startDovecot({ users: 1 });
    f = await imapFixture({ users: ['alice'] });
    d = (await Raw.open(dovecot.imapPort)).c;
    await d.cmd('LOGIN user1 pass');
    p = await f.login();
    for (const c of [d, p]) {
      await c.cmd(`APPEND INBOX ${lit(SOURCE)}`);
      await c.cmd('CREATE Drafts');
      await c.cmd('SELECT Drafts');
    }
  });
  after(async () => {
    d?.close();
    await f?.stop();
    await dovecot?.stop();
  });

  for (const [name, url] of [
    ['whole message', '/INBOX/;UID=1'],
    ['part 1', '/INBOX/;UID=1/;SECTION=1'],
    ['part 2 (base64, as stored)', '/INBOX/;UID=1/;SECTION=2'],
    ['part 2 MIME header', '/INBOX/;UID=1/;SECTION=2.MIME'],
    ['HEADER', '/INBOX/;UID=1/;SECTION=HEADER'],
    ['TEXT', '/INBOX/;UID=1/;SECTION=TEXT'],
    ['message/rfc822 part', '/INBOX/;UID=1/;SECTION=3'],
    ['its HEADER', '/INBOX/;UID=1/;SECTION=3.HEADER'],
    ['HEADER.FIELDS', '/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(Subject%20To)'],
    ['HEADER.FIELDS.NOT', '/INBOX/;UID=1/;SECTION=HEADER.FIELDS.NOT%20(Subject%20To)'],
    ['PARTIAL', '/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=10.40'],
  ] as const)
    test(`${name}: the same message as Dovecot builds`, async () => {
      const parts = `TEXT ${lit(HEAD)} URL "${url}" TEXT ${lit('\r\n--\r\n')}`;
      const [du, pu] = [await catenate(d, 'Drafts', parts), await catenate(p, 'Drafts', parts)];
      assert.equal(typeof du, 'number', `Dovecot: ${du}`);
      assert.equal(typeof pu, 'number', `Petrel: ${pu}`);
      assert.equal(await bodyOf(p, pu as number), await bodyOf(d, du as number));
    });

  test('a URL naming nothing: both refuse with BADURL', async () => {
    const parts = `TEXT ${lit(HEAD)} URL "/INBOX/;UID=42"`;
    const [du, pu] = [await catenate(d, 'Drafts', parts), await catenate(p, 'Drafts', parts)];
    assert.match(String(du), /NO \[BADURL/);
    assert.match(String(pu), /NO \[BADURL/);
  });
});

// "/;auth=.*$/i" on the URL's userinfo retried from every ";AUTH=" when a line break followed them:
// quadratic, and a URL may be a literal as large as the message limit. About 600 KB held the event loop
// (every connection of every protocol) for most of a minute; the test's own timeout is the bound.
test('a URL built to backtrack is refused at once and other connections are still answered', {
  timeout: 15_000,
}, async () => {
  const f = await imapFixture();
  try {
    const c = await f.login();
    const url = `imap://alice${';AUTH='.repeat(100_000)}\n;AUTH=*@localhost/INBOX/;UID=1`;
    const r = await c.cmd(`APPEND Drafts CATENATE (TEXT ${lit(HEAD)} URL ${lit(url)})`, 60_000);
    assert.match(r.tagged, /^\S+ NO \[BADURL/);
    const other = await f.login();
    assert.match((await other.cmd('NOOP', 60_000)).tagged, /OK/);
  } finally {
    await f.stop();
  }
});
