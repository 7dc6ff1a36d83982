// mboxcl2 Content-Length: an honest length keeps the unquoted "From " lines it covers in the body; a wrong
// one (too short, too long, past the end, or over the size limit) falls back to splitting at "From " lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MboxSplitter } from './mbox.ts';

const split = (data: string, chunkSize: number, maxSize = 1 << 20) => {
  const s = new MboxSplitter(maxSize);
  const buf = Buffer.from(data, 'latin1');
  const out = [];
  for (let i = 0; i < buf.length; i += chunkSize) out.push(...s.push(buf.subarray(i, i + chunkSize)));
  out.push(...s.end());
  return out.map((m) => ('raw' in m ? m.raw.toString('latin1').replace(/\r\n/g, '\n') : 'too big'));
};

const env = (who: string) => `From ${who}@example.org Mon Jan  5 10:00:00 2026\n`;
const BODY = 'Hello\n\nFrom the desk of the editor\nmore\n';
const cl = (n: number, body = BODY) => `Subject: cl\nContent-Length: ${n}\n\n${body}`;

test('mboxcl2: a right Content-Length keeps its "From " lines in the body, in chunks of any size', () => {
  const len = Buffer.byteLength(BODY);
  // A blank separator line after the body, then the next message; the next one at once; the blank line
  // counted in the length.
  const inputs: [string, number][] = [
    [`${env('a')}${cl(len)}\n${env('b')}Subject: b\n\nB\n`, len],
    [`${env('a')}${cl(len)}${env('b')}Subject: b\n\nB\n`, len],
    [`${env('a')}${cl(len + 1)}\n${env('b')}Subject: b\n\nB\n`, len + 1],
  ];
  for (const [i, [input, n]] of inputs.entries())
    for (const chunk of [1, 3, 7, 64, 4096])
      assert.deepEqual(split(input, chunk), [cl(n), 'Subject: b\n\nB\n'], `input ${i}, chunks of ${chunk}`);
  // CRLF files count their CRs.
  const crlfBody = BODY.replace(/\n/g, '\r\n');
  const crlfInput = `${env('a')}${cl(crlfBody.length, crlfBody)}\r\n${env('b')}Subject: b\r\n\r\nB\r\n`.replace(
    /([^\r])\n/g,
    '$1\r\n',
  );
  assert.deepEqual(split(crlfInput, 5), [cl(crlfBody.length), 'Subject: b\n\nB\n']);
  // The last message of the file, its length to the end.
  assert.deepEqual(split(`${env('a')}${cl(len)}`, 4), [cl(len)]);
});

test('mboxcl2: a wrong Content-Length is not trusted: the message is split at its "From " lines', () => {
  const len = Buffer.byteLength(BODY);
  const parts = ['Subject: cl\nContent-Length: N\n\nHello', 'more', 'Subject: b\n\nB\n'];
  const expect = (n: number) => [parts[0].replace('N', String(n)), parts[1], parts[2]];
  for (const n of [len - 3, len + 40, 5])
    for (const chunk of [1, 6, 4096])
      assert.deepEqual(
        split(`${env('a')}${cl(n)}\n${env('b')}Subject: b\n\nB\n`, chunk).map((m) => m.replace(/\n$/, '')),
        expect(n).map((m) => m.replace(/\n$/, '')),
        `Content-Length ${n}, chunks of ${chunk}`,
      );
  // Past the end of the file.
  assert.deepEqual(
    split(`${env('a')}${cl(len + 500)}`, 3),
    ['Subject: cl\nContent-Length: 537\n\nHello\n', 'more\n'].map((m) => m.replace('537', String(len + 500))),
  );
  // A body the size limit would not hold is not held to check its length: split as any mbox.
  assert.deepEqual(split(`${env('a')}${cl(len)}\n${env('b')}Subject: b\n\nB\n`, 8, 40), [
    'Subject: cl\nContent-Length: 37\n\nHello\n'.replace('37', String(len)),
    'more\n',
    'Subject: b\n\nB\n',
  ]);
});
