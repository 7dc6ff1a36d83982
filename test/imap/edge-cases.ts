// Messages and FETCH items for test/imap/dovecot-edge-diff.test.ts: RFC 2231 parameter continuations in
// BODYSTRUCTURE and BODY, and sections of parts that do not exist.

/** A small MIME message with the given header lines (CRLF-joined) and body. */
function mime(header: string[], body = 'hello\r\n'): string {
  return ['From: a@example.com', 'Subject: edge', 'MIME-Version: 1.0', ...header, '', body].join('\r\n');
}

const ct = (...params: string[]) => [`Content-Type: application/x-stuff;`, ...params.map((p) => ` ${p}`)];

/** Parameter cases (RFC 2231 sections 3 and 4): a name for the case, then the message. */
export const PARAM_MESSAGES: [string, string][] = [
  // Section 3's example: plain continuations.
  ['plain', mime(ct('title*0="This is even more ";', 'title*1="***fun*** ";', 'title*2="isn\'t it!"'))],
  // Section 4.1's example: encoded segments with a charset and language, and an unencoded one.
  [
    'encoded',
    mime(
      ct(
        "title*0*=us-ascii'en'This%20is%20even%20more%20;",
        'title*1*=%2A%2A%2Afun%2A%2A%2A%20;',
        'title*2="isn\'t it!"',
      ),
    ),
  ],
  ['single-encoded', mime(ct("title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"))],
  [
    'disposition-utf8',
    mime([
      'Content-Type: text/plain; charset=us-ascii',
      'Content-Disposition: attachment;',
      " filename*0*=utf-8''%E2%82%AC%20rates;",
      ' filename*1=".pdf"',
    ]),
  ],
  ['out-of-order', mime(ct('title*1="second";', 'title*0="first-"'))],
  ['missing-0', mime(ct('title*1="second";', 'title*2="third"'))],
  ['gap', mime(ct('title*0="a";', 'title*2*=c'))],
  ['duplicate', mime(ct('title*0="a";', 'title*0="b"'))],
  ['plain-and-continued', mime(ct('title="plainval";', 'title*0="cont0";', 'title*1="cont1"'))],
  ['latin1', mime(['Content-Type: text/plain;', " name*0*=iso-8859-1''caf%E9;", ' name*1=".txt"'])],
  ['name-case', mime(ct('TITLE*0="A";', 'title*1="B"'))],
  ['leading-zeros', mime(ct('title*00="A";', 'title*01="B"'))],
  ['interleaved', mime(ct('a=1;', 'title*1="y";', 'b=2;', 'title*0="x";', 'Z*0="z"'))],
  // An unencoded segment after an encoded one: its "%" must not read as an escape.
  ['mixed-percent', mime(ct("title*0*=utf-8''a%20b;", 'title*1="100%"'))],
  // Unencoded first, encoded later: no charset, still an extended value.
  ['mixed-plain-first', mime(ct('title*0="plain ";', 'title*1*=%E2%82%AC'))],
  [
    'multipart',
    mime(
      ['Content-Type: multipart/mixed;', ' boundary*0="bou";', ' boundary*1="nd"'],
      [
        '--bound',
        'Content-Type: text/plain;',
        ' name*0="part";',
        ' name*1="one.txt"',
        'Content-Disposition: attachment;',
        " filename*0*=utf-8''%C3%A9t%C3%A9;",
        ' filename*1=".txt"',
        '',
        'x',
        '--bound--',
        '',
      ].join('\r\n'),
    ),
  ],
];

/** A single-part and a multipart message for the nonexistent-section items. */
export const SECTION_MESSAGES: string[] = [
  mime(['Content-Type: text/plain; charset=us-ascii'], 'single\r\n'),
  mime(
    ['Content-Type: multipart/mixed; boundary="b"'],
    [
      '--b',
      'Content-Type: text/plain',
      '',
      'one',
      '--b',
      'Content-Type: message/rfc822',
      '',
      'Subject: in',
      '',
      'inner',
      '--b--',
      '',
    ].join('\r\n'),
  ),
];

/** Sections that name no part of those messages (RFC 9051 section 6.4.5). */
export const MISSING_SECTIONS = [
  'BODY.PEEK[2500]',
  'BODY.PEEK[3]',
  'BODY.PEEK[1.1]',
  'BODY.PEEK[2.2]',
  'BODY.PEEK[2500.MIME]',
  'BODY.PEEK[2500.HEADER]',
  'BODY.PEEK[2500.TEXT]',
  'BODY.PEEK[2500.HEADER.FIELDS (FROM)]',
  'BODY.PEEK[2500]<0.10>',
  'BINARY.PEEK[2500]',
  'BINARY.PEEK[1.1]',
  'BINARY.PEEK[2500]<0.10>',
  'BINARY.SIZE[2500]',
  'BINARY.SIZE[1.1]',
];
