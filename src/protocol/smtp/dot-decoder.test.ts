import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DotDecoder, dotStuff } from './dot-decoder.ts';

/** Feeds the input in pieces of `step` octets; returns the message, the octets after the end, and the flags. */
function run(input: string, step = 1_000_000, normalise = false) {
  const d = new DotDecoder({ normalise });
  const buf = Buffer.from(input, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += step) {
    const chunk = buf.subarray(i, i + step);
    const r = d.feed(chunk);
    out.push(...r.out);
    if (r.end >= 0)
      return {
        msg: Buffer.concat(out).toString('latin1'),
        rest: Buffer.concat([chunk.subarray(r.end), buf.subarray(i + step)]).toString('latin1'),
        bareLf: d.bareLf,
        bareCr: d.bareCr,
      };
  }
  return { msg: Buffer.concat(out).toString('latin1'), rest: null, bareLf: d.bareLf, bareCr: d.bareCr };
}

test('CRLF . CRLF ends the data; the rest belongs to the next command; dots are unstuffed', () => {
  for (const step of [1, 2, 3, 7, 1000]) {
    const r = run('Subject: x\r\n\r\n..hidden\r\n.\r\nQUIT\r\n', step);
    assert.equal(r.msg, 'Subject: x\r\n\r\n.hidden\r\n', `step ${step}`);
    assert.equal(r.rest, 'QUIT\r\n');
    assert.equal(r.bareLf || r.bareCr, false);
  }
});

test('an empty message: the terminator right after DATA', () => {
  assert.deepEqual(run('.\r\nRSET\r\n'), { msg: '', rest: 'RSET\r\n', bareLf: false, bareCr: false });
});

test('smuggling forms are never the end of data and are flagged', () => {
  const cases: [string, 'lf' | 'cr'][] = [
    ['a\n.\nMAIL FROM:<x@y>\r\n', 'lf'],
    ['a\r\n.\nMAIL FROM:<x@y>\r\n', 'lf'],
    ['a\n.\r\nMAIL FROM:<x@y>\r\n', 'lf'],
    ['a\r.\rMAIL FROM:<x@y>\r\n', 'cr'],
    ['a\r\n.\rMAIL FROM:<x@y>\r\n', 'cr'],
    ['a\r.\r\nMAIL FROM:<x@y>\r\n', 'cr'],
  ];
  for (const [input, kind] of cases)
    for (const step of [1, 3, 100]) {
      const r = run(input, step);
      assert.equal(r.rest, null, JSON.stringify(input));
      assert.equal(kind === 'lf' ? r.bareLf : r.bareCr, true, JSON.stringify(input));
      // The real end still works after the smuggled part.
      const r2 = run(`${input}.\r\n`, step);
      assert.equal(r2.rest, '', JSON.stringify(input));
    }
});

test('normalise mode turns bare line ends into CRLF', () => {
  const r = run('a\nb\rc\r\n.\r\n', 1000, true);
  assert.equal(r.msg, 'a\r\nb\r\nc\r\n');
  assert.ok(r.bareLf && r.bareCr);
});

test('8-bit and binary-looking octets pass through unchanged', () => {
  const body = 'Subject: caf\xe9\r\n\r\n\x00\x01\xff\r\n';
  assert.equal(run(`${body}.\r\n`, 5).msg, body);
});

test('dotStuff round-trips through the decoder', () => {
  for (const m of ['', 'x', '.\r\n', '.a\r\n..b\r\nc', 'a\r\n.\r\nb\r\n']) {
    const r = run(dotStuff(Buffer.from(m, 'latin1')).toString('latin1'), 2);
    assert.equal(r.msg, m === '' || m.endsWith('\r\n') ? m : `${m}\r\n`);
    assert.equal(r.rest, '');
  }
});

test('the longest line is measured across chunks, unstuffed, without its line end', () => {
  const input = `Subject: x\r\n\r\n${'a'.repeat(998)}\r\n..${'b'.repeat(997)}\r\nshort\r\n.\r\n`;
  for (const step of [1, 3, 7, 1000, 100_000]) {
    const d = new DotDecoder();
    const buf = Buffer.from(input, 'latin1');
    for (let i = 0; i < buf.length && d.feed(buf.subarray(i, i + step)).end < 0; i += step);
    assert.equal(d.longestLine, 998, `step ${step}`);
  }
  const d = new DotDecoder();
  d.feed(Buffer.from(`${'c'.repeat(500)}\r\n${'d'.repeat(999)}\r\n.\r\n`, 'latin1'));
  assert.equal(d.longestLine, 999);
});
