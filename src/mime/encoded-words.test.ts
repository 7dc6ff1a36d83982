// Table tests for RFC 2047 encoded-word decoding, from the RFC's section 8 examples plus broken forms.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeWords } from './encoded-words.ts';

test('RFC 2047 section 8 examples', () => {
  const cases: [string, string][] = [
    ['=?US-ASCII?Q?Keith_Moore?= <moore@cs.utk.edu>', 'Keith Moore <moore@cs.utk.edu>'],
    ['=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>', 'Keld Jørn Simonsen <keld@dkuug.dk>'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>', 'André Pirard <PIRARD@vm1.ulg.ac.be>'],
    [
      '=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=',
      'If you can read this you understand the example.',
    ],
    ['=?ISO-8859-1?Q?Olle_J=E4rnefors?= <ojarnef@admin.kth.se>', 'Olle Järnefors <ojarnef@admin.kth.se>'],
    ['=?ISO-8859-1?Q?Patrik_F=E4ltstr=F6m?= <paf@nada.kth.se>', 'Patrik Fältström <paf@nada.kth.se>'],
    [
      'Nathaniel Borenstein <nsb@thumper.bellcore.com> (=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=)',
      'Nathaniel Borenstein <nsb@thumper.bellcore.com> (םולש ןב ילטפנ)',
    ],
    ['(=?ISO-8859-1?Q?a?=)', '(a)'],
    ['(=?ISO-8859-1?Q?a?= b)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a_b?=)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)', '(a b)'],
  ];
  for (const [encoded, shown] of cases) assert.equal(decodeWords(encoded), shown, encoded);
});

test('lenient decoding of real-world breakage', () => {
  const cases: [string, string][] = [
    ['no words here', 'no words here'],
    ['=?utf-8?B?4oKs?= =?utf-8?B?4oK?= =?utf-8?B?sA==?=', '€₰'], // a character split across words
    ['=?UTF-8?Q?=E2=82?= =?UTF-8?Q?=AC?=', '€'],
    ['=?utf-8?q?caf=C3=A9?=', 'café'],
    ['=?x-unknown-charset?Q?caf=C3=A9?=', 'café'], // unknown charset: UTF-8 guess
    ['=?bogus?Q?caf=E9?=', 'café'], // not UTF-8: Windows-1252 guess
    ['=?utf-8*en?Q?hi?=', 'hi'], // RFC 2231 section 5 language suffix
    ['=?utf-8?Q?bad=escape=?=', 'bad=escape='],
    ['=?utf-8?B?aGVsbG8?=', 'hello'], // missing padding
    ['=?utf-8?X?abc?=', '=?utf-8?X?abc?='], // unknown encoding kept
    ['a =?utf-8?Q?b?= c', 'a b c'],
    ['=?utf-8?Q?a?=b', 'ab'],
    ['=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=', 'テスト'],
    ['=?koi8-r?B?8NLJ18XU?=', 'Привет'],
  ];
  for (const [encoded, shown] of cases) assert.equal(decodeWords(encoded), shown, encoded);
});

// No timing assertion (a loaded machine is slow): quadratic work on these inputs takes minutes and trips
// the test's timeout.
test('hostile input finishes fast', { timeout: 30_000 }, () => {
  decodeWords('=?utf-8?Q?'.repeat(50000));
  decodeWords('=?utf-8?Q?a?= '.repeat(50000));
});
