// Table tests for Date: header parsing (RFC 5322 section 3.3 and the obsolete forms of section 4.3).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDate, parseDateParts } from './date.ts';

test('RFC 5322 forms and appendix A dates', () => {
  const cases: [string, string][] = [
    ['Fri, 21 Nov 1997 09:55:06 -0600', '1997-11-21T15:55:06Z'],
    ['Tue, 1 Jul 2003 10:52:37 +0200', '2003-07-01T08:52:37Z'],
    ['Thu, 13 Feb 1969 23:32:54 -0330', '1969-02-14T03:02:54Z'],
    // A.5: folding white space, missing seconds, trailing comment.
    [
      'Thu,\r\n      13\r\n        Feb\r\n          1969\r\n      23:32\r\n               -0330 (Newfoundland Time)',
      '1969-02-14T03:02:00Z',
    ],
    // A.6.2: no day-of-week, two-digit year, named zone.
    ['21 Nov 97 09:55:06 GMT', '1997-11-21T09:55:06Z'],
  ];
  for (const [value, iso] of cases) assert.equal(parseDate(value), Date.parse(iso), value);
});

test('broken forms seen in real mail', () => {
  const cases: [string, string][] = [
    ['Sun, 21 Mar 1993 23:56:48 -0800 (PST)', '1993-03-22T07:56:48Z'],
    ['Thu, 22 Aug 2002 12:36:16 EST', '2002-08-22T17:36:16Z'],
    ['Thu, 22 Aug 2002 12:36:16 PDT', '2002-08-22T19:36:16Z'],
    ['Thu, 22 Aug 2002 12:36:16 UT', '2002-08-22T12:36:16Z'],
    ['22 Aug 02 12:36 +0100', '2002-08-22T11:36:00Z'],
    ['Thursday, 22 August 2002 12:36:16 +0000', '2002-08-22T12:36:16Z'],
    ['Thu, 22-Aug-2002 12:36:16 +0000', '2002-08-22T12:36:16Z'],
    ['Thu Aug 22 12:36:23 2002', '2002-08-22T12:36:23Z'],
    ['22 Aug 102 12:00 +0000', '2002-08-22T12:00:00Z'],
    ['2002/09/14 Sat 02:29:32 CDT', '2002-09-14T07:29:32Z'],
    ['Mon, 2 Sep 2002 9:05:01 +05:30', '2002-09-02T03:35:01Z'],
    ['Mon, 2 Sep 2002 09:05:01 A', '2002-09-02T09:05:01Z'],
    ['Mon, 2 Sep 2002 09:05:01', '2002-09-02T09:05:01Z'],
  ];
  for (const [value, iso] of cases) assert.equal(parseDate(value), Date.parse(iso), value);
});

// No timing assertion (a loaded machine is slow): quadratic work on these inputs takes minutes and trips
// the test's timeout.
test('unparseable dates give null, never throw', { timeout: 30_000 }, () => {
  for (const value of [
    '',
    'garbage',
    'Thu, 32 Aug 2002 12:00:00 +0000',
    '22 Foo 2002 12:00',
    '22 Aug 2002',
    '\u0000',
    '99:99',
  ]) {
    assert.equal(parseDate(value), null, value);
  }
  parseDate('1 '.repeat(100000));
  parseDate('('.repeat(100000));
});

test('parseDateParts keeps the zone as written', () => {
  assert.deepEqual(parseDateParts('Fri, 21 Nov 1997 23:55:06 -0600'), {
    ms: Date.parse('1997-11-22T05:55:06Z'),
    zone: -360,
  });
  assert.deepEqual(parseDateParts('Thu, 22 Aug 2002 12:36:16 PDT'), {
    ms: Date.parse('2002-08-22T19:36:16Z'),
    zone: -420,
  });
  assert.deepEqual(parseDateParts('22 Aug 2002 12:36:16'), { ms: Date.parse('2002-08-22T12:36:16Z'), zone: 0 });
  assert.equal(parseDateParts('garbage'), null);
});
