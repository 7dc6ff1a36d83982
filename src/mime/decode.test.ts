// Tests for transfer decoding (RFC 2045 sections 6.7, 6.8), charset decoding and HTML-to-text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeBase64, decodeCharset, decodePartBody, decodeQuotedPrintable, partText } from './decode.ts';
import { decodeEntities, htmlToText } from './html.ts';
import { parseMessage } from './parse.ts';

const qp = (s: string) => decodeQuotedPrintable(Buffer.from(s, 'latin1')).toString('latin1');
const b64 = (s: string) => decodeBase64(Buffer.from(s, 'latin1')).toString('latin1');

test('base64 tolerates line breaks, garbage and missing padding', () => {
  assert.equal(b64('aGVsbG8gd29ybGQ='), 'hello world');
  assert.equal(b64('aGVsbG8g\r\nd29ybGQ'), 'hello world');
  assert.equal(b64('aGVs!!bG8g\n*d29y bGQ=\n'), 'hello world');
  assert.equal(b64(''), '');
  assert.equal(b64('===='), '');
});

test('quoted-printable: escapes, soft breaks, padding, bad escapes', () => {
  const cases: [string, string][] = [
    ['caf=E9', 'caf\u00e9'],
    ['caf=e9', 'caf\u00e9'],
    ['soft=\r\nbreak', 'softbreak'],
    ['soft=\nbreak', 'softbreak'],
    ['soft= \t\r\nbreak', 'softbreak'],
    ['trailing   \r\nblanks\t\nend', 'trailing\r\nblanks\nend'],
    ['inner  blanks kept', 'inner  blanks kept'],
    ['last line padded  \t ', 'last line padded'],
    ['bad =XY escape', 'bad =XY escape'],
    ['bad =4', 'bad =4'],
    ['ends with =', 'ends with '],
    ['a == b', 'a == b'],
    ['=3D=3d', '=='],
  ];
  for (const [encoded, decoded] of cases) assert.equal(qp(encoded), decoded, encoded);
});

test('charsets: known, WHATWG-only, iconv-only, unknown', () => {
  assert.equal(decodeCharset(Buffer.from('caf\u00e9', 'latin1'), 'ISO-8859-1'), 'café');
  assert.equal(decodeCharset(Buffer.from([0x80]), 'iso-8859-1'), '€'); // Windows-1252 superset, as browsers do
  assert.equal(decodeCharset(Buffer.from('café'), 'utf-8'), 'café');
  assert.equal(decodeCharset(Buffer.from('café'), '"UTF-8"'), 'café');
  assert.equal(decodeCharset(Buffer.from('café'), 'us-ascii'), 'café'); // mislabelled 8-bit
  assert.equal(decodeCharset(Buffer.from('café'), 'no-such-charset'), 'café');
  assert.equal(decodeCharset(Buffer.from('caf\u00e9', 'latin1'), undefined), 'café');
  assert.equal(decodeCharset(Buffer.from([0x82, 0xa0]), 'shift_jis'), 'あ');
  assert.equal(decodeCharset(Buffer.from([0xf0, 0xd2]), 'koi8-r'), 'Пр');
  assert.equal(decodeCharset(Buffer.from([0x8e]), 'cp437'), 'Ä'); // iconv-lite only
});

test('HTML to text: tags, scripts, styles, comments, entities', () => {
  const html =
    '<html><head><title>T</title><style>p{color:red}</style></head><body>' +
    '<p>Hello&nbsp;<b>world</b> &amp; &lt;friends&gt; &#8364;&#x41;&eacute;&bogus;</p>' +
    '<script>var x = "<p>no</p>";</script><!-- hidden --><div>Line<br>two</div>' +
    '<table><tr><td>a</td><td>b</td></tr></table>1 < 2</body></html>';
  assert.equal(htmlToText(html), 'Hello world & <friends> €Aé&bogus;\nLine\ntwo\na b\n1 < 2');
  assert.equal(decodeEntities('&#0;&#xD800;&#99999999;'), '\ufffd\ufffd\ufffd');
  // Every HTML5 named reference (HTML section 13.5), not only a common subset.
  assert.equal(
    decodeEntities('https&colon;&sol;&sol;a&period;example&quest;q&equals;1&num;x'),
    'https://a.example?q=1#x',
  );
  assert.equal(
    decodeEntities('box&commat;x&period;test &percnt;&plus;&lowbar;&hyphen;&dash;&excl;&lpar;&rpar;'),
    'box@x.test %+_‐‐!()',
  );
  assert.equal(decodeEntities('a&Tab;b&NewLine;c &AMP; &Amp; &nbsp;&shy;'), 'a\tb\nc & &  ');
  assert.equal(htmlToText('<p>unterminated <b'), 'unterminated');
  assert.equal(htmlToText('<SCRIPT>x</SCRIPT>y'), 'y');
  assert.equal(htmlToText('<script>never closed'), 'never closed');
});

test('decodePartBody and partText use the part encoding and charset', () => {
  const raw = Buffer.from(
    'Content-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n' +
      '<p>Gr=FC=DFe</p>=\r\n<p>aus K=F6ln</p>\r\n',
  );
  const { root } = parseMessage(raw);
  assert.equal(decodePartBody(raw, root).toString('latin1'), '<p>Gr\u00fc\u00dfe</p><p>aus K\u00f6ln</p>\r\n');
  assert.equal(partText(raw, root), 'Grüße\naus Köln');
});

// No timing assertion (a loaded machine is slow): quadratic work on these inputs takes minutes and trips
// the test's timeout.
test('hostile bodies decode fast', { timeout: 30_000 }, () => {
  qp('='.repeat(1_000_000));
  qp(' '.repeat(1_000_000));
  b64('!'.repeat(1_000_000));
  htmlToText('<a'.repeat(300_000));
  htmlToText('<script>'.repeat(100_000));
});
