import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crlfSize } from '../../mime/crlf.ts';
import { DotStuffer, LineBudget, lineStartDots, TERMINATOR } from './dot-stuff.ts';

/** Runs segments through a stuffer, cutting each into chunks at the given sizes. */
function stuff(segments: Buffer[], chunk = Number.POSITIVE_INFINITY): Buffer {
  const s = new DotStuffer();
  const out: Buffer[] = [];
  for (const seg of segments) {
    for (let i = 0; i < seg.length; i += chunk) out.push(s.push(seg.subarray(i, i + chunk)));
    out.push(s.endSegment());
  }
  return Buffer.concat(out);
}

/** The same through copyInto, in one output buffer. */
function copyStuff(segments: Buffer[]): Buffer {
  const s = new DotStuffer();
  const out = Buffer.alloc(segments.reduce((n, b) => n + 2 * b.length + 2, 0));
  let pos = 0;
  for (const seg of segments) {
    pos = s.copyInto(seg, out, pos);
    pos += s.endSegment().copy(out, pos);
  }
  return out.subarray(0, pos);
}

/** What a client recovers (RFC 1939 section 3): each line with a leading "." loses it. */
function unstuff(wire: Buffer): Buffer {
  return Buffer.from(wire.toString('latin1').replace(/(^|\r\n)\./g, '$1'), 'latin1');
}

test('RFC 1939 byte-stuffing, CRLF line ends and a closed last line', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['a\r\n', 'a\r\n'],
    ['.\r\n', '..\r\n'],
    ['a\r\n.\r\nb\r\n', 'a\r\n..\r\nb\r\n'],
    ['.a\n..b\nc', '..a\r\n...b\r\nc\r\n'],
    ['x\n\n.', 'x\r\n\r\n..\r\n'],
    ['a\rb\n', 'a\rb\r\n'],
    ['tail\r', 'tail\r\r\n'],
  ];
  for (const [input, want] of cases)
    for (const chunk of [1, 2, 3, 1000])
      assert.equal(stuff([Buffer.from(input)], chunk).toString('latin1'), want, `${JSON.stringify(input)} / ${chunk}`);
  assert.equal(TERMINATOR.toString(), '.\r\n');
});

test('unchanged chunks are passed through without copying', () => {
  const b = Buffer.from('Subject: x\r\n\r\nbody\r\n');
  assert.equal(new DotStuffer().push(b), b);
});

test('prefix and body are lines of their own: sizes match crlfSize per segment, whatever the chunking', () => {
  const pieces = ['a', 'b', '.', '\r', '\n', '\r\n', '\n.', '\xe9', '\0'];
  let seed = 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  for (let round = 0; round < 400; round++) {
    const seg = () => {
      let s = '';
      const n = rnd() % 20;
      for (let i = 0; i < n; i++) s += pieces[rnd() % pieces.length];
      return Buffer.from(s, 'latin1');
    };
    const prefix = seg();
    const body = seg();
    const expected = crlfSize(prefix) + crlfSize(body);
    for (const chunk of [1, 2, 5, 1000]) {
      const wire = stuff([prefix, body], chunk);
      assert.equal(
        wire.length,
        expected + lineStartDots(prefix) + lineStartDots(body),
        'the stuffed size is the CRLF size plus one per line-start dot',
      );
      const copied = copyStuff([prefix, body]);
      assert.ok(copied.equals(stuff([prefix, body])), 'copyInto and pushInto agree');
      const plain = unstuff(wire);
      assert.equal(plain.length, expected, `round ${round} chunk ${chunk}`);
      const text = wire.toString('latin1');
      assert.ok(!/(^|[^\r])\n/.test(text), 'no bare LF on the wire');
      assert.ok(text === '' || text.endsWith('\r\n'), 'ends with CRLF');
      assert.ok(!/(^|\r\n)\.\r\n/.test(text), 'no line is a lone "." before the terminator');
    }
  }
});

test('LineBudget keeps n lines, across chunks', () => {
  const b = new LineBudget(2);
  assert.equal(b.take(Buffer.from('one\ntw')).toString(), 'one\ntw');
  assert.equal(b.take(Buffer.from('o\nthree\n')).toString(), 'o\n');
  assert.ok(b.done);
  assert.equal(b.take(Buffer.from('four\n')).length, 0);
  assert.ok(new LineBudget(0).done);
});
