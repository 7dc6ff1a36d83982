// Table tests of the SEARCH, SORT and THREAD argument parsers: the RFCs' own examples, then errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { args, literal } from '../../../test/helpers/imap-args.ts';
import { searchEngine, usesModseq } from './index.ts';
import type { Program, SearchKey } from './program.ts';
import { STAR } from './sequence-set.ts';

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const opts = { utf8: false };

function parsed(text: string, o = opts): SearchKey {
  const r = searchEngine.parseSearch(args(text), o);
  assert.ok(r.ok, `${text}: ${r.ok ? '' : r.error}`);
  return (r.value.program as Program).root;
}

test('SEARCH: RFC 9051 section 6.4.4 examples', () => {
  assert.deepEqual(parsed('FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"'), {
    k: 'and',
    keys: [
      { k: 'flag', flag: '\\flagged', set: true },
      { k: 'date', field: 'internal', op: 'since', day: day('1994-02-01') },
      { k: 'not', key: { k: 'envelope', field: 'from', needle: 'Smith' } },
    ],
  });
  assert.deepEqual(parsed('DELETED FROM "SMITH" SINCE 1-Feb-1994'), {
    k: 'and',
    keys: [
      { k: 'flag', flag: '\\deleted', set: true },
      { k: 'envelope', field: 'from', needle: 'SMITH' },
      { k: 'date', field: 'internal', op: 'since', day: day('1994-02-01') },
    ],
  });
  assert.deepEqual(parsed('TEXT "string not in mailbox"'), {
    k: 'text',
    field: 'text',
    needle: 'string not in mailbox',
  });
  assert.deepEqual(parsed('UNSEEN'), { k: 'flag', flag: '\\seen', set: false });
  assert.deepEqual(parsed('1:5000'), { k: 'seq', set: { ranges: [[1, 5000]], saved: false } });
  // A285: CHARSET UTF-8 TEXT {12} with a literal in Cyrillic.
  const r = searchEngine.parseSearch([...args('CHARSET UTF-8 TEXT'), literal('отпуск')], opts);
  assert.ok(r.ok);
  assert.equal(r.value.charset, 'UTF-8');
  assert.deepEqual((r.value.program as Program).root, { k: 'text', field: 'text', needle: 'отпуск' });
});

test('SEARCH: every key of RFC 9051 and RFC 3501', () => {
  const cases: [string, SearchKey][] = [
    ['ALL', { k: 'all' }],
    ['answered', { k: 'flag', flag: '\\answered', set: true }],
    ['BCC x', { k: 'envelope', field: 'bcc', needle: 'x' }],
    ['BEFORE 1-Feb-1994', { k: 'date', field: 'internal', op: 'before', day: day('1994-02-01') }],
    ['BODY "a b"', { k: 'text', field: 'body', needle: 'a b' }],
    ['CC ""', { k: 'envelope', field: 'cc', needle: '' }],
    ['DELETED', { k: 'flag', flag: '\\deleted', set: true }],
    ['DRAFT', { k: 'flag', flag: '\\draft', set: true }],
    ['FLAGGED', { k: 'flag', flag: '\\flagged', set: true }],
    ['FROM smith', { k: 'envelope', field: 'from', needle: 'smith' }],
    ['HEADER Message-ID "<x@y>"', { k: 'header', name: 'message-id', needle: '<x@y>' }],
    ['HEADER "X-Spam-Flag" ""', { k: 'header', name: 'x-spam-flag', needle: '' }],
    ['KEYWORD $Forwarded', { k: 'flag', flag: '$forwarded', set: true }],
    ['LARGER 1024', { k: 'larger', n: 1024 }],
    [
      'NEW',
      {
        k: 'and',
        keys: [{ k: 'recent' }, { k: 'flag', flag: '\\seen', set: false }],
      },
    ],
    ['NOT SEEN', { k: 'not', key: { k: 'flag', flag: '\\seen', set: true } }],
    ['OLD', { k: 'not', key: { k: 'recent' } }],
    ['ON 9-Sep-2024', { k: 'date', field: 'internal', op: 'on', day: day('2024-09-09') }],
    ['ON "09-Sep-2024"', { k: 'date', field: 'internal', op: 'on', day: day('2024-09-09') }],
    [
      'OR SEEN FLAGGED',
      { k: 'or', a: { k: 'flag', flag: '\\seen', set: true }, b: { k: 'flag', flag: '\\flagged', set: true } },
    ],
    ['RECENT', { k: 'recent' }],
    ['SEEN', { k: 'flag', flag: '\\seen', set: true }],
    ['SENTBEFORE 1-Jan-2000', { k: 'date', field: 'sent', op: 'before', day: day('2000-01-01') }],
    ['SENTON 29-Feb-2000', { k: 'date', field: 'sent', op: 'on', day: day('2000-02-29') }],
    ['SENTSINCE 31-dec-1999', { k: 'date', field: 'sent', op: 'since', day: day('1999-12-31') }],
    ['SINCE 1-FEB-1994', { k: 'date', field: 'internal', op: 'since', day: day('1994-02-01') }],
    ['SMALLER 0', { k: 'smaller', n: 0 }],
    ['SUBJECT "Grüße"', { k: 'envelope', field: 'subject', needle: 'Grüße' }],
    ['TEXT x', { k: 'text', field: 'text', needle: 'x' }],
    ['TO y', { k: 'envelope', field: 'to', needle: 'y' }],
    [
      'UID 1,3:*',
      {
        k: 'uid',
        set: {
          ranges: [
            [1, 1],
            [3, STAR],
          ],
          saved: false,
        },
      },
    ],
    ['UNANSWERED', { k: 'flag', flag: '\\answered', set: false }],
    ['UNDELETED', { k: 'flag', flag: '\\deleted', set: false }],
    ['UNDRAFT', { k: 'flag', flag: '\\draft', set: false }],
    ['UNFLAGGED', { k: 'flag', flag: '\\flagged', set: false }],
    ['UNKEYWORD $Junk', { k: 'flag', flag: '$junk', set: false }],
    ['UNSEEN', { k: 'flag', flag: '\\seen', set: false }],
    ['*', { k: 'seq', set: { ranges: [[STAR, STAR]], saved: false } }],
    ['5:2', { k: 'seq', set: { ranges: [[5, 2]], saved: false } }],
    // Parenthesised groups AND their keys; one key in parentheses is that key.
    [
      '(OR SEEN FLAGGED) DELETED',
      {
        k: 'and',
        keys: [
          { k: 'or', a: { k: 'flag', flag: '\\seen', set: true }, b: { k: 'flag', flag: '\\flagged', set: true } },
          { k: 'flag', flag: '\\deleted', set: true },
        ],
      },
    ],
    ['((ALL))', { k: 'all' }],
    [
      'NOT (SEEN DRAFT)',
      {
        k: 'not',
        key: {
          k: 'and',
          keys: [
            { k: 'flag', flag: '\\seen', set: true },
            { k: 'flag', flag: '\\draft', set: true },
          ],
        },
      },
    ],
  ];
  for (const [text, key] of cases) assert.deepEqual(parsed(text), key, text);
});

test('SEARCH: extension keys (RFC 5182, 5032, 7162, 8474, 8514) from their examples', () => {
  // RFC 5182 section 2.1: "$" alone, with UID, and inside a set.
  assert.deepEqual(parsed('$'), { k: 'seq', set: { ranges: [], saved: true } });
  assert.deepEqual(parsed('UID $'), { k: 'uid', set: { ranges: [], saved: true } });
  assert.deepEqual(parsed('OR $ 1:10'), {
    k: 'or',
    a: { k: 'seq', set: { ranges: [], saved: true } },
    b: { k: 'seq', set: { ranges: [[1, 10]], saved: false } },
  });
  // RFC 5032 section 3.
  assert.deepEqual(parsed('OLDER 604800'), { k: 'older', seconds: 604800 });
  assert.deepEqual(parsed('YOUNGER 259200'), { k: 'younger', seconds: 259200 });
  // RFC 7162 section 3.1.5, examples 15 and 16.
  const ex15 = searchEngine.parseSearch(args('MODSEQ "/flags/\\\\draft" all 620162338'), opts);
  assert.ok(ex15.ok);
  assert.deepEqual((ex15.value.program as Program).root, { k: 'modseq', min: 620162338 });
  assert.equal(usesModseq(ex15.value), true);
  assert.deepEqual(parsed('OR NOT MODSEQ 720162338 LARGER 50000'), {
    k: 'or',
    a: { k: 'not', key: { k: 'modseq', min: 720162338 } },
    b: { k: 'larger', n: 50000 },
  });
  const plain = searchEngine.parseSearch(args('ALL'), opts);
  assert.ok(plain.ok);
  assert.equal(usesModseq(plain.value), false);
  // RFC 8474 section 6 examples.
  assert.deepEqual(parsed('EMAILID M6d99ac3275bb4e'), { k: 'emailid', id: 'M6d99ac3275bb4e' });
  assert.deepEqual(parsed('THREADID T64b478a75b7ea9'), { k: 'threadid', id: 'T64b478a75b7ea9' });
  // RFC 8514 section 4.
  assert.deepEqual(parsed('SAVEDBEFORE 1-Jan-2019'), {
    k: 'date',
    field: 'saved',
    op: 'before',
    day: day('2019-01-01'),
  });
  assert.deepEqual(parsed('SAVEDON 1-Jan-2019').k, 'date');
  assert.deepEqual(parsed('SAVEDSINCE 1-Jan-2019').k, 'date');
  assert.deepEqual(parsed('SAVEDATESUPPORTED'), { k: 'savedatesupported' });
});

test('SEARCH: CHARSET (RFC 9051 section 6.4.4, RFC 6855 section 3)', () => {
  for (const cs of ['UTF-8', 'utf-8', 'US-ASCII', '"UTF-8"']) {
    const r = searchEngine.parseSearch(args(`CHARSET ${cs} ALL`), opts);
    assert.ok(r.ok, cs);
  }
  const bad = searchEngine.parseSearch(args('CHARSET KOI8-R TEXT x'), opts);
  assert.deepEqual(bad, { ok: false, error: 'Unsupported charset', code: 'BADCHARSET' });
  // With UTF8=ACCEPT a charset is a protocol error (BAD), whatever it names.
  const utf8 = searchEngine.parseSearch(args('CHARSET UTF-8 ALL'), { utf8: true });
  assert.equal(utf8.ok, false);
  assert.equal(!utf8.ok && utf8.code, undefined);
  // Without CHARSET, strings are UTF-8 in both modes.
  assert.deepEqual(parsed('SUBJECT "ü"', { utf8: true }), { k: 'envelope', field: 'subject', needle: 'ü' });
});

test('SEARCH: errors become BAD with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /Missing search criteria/],
    ['FOO', /Unknown search key FOO/],
    ['ALL BOGUS', /Unknown search key BOGUS/],
    ['"ALL"', /Expected a search key/],
    ['SINCE 32-Jan-1994', /date/],
    ['SINCE 30-Feb-1994', /date/],
    ['SINCE 1-Foo-1994', /date/],
    ['SINCE 1994-02-01', /date/],
    ['SINCE 1-Feb-94', /date/],
    ['BEFORE', /date/],
    ['LARGER abc', /number/],
    ['LARGER -1', /number/],
    ['LARGER', /number/],
    ['LARGER 99999999999999999999', /number/],
    ['OLDER 0', /out of range/],
    ['UID abc', /sequence set/],
    ['UID', /sequence set/],
    ['0', /Invalid sequence set/],
    ['1:', /Invalid sequence set/],
    ['1,,2', /Invalid sequence set/],
    ['4294967296', /Invalid sequence set/],
    ['OR SEEN', /Missing search key/],
    ['NOT', /Missing search key/],
    ['()', /Empty/],
    ['SUBJECT', /string/],
    ['SUBJECT (x)', /string/],
    ['HEADER Subject', /string/],
    ['KEYWORD', /atom/],
    ['KEYWORD "a b"', /atom/],
    ['EMAILID "M1"', /atom/],
    ['EMAILID M1.2', /Invalid EMAILID/],
    ['MODSEQ "/flags/\\\\seen" bogus 5', /entry type/],
    ['MODSEQ "/other" all 5', /entry name/],
    ['MODSEQ x', /number/],
    [`${'NOT '.repeat(100)}ALL`, /nested too deeply/],
    [`${'ALL '.repeat(1001)}`, /Too many search keys/],
    [`${'BODY x '.repeat(65)}`, /Too many text search keys/],
  ];
  for (const [text, re] of cases) {
    const r = searchEngine.parseSearch(args(text), opts);
    assert.equal(r.ok, false, text);
    if (!r.ok) {
      assert.match(r.error, re, text);
      assert.equal(r.code, undefined, text);
    }
  }
  const badUtf8 = searchEngine.parseSearch([...args('FROM'), literal(Buffer.from([0xc3, 0x28]))], opts);
  assert.equal(badUtf8.ok, false);
});

test('SORT: RFC 5256 examples and errors', () => {
  const ok = (text: string) => {
    const r = searchEngine.parseSort(args(text), opts);
    assert.ok(r.ok, text);
    return r.value;
  };
  assert.deepEqual(ok('(SUBJECT) UTF-8 SINCE 1-Feb-1994').keys, [{ key: 'SUBJECT', reverse: false }]);
  const a283 = ok('(SUBJECT REVERSE DATE) UTF-8 ALL');
  assert.deepEqual(a283.keys, [
    { key: 'SUBJECT', reverse: false },
    { key: 'DATE', reverse: true },
  ]);
  assert.deepEqual((a283.query.program as Program).root, { k: 'all' });
  assert.equal(ok('(SUBJECT) US-ASCII TEXT "not in mailbox"').query.charset, 'US-ASCII');
  assert.equal((ok('(arrival cc from size to displayfrom displayto) utf-8 ALL').keys as unknown[]).length, 7);
  const errors: [string, RegExp, string?][] = [
    ['() UTF-8 ALL', /list of sort criteria/],
    ['SUBJECT UTF-8 ALL', /list of sort criteria/],
    ['(REVERSE) UTF-8 ALL', /REVERSE/],
    ['(REVERSE REVERSE DATE) UTF-8 ALL', /Unknown sort criterion REVERSE/],
    ['(FOO) UTF-8 ALL', /Unknown sort criterion FOO/],
    ['(SUBJECT) UTF-8', /Missing search criteria/],
    ['(SUBJECT)', /charset/],
    ['(SUBJECT) KOI8-R ALL', /Unsupported charset/, 'BADCHARSET'],
  ];
  for (const [text, re, code] of errors) {
    const r = searchEngine.parseSort(args(text), opts);
    assert.equal(r.ok, false, text);
    if (!r.ok) {
      assert.match(r.error, re, text);
      assert.equal(r.code, code, text);
    }
  }
});

test('THREAD: RFC 5256 examples and errors', () => {
  const a = searchEngine.parseThread(args('ORDEREDSUBJECT UTF-8 SINCE 5-MAR-2000'), opts);
  assert.ok(a.ok);
  assert.equal(a.value.algorithm, 'ORDEREDSUBJECT');
  const b = searchEngine.parseThread(args('references US-ASCII TEXT "gewp"'), opts);
  assert.ok(b.ok);
  assert.equal(b.value.algorithm, 'REFERENCES');
  assert.deepEqual(searchEngine.parseThread(args('REFS UTF-8 ALL'), opts), {
    ok: false,
    error: 'Unknown threading algorithm',
  });
  const cs = searchEngine.parseThread(args('REFERENCES ISO-2022-JP ALL'), opts);
  assert.equal(!cs.ok && cs.code, 'BADCHARSET');
  assert.equal(searchEngine.parseThread(args('REFERENCES UTF-8'), opts).ok, false);
});
