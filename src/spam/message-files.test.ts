// Reading training messages: mbox splitting and unquoting (also read in chunks that cut lines and "From "
// anywhere), Maildir cur/new, folders of message files; what cannot be read, or is over the size limit,
// comes out as skipped.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MboxSplitter, messagesInFile } from './mbox.ts';
import { firstMessage, messageFiles, readFileMessages, readMessages } from './message-files.ts';

const MB = 1 << 20;
const all = async <T>(it: AsyncIterable<T>) => {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
};
const text = (items: { file: string; raw: Buffer } | { file: string; skipped: string }) =>
  'raw' in items ? items.raw.toString('latin1') : `skipped: ${items.skipped}`;

test('mbox: split at From lines after blank lines, >From unquoted, CRLF', () => {
  const mbox =
    'From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\nhello\n>From here\n\nFrom c@d Tue Jan 2 00:00:00 2024\nSubject: two\n\nbye\n';
  const msgs = messagesInFile(Buffer.from(mbox)).map((b) => b.toString());
  assert.deepEqual(msgs, ['Subject: one\r\n\r\nhello\r\nFrom here\r\n', 'Subject: two\r\n\r\nbye\r\n']);
  assert.deepEqual(
    messagesInFile(Buffer.from('Subject: x\n\nbody\n')).map((b) => b.toString()),
    ['Subject: x\r\n\r\nbody\r\n'],
  );
});

test('Maildir and plain folders', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-msgfiles-'));
  try {
    mkdirSync(join(dir, 'md', 'cur'), { recursive: true });
    mkdirSync(join(dir, 'md', 'new'));
    mkdirSync(join(dir, 'md', 'tmp'));
    writeFileSync(join(dir, 'md', 'cur', '1.host:2,S'), 'Subject: a\n\nA\n');
    writeFileSync(join(dir, 'md', 'new', '2.host'), 'Subject: b\n\nB\n');
    writeFileSync(join(dir, 'md', 'tmp', '3.host'), 'Subject: c\n\nC\n');
    assert.equal(messageFiles(join(dir, 'md')).length, 2);
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'plain', 'x.eml'), 'Subject: x\n\nX\n');
    writeFileSync(join(dir, 'plain', 'y.txt'), 'From a@b Mon Jan 1 00:00:00 2024\nSubject: y\n\nY\n');
    writeFileSync(join(dir, 'plain', 'y.json'), '{}');
    const got = (await all(readMessages(join(dir, 'plain'), { maxSize: MB }))).map(text);
    assert.deepEqual(got, ['Subject: x\r\n\r\nX\r\n', 'Subject: y\r\n\r\nY\r\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const MBOX =
  'From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\nhello\n>From here\n>>From there\nFrom the middle\n\n' +
  'From c@d Tue Jan 2 00:00:00 2024\r\nSubject: two\r\n\r\nbye\r\n\r\n' +
  'From e@f Wed Jan 3 00:00:00 2024\nSubject: three\n\nlast line without LF';

test('mbox read in chunks of any size: lines and "From " lines cut across chunks give the same messages', async () => {
  const whole = messagesInFile(Buffer.from(MBOX, 'latin1')).map((b) => b.toString('latin1'));
  assert.deepEqual(whole, [
    'Subject: one\r\n\r\nhello\r\nFrom here\r\n>From there\r\nFrom the middle\r\n',
    'Subject: two\r\n\r\nbye\r\n',
    'Subject: three\r\n\r\nlast line without LF\r\n',
  ]);
  const dir = mkdtempSync(join(tmpdir(), 'petrel-msgfiles-'));
  try {
    const file = join(dir, 'box.mbox');
    writeFileSync(file, MBOX, 'latin1');
    for (let chunkSize = 1; chunkSize <= 40; chunkSize++) {
      const got = (await all(readFileMessages(file, { maxSize: MB, chunkSize }))).map(text);
      assert.deepEqual(got, whole, `chunks of ${chunkSize}`);
    }
    // Gzipped, it reads the same, also when the gzip header is cut across reads.
    writeFileSync(`${file}.gz`, gzipSync(Buffer.from(MBOX, 'latin1')));
    for (const chunkSize of [1, 2, 7, 100, 4096])
      assert.deepEqual((await all(readFileMessages(`${file}.gz`, { maxSize: MB, chunkSize }))).map(text), whole);
    writeFileSync(join(dir, 'empty.mbox'), '');
    assert.deepEqual((await all(readFileMessages(join(dir, 'empty.mbox'), { maxSize: MB }))).map(text), [
      'skipped: empty',
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mbox: a message over the limit is skipped and the next one still read, also after a huge line', () => {
  const big = `From x@y Mon Jan 1 00:00:00 2024\nSubject: big\n\n${'0123456789\n'.repeat(20)}\n`;
  const long = `From x@y Mon Jan 1 00:00:00 2024\nSubject: long\n\n${'z'.repeat(500)}\nmore\n\n`;
  const small = (n: number) => `From s@t Mon Jan 1 00:00:00 2024\nSubject: small ${n}\n\nok\n\n`;
  const data = Buffer.from(small(1) + big + small(2) + long + small(3));
  for (const chunkSize of [3, 7, 64, 4096]) {
    const split = new MboxSplitter(100);
    const out = [];
    for (let i = 0; i < data.length; i += chunkSize) out.push(...split.push(data.subarray(i, i + chunkSize)));
    out.push(...split.end());
    assert.deepEqual(
      out.map((m) => ('raw' in m ? m.raw.toString() : 'too big')),
      [
        'Subject: small 1\r\n\r\nok\r\n',
        'too big',
        'Subject: small 2\r\n\r\nok\r\n',
        'too big',
        'Subject: small 3\r\n\r\nok\r\n',
      ],
      `chunks of ${chunkSize}`,
    );
  }
});

test('what is not a readable regular file, or is over the limit, is skipped with the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-msgfiles-'));
  try {
    mkdirSync(join(dir, 'md', 'cur', 'nested'), { recursive: true });
    mkdirSync(join(dir, 'md', 'new'));
    writeFileSync(join(dir, 'md', 'cur', '1:2,S'), 'Subject: a\n\nA\n');
    writeFileSync(join(dir, 'md', 'new', '2'), 'Subject: b\n\nB\n');
    assert.deepEqual((await all(readMessages(join(dir, 'md'), { maxSize: MB }))).map(text), [
      'Subject: a\r\n\r\nA\r\n',
      'skipped: not a regular file',
      'Subject: b\r\n\r\nB\r\n',
    ]);
    mkdirSync(join(dir, 'plain'));
    writeFileSync(join(dir, 'plain', 'big.eml'), `Subject: big\n\n${'x'.repeat(200)}\n`);
    symlinkSync(join(dir, 'nowhere.eml'), join(dir, 'plain', 'gone.eml'));
    writeFileSync(join(dir, 'plain', 'x.eml'), 'Subject: x\n\nX\n');
    assert.deepEqual((await all(readMessages(join(dir, 'plain'), { maxSize: 100, chunkSize: 16 }))).map(text), [
      'skipped: larger than 100 octets',
      'skipped: no such file (or a dangling link)',
      'Subject: x\r\n\r\nX\r\n',
    ]);
    assert.equal(text(await firstMessage(join(dir, 'plain'), { maxSize: MB })), 'skipped: not a regular file');
    assert.equal(
      text(await firstMessage(join(dir, 'missing.eml'), { maxSize: MB })),
      'skipped: no such file (or a dangling link)',
    );
    assert.throws(() => messageFiles(join(dir, 'missing')), /ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
