// Tests for transfer decoding (RFC 2045 sections 6.7, 6.8), charset decoding and HTML-to-text.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import iconv from 'iconv-lite';
import {
  decodeBase64,
  decodeCharset,
  decodePartBody,
  decodeQuotedPrintable,
  decodeTransfer,
  PartTextDecoder,
  partText,
  TransferDecoder,
} from './decode.ts';
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

test('PartTextDecoder: the text of a body given in pieces of any size is partText of the whole', () => {
  const words = Array.from({ length: 3000 }, (_, i) => `wörd${i} ç日本`).join(' ');
  const utf8 = Buffer.from(words);
  const b64 = utf8.toString('base64').replace(/.{76}/g, '$&\r\n');
  const qpText = Buffer.from(words, 'latin1')
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, (c) => `=${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(/.{70}/g, '$&=\r\n');
  const html = `<html><head><title>not text</title><style>p { x: 1 }</style></head><body>${words
    .split(' ')
    .map((w, i) => (i % 50 === 0 ? `<p>${w}</p>\r\n<script>var s = "hidden${i}";</script>` : `<b>${w}</b> &amp; `))
    .join('')}</body></html>`;
  const cases: [string, string, Buffer][] = [
    ['text/plain; charset=utf-8', 'base64', Buffer.from(b64)],
    ['text/plain; charset=iso-8859-1', 'quoted-printable', Buffer.from(qpText)],
    ['text/plain; charset=utf-8', '8bit', utf8],
    // A line longer than the decoder keeps back, and base64 with text after its padding.
    ['text/plain; charset=utf-8', 'quoted-printable', Buffer.from('=C3=A9t=3D'.repeat(20000))],
    ['text/plain; charset=utf-8', 'base64', Buffer.from(`${Buffer.from(words).toString('base64')}=ignored`)],
    ['text/plain', '8bit', utf8],
    ['text/plain; charset=shift_jis', '8bit', iconv.encode('日本語のテキスト '.repeat(500), 'shift_jis')],
    ['text/plain; charset=gb18030', '8bit', iconv.encode('中文文本 😀 '.repeat(500), 'gb18030')],
    ['text/plain; charset=maccyrillic', '8bit', iconv.encode('Привет мир '.repeat(500), 'maccyrillic')],
    ['text/html; charset=utf-8', '8bit', Buffer.from(html)],
  ];
  for (const [type, cte, body] of cases) {
    const raw = Buffer.concat([
      Buffer.from(`Content-Type: ${type}\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n`),
      body,
    ]);
    const part = parseMessage(raw).root;
    const whole = partText(raw, part);
    for (const size of body.length > 150_000 ? [1000, 65536] : [1, 7, 1000, 65536]) {
      const dec = new PartTextDecoder(part);
      let got = '';
      for (let i = part.bodyStart; i < part.bodyEnd; i += size)
        got += dec.write(raw.subarray(i, Math.min(i + size, part.bodyEnd)));
      got += dec.end();
      // HTML comes out a tag's run at a time, joined by a space: compare the words.
      const norm = (s: string) => (type.startsWith('text/html') ? s.replace(/\s+/g, ' ') : s);
      assert.equal(norm(got), norm(whole), `${type} ${cte} in pieces of ${size}`);
    }
  }
});

test('TransferDecoder, chunk by chunk, gives what decoding the whole body gives', () => {
  // Random bodies over the octets that matter (escapes, soft breaks, padding, CR/LF, base64 junk and "="),
  // cut at random places, several cuts per body.
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = [
    '=',
    '=',
    '3',
    'D',
    'a',
    'F',
    ' ',
    '\t',
    '\r',
    '\n',
    '\r\n',
    'Q',
    'U',
    'J',
    '+',
    '/',
    '-',
    '!',
    '\xe9',
  ];
  for (let round = 0; round < 3000; round++) {
    let body = '';
    for (let i = rnd(60); i > 0; i--) body += alphabet[rnd(alphabet.length)];
    const raw = Buffer.from(body, 'latin1');
    for (const encoding of ['base64', 'quoted-printable', '7bit']) {
      const whole = decodeTransfer(raw, encoding);
      const d = new TransferDecoder(encoding);
      const out: Buffer[] = [];
      let at = 0;
      while (at < raw.length) {
        const next = Math.min(raw.length, at + 1 + rnd(8));
        out.push(d.push(raw.subarray(at, next)));
        at = next;
      }
      out.push(d.end());
      assert.deepEqual(Buffer.concat(out), whole, `${encoding} ${JSON.stringify(body)}`);
    }
  }
});
