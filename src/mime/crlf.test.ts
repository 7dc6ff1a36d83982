import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CrlfCounter, CrlfLines, crlfSize, toCrlfLines } from './crlf.ts';

test('crlfSize counts bare LFs twice and closes an unterminated last line', () => {
  const cases: [string, number][] = [
    ['', 0],
    ['a\r\n', 3],
    ['a\n', 3],
    ['a', 3],
    ['a\r', 4], // a lone CR is not a line end: the line still needs its CRLF
    ['\n\n', 4],
    ['a\r\nb\nc', 9],
    ['x\r\r\n', 4],
  ];
  for (const [s, n] of cases) assert.equal(crlfSize(s), n, JSON.stringify(s));
});

test('CrlfCounter gives the same figure whatever the chunking (CR at a chunk end)', () => {
  const s = Buffer.from('H: v\r\n\r\nline\nline2\r\n.dot\n\r\nend\r');
  const whole = crlfSize(s);
  for (let cut = 0; cut <= s.length; cut++) {
    const c = new CrlfCounter();
    c.push(s.subarray(0, cut));
    c.push(s.subarray(cut));
    assert.equal(c.size, whole, `cut at ${cut}`);
  }
});

test('CrlfLines makes bare LFs CRLF, leaves a last line open, and does not care about chunking', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['a', 'a'],
    ['a\n', 'a\r\n'],
    ['\n\n', '\r\n\r\n'],
    ['a\r\nb\nc', 'a\r\nb\r\nc'],
    ['x\r\r\n\n', 'x\r\r\n\r\n'],
  ];
  for (const [s, want] of cases) assert.equal(toCrlfLines(Buffer.from(s)).toString(), want, JSON.stringify(s));
  const s = Buffer.from('line\nline2\r\n\r\n\nend\r');
  const whole = toCrlfLines(s).toString();
  for (let cut = 0; cut <= s.length; cut++) {
    const c = new CrlfLines();
    assert.equal(c.push(s.subarray(0, cut)).toString() + c.push(s.subarray(cut)).toString(), whole, `cut at ${cut}`);
  }
});
