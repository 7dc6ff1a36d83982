// `petrel spam train` on mbox files as exports give them: read in chunks (messages across the 1 MiB read
// boundary), mboxrd quoting, CRLF, no newline at the end, an unquoted body "From " line an honest
// Content-Length covers (mboxcl2), gzip, and files that give nothing to learn.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const run = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-train-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The CLI in a directory of its own (its ./data), with both message size limits set to `limit`. */
async function train(cwd: string, args: string[], limit = 200_000) {
  const env = {
    ...process.env,
    PETREL_SMTP_MAX_MESSAGE_SIZE: String(limit),
    PETREL_IMAP_MAX_MESSAGE_SIZE: String(limit),
  };
  mkdirSync(cwd, { recursive: true });
  try {
    const r = await run(process.execPath, [BIN, 'spam', 'train', ...args], { cwd, env });
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string };
    return { code: x.code, out: x.stdout, err: x.stderr };
  }
}

const envelope = (n: number) => `From sender${n}@example.org Mon Jan  5 10:00:00 2026\n`;
/** About 40 KB of text that differs from message to message. */
const body = (n: number) =>
  Array.from({ length: 900 }, (_, i) => `line ${i} of message ${n}: word${(n * 31 + i) % 977} more text`).join('\n');
const headers = (n: number, extra = '') =>
  `From: sender${n}@example.org\nTo: r@example.net\nSubject: note ${n}\nMessage-ID: <n${n}@example.org>\n${extra}\n`;

/** N messages as an mbox: the edge cases among plain ones; `big` is over the 200,000-octet limit. */
function mbox(): { data: string; count: number } {
  const parts: string[] = [];
  let n = 0;
  const add = (msg: string) => parts.push(envelope(++n) + msg);
  for (let i = 0; i < 30; i++) add(`${headers(n + 1)}${body(n + 1)}\n\n`);
  // A body line that began "From " in the original, quoted by the writer (mboxrd and mboxo alike).
  add(`${headers(n + 1)}Before\n\n>From the archive: not a new message\n${body(n + 1)}\n\n`);
  // CRLF line ends throughout a message, its separating blank line too.
  add(`${headers(n + 1)}${body(n + 1)}\n\n`.replace(/\n/g, '\r\n'));
  // mboxcl2: the body's "From " line is not quoted; Content-Length says where the body ends.
  const text = `Intro\n\nFrom here on, an unquoted line\n${body(n + 1)}\n`;
  add(`${headers(n + 1, `Content-Length: ${Buffer.byteLength(text)}\n`)}${text}\n`);
  const count = n;
  // Over the limit: skipped with a warning, the next one still read.
  parts.push(`${envelope(900)}${headers(900)}${body(900).repeat(8)}\n\n`);
  // The last message ends without a newline.
  add(`${headers(n + 1)}${body(n + 1)}`);
  return { data: parts.join(''), count: count + 1 };
}

test('spam train: every message of a large mbox is learned once, plain or gzipped; the one over the limit is skipped', async () => {
  const { data, count } = mbox();
  assert.ok(data.length > 1.2 * 2 ** 20, 'messages lie across the 1 MiB read boundary');
  writeFileSync(join(dir, 'box.mbox'), data, 'latin1');
  writeFileSync(join(dir, 'box.mbox.gz'), gzipSync(Buffer.from(data, 'latin1')));
  const cwd = join(dir, 'one');
  const spam = await train(cwd, ['--spam', join(dir, 'box.mbox')]);
  assert.equal(spam.code, 0, spam.err);
  assert.match(spam.out, new RegExp(`^spam: ${count} learned, 0 moved from ham, 0 already known, 1 skipped$`, 'm'));
  assert.match(spam.out, new RegExp(`^global table: ${count} spam, 0 ham$`, 'm'));
  assert.match(spam.err, /warning: .*box\.mbox: message 34 is larger than 200000 octets; skipped/);
  assert.doesNotMatch(spam.err, /unexpected error|\n\s+at /);
  // The same messages from the gzipped copy, as ham: each found again by its digest, so read the same.
  const ham = await train(cwd, ['--ham', join(dir, 'box.mbox.gz')]);
  assert.equal(ham.code, 0, ham.err);
  assert.match(ham.out, new RegExp(`^ham: 0 learned, ${count} moved from spam, 0 already known, 1 skipped$`, 'm'));
  assert.match(ham.out, new RegExp(`^global table: 0 spam, ${count} ham$`, 'm'));
});

test('spam train: files that give nothing to learn are named; the exit status is 1 only when nothing was learned', async () => {
  const files = join(dir, 'nothing');
  mkdirSync(files);
  writeFileSync(join(files, 'empty.mbox'), '');
  writeFileSync(join(files, 'broken.mbox.gz'), Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
  symlinkSync('loop.eml', join(files, 'loop.eml'));
  symlinkSync('..', join(files, 'up'));
  const cwd = join(dir, 'two');
  const none = await train(cwd, ['--spam', files]);
  assert.equal(none.code, 1, none.out + none.err);
  assert.match(none.err, /warning: .*empty\.mbox: empty; skipped/);
  assert.match(none.err, /warning: .*broken\.mbox\.gz: not a readable gzip file .*; skipped/);
  assert.match(none.err, /warning: .*loop\.eml: a loop of symbolic links; skipped/);
  assert.match(none.err, /warning: .*up: not a regular file; skipped/);
  assert.match(none.err, /nothing learned/);
  assert.match(none.out, /^spam: 0 learned, 0 moved from ham, 0 already known, 4 skipped$/m);
  assert.doesNotMatch(none.err, /unexpected error|\n\s+at /);
  // One readable message beside them: learned, and the command succeeds.
  writeFileSync(join(files, 'ok.eml'), `${headers(1000)}${body(1000)}\n`);
  const some = await train(cwd, ['--spam', files]);
  assert.equal(some.code, 0, some.err);
  assert.match(some.out, /^spam: 1 learned, 0 moved from ham, 0 already known, 4 skipped$/m);
  // Run again: already known is not a failure.
  const again = await train(cwd, ['--spam', join(files, 'ok.eml')]);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /^spam: 0 learned, 0 moved from ham, 1 already known, 0 skipped$/m);
});
