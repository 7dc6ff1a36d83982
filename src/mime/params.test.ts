// Table tests for Content-Type / Content-Disposition parameter parsing (RFC 2045, RFC 2183, RFC 2231).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { joinContinuations, parseContentType, parseDisposition, parseParams } from './params.ts';

test('RFC 2231 section 3 and 4 examples', () => {
  const cases: [string, Record<string, string>][] = [
    [
      'message/external-body; access-type=URL;\r\n URL*0="ftp://";\r\n URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"',
      { 'access-type': 'URL', url: 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar' },
    ],
    [
      "application/x-stuff;\r\n title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A",
      { title: 'This is ***fun***' },
    ],
    // Section 4.1, written without the ";" separators exactly as the RFC prints it.
    [
      "application/x-stuff\r\n title*0*=us-ascii'en'This%20is%20even%20more%20\r\n title*1*=%2A%2A%2Afun%2A%2A%2A%20\r\n title*2=\"isn't it!\"",
      { title: "This is even more ***fun*** isn't it!" },
    ],
  ];
  for (const [value, params] of cases) assert.deepEqual(parseContentType(value)?.params, params, value);
});

test('raw parameters keep names and undecoded values for BODYSTRUCTURE', () => {
  const ct = parseContentType('application/x-stuff; title*=us-ascii\'en-us\'a%20b; Name="x"');
  assert.deepEqual(ct?.rawParams, [
    ['title*', "us-ascii'en-us'a%20b"],
    ['Name', 'x'],
  ]);
  assert.deepEqual(ct?.params, { title: 'a b', name: 'x' });
});

test('continuations joined for BODYSTRUCTURE, values left encoded (as Dovecot shows them)', () => {
  const joined = (v: string) => joinContinuations(parseParams(v).rawParams);
  const cases: [string, [string, string][]][] = [
    // RFC 2231 section 3: plain sections become one parameter, in index order whatever the written order.
    ['; URL*1="b/c"; URL*0="ftp://a/"', [['URL', 'ftp://a/b/c']]],
    // Section 4.1: encoded sections keep charset'language' and their escapes; the name ends in "*".
    [
      "; title*0*=us-ascii'en'This%20is%20; title*1*=%2A%2Afun; title*2=\" isn't it!\"",
      [['title*', "us-ascii'en'This%20is%20%2A%2Afun isn't it!"]],
    ],
    // An unencoded section among encoded ones: its "%" escaped, so it is not read as an escape.
    ['; t*0*=utf-8\'\'a%20; t*1="100%"', [['t*', "utf-8''a%20100%25"]]],
    // An unencoded first section: an empty charset and language in front.
    ['; t*0="plain "; t*1*=%E2%82%AC', [['t*', "''plain %E2%82%AC"]]],
    // Plain parameters first, as written; then the joined ones by name (byte order), names as first written.
    [
      '; a=1; t*1="y"; b=2; T*0="x"; Z*0=z',
      [
        ['a', '1'],
        ['b', '2'],
        ['T', 'xy'],
        ['Z', 'z'],
      ],
    ],
    ['; t*00=A; t*01=B', [['t', 'AB']]],
    // Sections missing (no 0, a gap) or repeated: kept one by one, index written without leading zeros.
    [
      '; t*1=b; t*2=c',
      [
        ['t*1', 'b'],
        ['t*2', 'c'],
      ],
    ],
    [
      '; t*0=a; t*02*=c',
      [
        ['t*0', 'a'],
        ['t*2*', 'c'],
      ],
    ],
    [
      '; t*0=a; t*0=b',
      [
        ['t*0', 'a'],
        ['t*0', 'b'],
      ],
    ],
    // A plain value and a continued one of the same name: both shown.
    [
      '; t=p; t*0=a; t*1=b',
      [
        ['t', 'p'],
        ['t', 'ab'],
      ],
    ],
    // Not sections: left as they are.
    [
      '; t*x=1; *=2; charset=us-ascii',
      [
        ['t*x', '1'],
        ['charset', 'us-ascii'],
        ['*', '2'],
      ],
    ],
  ];
  for (const [value, want] of cases) assert.deepEqual(joined(value), want, value);
  const plain = parseParams('; a=1; b=2').rawParams;
  assert.equal(joinContinuations(plain), plain, 'no section: the same list');
});

test('content types: case, comments, defaults', () => {
  assert.deepEqual(parseContentType('TEXT/HTML; CHARSET=utf-8 (comment)'), {
    type: 'text',
    subtype: 'html',
    rawType: 'TEXT',
    rawSubtype: 'HTML',
    params: { charset: 'utf-8' },
    rawParams: [['CHARSET', 'utf-8']],
  });
  assert.equal(parseContentType('text')?.type, undefined);
  assert.equal(parseContentType(''), null);
  assert.equal(parseContentType('/plain'), null);
  assert.equal(parseContentType(' (c) text / plain ')?.subtype, 'plain');
});

test('parameter values: quoting, escapes, charsets, broken forms', () => {
  const cases: [string, Record<string, string>][] = [
    ['; name="a \\"q\\" b"; x=y', { name: 'a "q" b', x: 'y' }],
    ["; name*=utf-8''%E2%82%AC%20rates.txt", { name: '€ rates.txt' }],
    ["; name*=iso-8859-1'de'Gr%FC%DFe", { name: 'Grüße' }],
    ["; name*0*=utf-8''%E2%82; name*1*=%AC", { name: '€' }],
    ['; name*1="b"; name*0="a"', { name: 'ab' }],
    ['; name="plain"; name*=utf-8\'\'better', { name: 'better' }],
    ['; name="=?utf-8?B?4oKsLnR4dA==?="', { name: '€.txt' }],
    ['; name="unterminated', { name: 'unterminated' }],
    ['; name=my file.txt', { name: 'my file.txt' }],
    ['; name="a"b.txt', { name: 'ab.txt' }],
    ['; name="a" size=3', { name: 'a', size: '3' }],
    ['; name*=%41%zz', { name: 'A%zz' }],
    [';;; =; foo; bar=baz', { bar: 'baz' }],
    ['; __proto__=x; constructor=y', { constructor: 'y' }],
    ['; A=1; a=2', { a: '1' }],
  ];
  for (const [value, params] of cases) assert.deepEqual(parseParams(value).params, params, value);
});

test('Content-Disposition (RFC 2183 section 2)', () => {
  const d = parseDisposition(
    'Attachment; filename=genome.jpeg;\r\n modification-date="Wed, 12 Feb 1997 16:29:51 -0500";',
  );
  assert.equal(d?.type, 'attachment');
  assert.equal(d?.rawType, 'Attachment');
  assert.deepEqual(d?.params, { filename: 'genome.jpeg', 'modification-date': 'Wed, 12 Feb 1997 16:29:51 -0500' });
  assert.equal(parseDisposition('  '), null);
  assert.equal(parseDisposition('inline')?.type, 'inline');
});

// No timing assertion (a loaded machine is slow): quadratic work on these inputs takes minutes and trips
// the test's timeout.
test('hostile parameter text finishes fast', { timeout: 30_000 }, () => {
  parseParams('; a="'.repeat(20000));
  parseParams(`; name=${'x '.repeat(30000)}`);
  parseParams(`; ${'('.repeat(50000)}`);
  parseParams(`; name*${'0*=%'.repeat(20000)}`);
});
