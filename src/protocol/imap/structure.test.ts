// ENVELOPE and BODYSTRUCTURE writing: the RFC 9051 section 7.5.2 shapes and Dovecot's choices where the
// RFC leaves one (strings for humans, defaults written out, tokens as written).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import { bodyStructureString, envelopeString } from './structure.ts';

const parse = (s: string) => parseMessage(Buffer.from(s.replace(/\n/g, '\r\n')));

test('ENVELOPE: addresses, groups, NIL, subjects for humans', () => {
  const m = parse(
    'Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\nFrom: "Terry  Gray" <gray@cac.washington.edu>\nSubject: IMAP4rev2\n WG mtg summary\nTo: imap@cac.washington.edu, Team: a@x.test;\nMessage-Id: <B27397-0100000@cac.washington.edu>\n\nbody\n',
  );
  assert.equal(
    envelopeString(m.envelope),
    '("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev2 WG mtg summary" ' +
      '(({10}\r\nTerry Gray NIL "gray" "cac.washington.edu")) (({10}\r\nTerry Gray NIL "gray" "cac.washington.edu")) ' +
      '(({10}\r\nTerry Gray NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")(NIL NIL "Team" NIL)' +
      '(NIL NIL "a" "x.test")(NIL NIL NIL NIL)) NIL NIL NIL "<B27397-0100000@cac.washington.edu>")',
  );
  assert.equal(envelopeString(parse('\nx\n').envelope), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
});

test('BODYSTRUCTURE: default charset, defaults at the root, tokens as written, extension data', () => {
  assert.equal(
    bodyStructureString(parse('Subject: x\n\nhi\n').root, true),
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1 NIL NIL NIL NIL)',
  );
  assert.equal(
    bodyStructureString(
      parse('Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\nContent-Transfer-Encoding: 7BIT\n\nhi\n').root,
      true,
    ),
    '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 4 1 NIL NIL NIL NIL)',
    'a root that says only the defaults is written as the defaults',
  );
  const multi = parse(
    'Content-Type: Multipart/Mixed; boundary=b\n\n--b\nContent-Type: Text/Plain; CHARSET=US-ASCII\nContent-Transfer-Encoding: 8BIT\nContent-Disposition: INLINE; filename=a.txt\nContent-Language: en, fr\n\nx\n--b\nContent-Type: message/rfc822\n\nSubject: in\n\ninner\n--b--\n',
  );
  assert.equal(
    bodyStructureString(multi.root, true),
    '(("Text" "Plain" ("CHARSET" "US-ASCII") NIL NIL "8BIT" 1 0 NIL ("INLINE" ("filename" "a.txt")) ("en" "fr") NIL)' +
      '("message" "rfc822" NIL NIL NIL "7bit" 20 (NIL "in" NIL NIL NIL NIL NIL NIL NIL NIL) ' +
      '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0 NIL NIL NIL NIL) 2 NIL NIL NIL NIL) "Mixed" ("boundary" "b") NIL NIL NIL)',
  );
  assert.equal(
    bodyStructureString(multi.root, false),
    '(("Text" "Plain" ("CHARSET" "US-ASCII") NIL NIL "8BIT" 1 0)("message" "rfc822" NIL NIL NIL "7bit" 20 ' +
      '(NIL "in" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 5 0) 2) "Mixed")',
  );
  assert.equal(
    bodyStructureString(parse('Content-Type: multipart/mixed; boundary=zz\n\nno parts here\n').root, true),
    '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "zz") NIL NIL NIL)',
  );
});
