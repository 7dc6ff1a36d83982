// Tests for parseMessage: RFC 2046 structure and offsets, IMAP sizes and lines, envelope, summary fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from './parse.ts';
import { checkTree } from './tree-check.ts';
import type { MimePart } from './types.ts';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
const lf = (s: string) => Buffer.from(s, 'latin1');
const body = (raw: Buffer, p: MimePart) => raw.toString('latin1', p.bodyStart, p.bodyEnd);

/** Parses and checks the offset invariants, so every test also exercises them. */
function parse(raw: Buffer) {
  const parsed = parseMessage(raw);
  assert.ok(checkTree(raw, parsed.root).equals(raw), 'tree reassembles the message');
  return parsed;
}

// RFC 2046 section 5.1.1, the example message.
const RFC2046 = `From: Nathaniel Borenstein <nsb@bellcore.com>
To: Ned Freed <ned@innosoft.com>
Date: Sun, 21 Mar 1993 23:56:48 -0800 (PST)
Subject: Sample message
MIME-Version: 1.0
Content-type: multipart/mixed; boundary="simple boundary"

This is the preamble.  It is to be ignored, though it
is a handy place for composition agents to include an
explanatory note to non-MIME conformant readers.

--simple boundary

This is implicitly typed plain US-ASCII text.
It does NOT end with a linebreak.
--simple boundary
Content-type: text/plain; charset=us-ascii

This is explicitly typed plain US-ASCII text.
It DOES end with a linebreak.

--simple boundary--

This is the epilogue.  It is also to be ignored.
`;

test('RFC 2046 section 5.1.1 example, CRLF and LF', () => {
  for (const raw of [crlf(RFC2046), lf(RFC2046)]) {
    const { root, problems } = parse(raw);
    const nl = raw.includes('\r\n') ? '\r\n' : '\n';
    assert.equal(`${root.type}/${root.subtype}`, 'multipart/mixed');
    assert.equal(root.params.boundary, 'simple boundary');
    assert.equal(root.children.length, 2);
    const [one, two] = root.children;
    assert.equal(`${one.type}/${one.subtype}`, 'text/plain');
    assert.equal(one.headerEnd - one.headerStart, nl.length, 'empty header: just the blank line');
    assert.equal(body(raw, one), `This is implicitly typed plain US-ASCII text.${nl}It does NOT end with a linebreak.`);
    assert.equal(one.lines, 1, 'lines are line breaks, as Dovecot counts them for IMAP');
    assert.equal(
      body(raw, two),
      `This is explicitly typed plain US-ASCII text.${nl}It DOES end with a linebreak.${nl}`,
    );
    assert.equal(two.lines, 2);
    assert.deepEqual(two.params, { charset: 'us-ascii' });
    assert.equal(two.size, two.bodyEnd - two.bodyStart);
    assert.deepEqual(problems, []);
  }
});

test('nested multiparts whose boundaries are prefixes of each other', () => {
  for (const [outer, inner] of [
    ['abc', 'abcdef'],
    ['abcdef', 'abc'],
    ['x', 'x-'],
  ]) {
    const msg = `Content-Type: multipart/mixed; boundary="${outer}"

--${outer}
Content-Type: multipart/alternative; boundary="${inner}"

--${inner}

inner one
--${inner}
Content-Type: text/html

<p>inner two</p>
--${inner}--
--${outer}

outer two
--${outer}--
`;
    const raw = crlf(msg);
    const { root } = parse(raw);
    assert.equal(root.children.length, 2, `${outer}/${inner}`);
    const [alt, two] = root.children;
    assert.equal(alt.subtype, 'alternative');
    assert.deepEqual(
      alt.children.map((c) => body(raw, c)),
      ['inner one', '<p>inner two</p>'],
    );
    assert.equal(body(raw, two), 'outer two');
  }
});

test('an outer boundary ends an unterminated inner multipart', () => {
  const raw = crlf(`Content-Type: multipart/mixed; boundary=out

--out
Content-Type: multipart/mixed; boundary=in

--in

never closed
--out

second
--out--
`);
  const { root, problems } = parse(raw);
  assert.equal(root.children.length, 2);
  assert.equal(body(raw, root.children[0].children[0]), 'never closed');
  assert.ok(problems.includes('multipart close delimiter missing'));
});

test('delimiter lines: trailing blanks, missing close delimiter, boundary absent, no preamble', () => {
  const padded = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b  \t\n\none\n--b\t\n\ntwo\n--b-- \n');
  assert.deepEqual(
    parse(padded).root.children.map((c) => body(padded, c)),
    ['one', 'two'],
  );
  const open = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n\none\n--b\n\ntwo\n');
  const parsed = parse(open);
  assert.deepEqual(
    parsed.root.children.map((c) => body(open, c)),
    ['one', 'two\r\n'],
  );
  assert.ok(parsed.problems.includes('multipart close delimiter missing'));
  const absent = crlf('Content-Type: multipart/mixed; boundary=b\n\njust text\n--c\n');
  const none = parse(absent);
  assert.equal(none.root.children.length, 0);
  assert.ok(none.problems.includes('multipart boundary never found'));
  const garbage = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b garbage\n\none\n--b--\n');
  assert.deepEqual(
    parse(garbage).root.children.map((c) => body(garbage, c)),
    ['one'],
  );
  const noBoundary = parse(crlf('Content-Type: multipart/mixed\n\n--b\n\none\n'));
  assert.ok(noBoundary.problems.includes('multipart without boundary parameter'));
  const empty = crlf('Content-Type: multipart/mixed; boundary=b\n\n--b\n--b\nX: y\n--b--');
  assert.deepEqual(
    parse(empty).root.children.map((c) => [c.headerEnd - c.headerStart, c.size]),
    [
      [0, 0],
      [4, 0],
    ],
  );
});

test('message/rfc822 parts and multipart/digest defaults', () => {
  const raw = crlf(`Subject: digest
Content-Type: multipart/digest; boundary=d

--d

From: a@x.test
Subject: first

one
--d
Content-Type: message/rfc822

From: b@x.test
Subject: second
Content-Type: multipart/mixed; boundary=in

--in

two
--in--
--d
Content-Type: text/plain

not a message
--d--
`);
  const { root } = parse(raw);
  const [first, second, third] = root.children;
  assert.equal(`${first.type}/${first.subtype}`, 'message/rfc822');
  assert.equal(first.message?.envelope.subject, 'first');
  assert.deepEqual(first.message?.envelope.from, [{ name: null, adl: null, mailbox: 'a', host: 'x.test' }]);
  assert.equal(first.lines, 3, 'line breaks of the whole encapsulated message');
  assert.equal(second.message?.root.children.length, 1);
  assert.equal(body(raw, second.message!.root.children[0]), 'two');
  assert.equal(third.message, null);
  assert.equal(third.lines, 0);
});

test('line counts as IMAP reports them', () => {
  const lines = (s: string) => parse(lf(`Content-Type: text/plain\n\n${s}`)).root.lines;
  assert.equal(lines(''), 0);
  // Line breaks are counted (as Dovecot reports body-fld-lines); a last line without one is not.
  assert.equal(lines('a'), 0);
  assert.equal(lines('a\n'), 1);
  assert.equal(lines('a\r\nb\r\n'), 2);
  assert.equal(lines('a\n\nb'), 2);
  assert.equal(parse(lf('Content-Type: image/png\n\na\nb\n')).root.lines, 0, 'only text and messages have lines');
});

test('envelope: raw values, Sender and Reply-To default to From, absent fields are null', () => {
  const raw = crlf(`From: =?utf-8?Q?J=C3=B6rg?= <j@x.test>
Reply-To:
To: A Group:a@x.test;, b@y.test
Subject:  =?utf-8?Q?caf=C3=A9?= is
 folded\x20
Message-ID: <id1@x.test>
In-Reply-To: <id0@x.test>
References: <r1@x.test>
 <r2@x.test> <id0@x.test>
Date: Thu, 22 Aug 2002 12:36:16 +0100

body
`);
  const m = parse(raw);
  const jorg = { name: '=?utf-8?Q?J=C3=B6rg?=', adl: null, mailbox: 'j', host: 'x.test' };
  assert.deepEqual(m.envelope, {
    date: 'Thu, 22 Aug 2002 12:36:16 +0100',
    subject: '=?utf-8?Q?caf=C3=A9?= is folded ',
    from: [jorg],
    sender: [jorg],
    replyTo: [jorg],
    to: [
      { name: null, adl: null, mailbox: 'A Group', host: null },
      { name: null, adl: null, mailbox: 'a', host: 'x.test' },
      { name: null, adl: null, mailbox: null, host: null },
      { name: null, adl: null, mailbox: 'b', host: 'y.test' },
    ],
    cc: null,
    bcc: null,
    inReplyTo: '<id0@x.test>',
    messageId: '<id1@x.test>',
  });
  assert.deepEqual(m.headers, {
    subject: 'café is folded',
    from: 'Jörg <j@x.test>',
    to: 'A Group:a@x.test;, b@y.test',
    cc: '',
    bcc: '',
    date: Date.parse('2002-08-22T11:36:16Z'),
    messageId: 'id1@x.test',
    inReplyTo: ['id0@x.test'],
    references: ['r1@x.test', 'r2@x.test', 'id0@x.test'],
  });
  assert.equal(m.headerFields[0].value, 'Jörg <j@x.test>');
  assert.equal(m.headerFields.length, 8);
});

test('text, preview and attachment flag', () => {
  const raw = crlf(`Content-Type: multipart/mixed; boundary=m

--m
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello   there,=0A=0A  caf=C3=A9!
--a
Content-Type: text/html

<p>Hello <b>there</b></p>
--a--
--m
Content-Type: application/pdf; name=x.pdf
Content-Disposition: attachment; filename=x.pdf
Content-Transfer-Encoding: base64

JVBERi0=
--m--
`);
  const m = parse(raw);
  assert.equal(m.preview, 'Hello there, café!');
  assert.equal(m.text, 'Hello   there,\n\n  café!\nHello there');
  assert.equal(m.hasAttachment, true);
  // The MIME headers below the top level, for SEARCH TEXT; the top-level header is not among them.
  assert.equal(
    m.partHeaderText,
    [
      'Content-Type: multipart/alternative; boundary=a',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      'Content-Type: text/html',
      'Content-Type: application/pdf; name=x.pdf',
      'Content-Disposition: attachment; filename=x.pdf',
      'Content-Transfer-Encoding: base64',
    ].join('\n'),
  );
  const related = crlf(`Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html

<img src="cid:1">
--r
Content-Type: image/png
Content-ID: <1>

x
--r--
`);
  assert.equal(parse(related).hasAttachment, false, 'inline related content is not an attachment');
  assert.equal(parse(crlf('Content-Type: image/png\n\nx')).hasAttachment, true);
  const long = parse(crlf(`Content-Type: text/plain\n\n${'word '.repeat(100)}`));
  assert.equal(long.preview.length, 256);
  const capped = parseMessage(crlf(`Content-Type: text/plain\n\n${'x'.repeat(5000)}`), { maxTextLength: 1000 });
  assert.equal(capped.text.length, 1000);
  assert.equal(capped.textCut, true, 'search must look past the index');
  assert.equal(m.textCut, false);
  // Every text/* leaf is text search covers (RFC 9051 section 6.4.4), not only plain and HTML.
  const other = parse(
    crlf(`Content-Type: multipart/mixed; boundary=m

--m
Content-Type: text/csv

a,b
--m
Content-Type: text/calendar

SUMMARY:meeting
--m
Content-Type: image/png

png
--m--
`),
  );
  assert.equal(other.text, 'a,b\nSUMMARY:meeting');
  assert.equal(other.preview, '', 'the preview is still readable text only');
  // A second part past the cap is cut too.
  const two = parseMessage(
    crlf(`Content-Type: multipart/mixed; boundary=m\n\n--m\n\n${'x'.repeat(999)}\n--m\n\nmore\n--m--\n`),
    {
      maxTextLength: 1000,
    },
  );
  assert.equal(two.text.length, 999);
  assert.equal(two.textCut, true);
  // Text and part headers share the cap, the text first.
  const forwarded = crlf(`Content-Type: message/rfc822\n\nSubject: =?utf-8?q?caf=C3=A9?=\n\n${'y'.repeat(990)}`);
  assert.equal(parseMessage(forwarded, { maxTextLength: 1000 }).partHeaderText, 'Subject: c');
  assert.equal(parseMessage(forwarded).partHeaderText, 'Subject: café');
});

test('defaults without Content-Type; headers-only and empty messages', () => {
  const plain = parse(crlf('Subject: x\n\nhi\n'));
  assert.equal(`${plain.root.type}/${plain.root.subtype}`, 'text/plain');
  assert.equal(plain.root.encoding, '7bit');
  assert.equal(plain.preview, 'hi');
  const headersOnly = parse(crlf('Subject: x\n'));
  assert.equal(headersOnly.root.size, 0);
  assert.equal(headersOnly.envelope.subject, 'x');
  const empty = parse(Buffer.alloc(0));
  assert.equal(empty.root.size, 0);
  assert.equal(empty.envelope.from, null);
  const encoded = parse(
    crlf('Content-Type: Text/HTML; charset="ISO-8859-1"\nContent-Transfer-Encoding: QUOTED-PRINTABLE (x)\n\n'),
  );
  assert.equal(encoded.root.encoding, 'quoted-printable');
  assert.equal(encoded.root.subtype, 'html');
});

test('the tree check itself fails on a wrong offset', () => {
  const raw = crlf(RFC2046);
  const { root } = parseMessage(raw);
  const bad = structuredClone(root);
  bad.children[0].bodyEnd += 1;
  assert.throws(() => checkTree(raw, bad));
  const shifted = structuredClone(root);
  shifted.children[1].headerStart -= 1;
  assert.throws(() => checkTree(raw, shifted));
  const swapped = structuredClone(root);
  swapped.children.reverse();
  assert.throws(() => checkTree(raw, swapped));
});

test('a boundary that looks like an encoded word is used as written', () => {
  const raw = crlf('Content-Type: multipart/mixed; boundary="=?x?Q?y?="\n\n--=?x?Q?y?=\n\none\n--=?x?Q?y?=--\n');
  assert.deepEqual(
    parse(raw).root.children.map((c) => body(raw, c)),
    ['one'],
  );
});
