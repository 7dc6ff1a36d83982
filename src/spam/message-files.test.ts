// Reading training messages: mbox splitting and unquoting, Maildir cur/new, folders of message files.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { messageFiles, messagesInFile, readMessages } from './message-files.ts';

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

test('Maildir and plain folders', () => {
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
    const got = [...readMessages(join(dir, 'plain'))].map((m) => m.raw.toString());
    assert.deepEqual(got, ['Subject: x\r\n\r\nX\r\n', 'Subject: y\r\n\r\nY\r\n']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
