// Hostile and malformed input: parseMessage must return a bounded best-effort tree, fast, and never throw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from './parse.ts';
import { checkTree } from './tree-check.ts';
import type { MimePart } from './types.ts';

/** Bounds and order of every part, which must hold even when a limit cut the tree short. */
function assertBounded(part: MimePart, lo: number, hi: number): number {
  assert.ok(lo <= part.headerStart && part.headerStart <= part.headerEnd, 'header in range');
  assert.ok(part.headerEnd === part.bodyStart && part.bodyStart <= part.bodyEnd && part.bodyEnd <= hi, 'body in range');
  let count = 1;
  let cursor = part.bodyStart;
  for (const child of part.children) {
    count += assertBounded(child, cursor, part.bodyEnd);
    cursor = child.bodyEnd;
  }
  if (part.message !== null) count += assertBounded(part.message.root, part.bodyStart, part.bodyEnd);
  return count;
}

function timed<T>(limitMs: number, fn: () => T): T {
  const t0 = performance.now();
  const result = fn();
  const ms = performance.now() - t0;
  assert.ok(ms < limitMs, `took ${ms.toFixed(0)} ms`);
  return result;
}

function depth(part: MimePart): number {
  const inner = part.message ? [part.message.root] : part.children;
  return 1 + Math.max(0, ...inner.map(depth));
}

test('10,000-deep multipart nesting stops at the depth limit', () => {
  let head = '';
  let tail = '';
  for (let i = 0; i < 10_000; i++) {
    head += `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`;
    tail = `\r\n--b${i}--\r\n${tail}`;
  }
  const raw = Buffer.from(`${head}\r\nleaf${tail}`);
  const m = timed(2000, () => parseMessage(raw));
  assert.equal(depth(m.root), 33);
  assert.ok(m.problems.some((p) => p.startsWith('nesting deeper')));
  assert.ok(checkTree(raw, m.root).equals(raw));
});

test('10,000-deep message/rfc822 nesting stops at the depth limit', () => {
  const raw = Buffer.from(`${'Content-Type: message/rfc822\r\n\r\n'.repeat(10_000)}Subject: deep\r\n\r\nbody`);
  const m = timed(2000, () => parseMessage(raw));
  assert.equal(depth(m.root), 33);
  assert.ok(checkTree(raw, m.root).equals(raw));
  const custom = parseMessage(raw, { maxDepth: 3 });
  assert.equal(depth(custom.root), 4);
});

test('100,000 header lines: fields capped, body still found', () => {
  const raw = Buffer.from(`${'X-Header: value\r\n'.repeat(100_000)}Subject: late\r\n\r\nbody\r\n`);
  const m = timed(1000, () => parseMessage(raw));
  assert.equal(m.headerFields.length, 1000);
  assert.equal(m.root.bodyStart, raw.length - 6);
  assert.ok(m.problems.some((p) => p.startsWith('too many header fields')));
  const folded = Buffer.from(`Subject: x\r\n${' more\r\n'.repeat(100_000)}\r\nbody`);
  const f = timed(1000, () => parseMessage(folded));
  assert.equal(f.root.bodyStart, folded.length - 4);
});

test('a 2 MB header line is truncated, not kept whole', () => {
  const raw = Buffer.from(`Subject: ${'a'.repeat(2 * 1024 * 1024)}\r\nFrom: x@y.test\r\n\r\nbody`);
  const m = timed(1000, () => parseMessage(raw));
  assert.equal(m.envelope.subject?.length, 64 * 1024);
  assert.equal(m.envelope.from?.[0].host, 'y.test');
  const noBreak = Buffer.from(`Subject: ${'a:b '.repeat(500_000)}`);
  timed(1000, () => parseMessage(noBreak));
  const nameless = Buffer.from(`${'x'.repeat(2 * 1024 * 1024)}\r\n\r\nbody`);
  assert.equal(timed(1000, () => parseMessage(nameless)).root.bodyStart, nameless.length - 4);
});

test('more parts than the limit: best-effort tree with the first 2,000, the last holding the rest', () => {
  const raw = Buffer.from(
    `Content-Type: multipart/mixed; boundary=p\r\n\r\n${'--p\r\n\r\nx\r\n'.repeat(5000)}--p--\r\n`,
  );
  const m = timed(2000, () => parseMessage(raw));
  assert.equal(assertBounded(m.root, 0, raw.length), 2000);
  assert.ok(m.problems.some((p) => p.startsWith('more than 2000 parts')));
  // As Dovecot does at its limit: the rest of the multipart is the last part's body, not dropped.
  const last = m.root.children.at(-1)!;
  assert.equal(last.bodyEnd, raw.length);
  assert.equal(last.size, raw.length - last.bodyStart);
  assert.equal(last.lines, 2 + (5000 - 1999) * 3);
  assert.ok(m.text.endsWith('x\r\n--p\r\n\r\nx\r\n--p--\r\n'));
  // Nested: each enclosing multipart's last part runs to its end, down to the innermost part.
  const nested = Buffer.from(
    `Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n${'--i\r\n\r\ny\r\n'.repeat(10)}--i--\r\n--o\r\n\r\nlast words\r\n--o--\r\n`,
  );
  const n = parseMessage(nested, { maxParts: 5 });
  assert.equal(assertBounded(n.root, 0, nested.length), 5);
  assert.equal(n.root.children[0].children.at(-1)!.bodyEnd, nested.length);
  assert.ok(n.text.includes('last words'));
});

test('unterminated multipart and boundary never appearing, at size', () => {
  const big = 'line of text\r\n'.repeat(100_000);
  const open = Buffer.from(`Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n\r\n${big}`);
  const m = timed(1000, () => parseMessage(open));
  assert.equal(m.root.children.length, 1);
  assert.equal(m.root.children[0].bodyEnd, open.length);
  assert.ok(checkTree(open, m.root).equals(open));
  const never = Buffer.from(`Content-Type: multipart/mixed; boundary=z\r\n\r\n${big}${'--y\r\n-z\r\n'.repeat(25_000)}`);
  const n = timed(1000, () => parseMessage(never));
  assert.equal(n.root.children.length, 0);
  assert.ok(checkTree(never, n.root).equals(never));
});

test('NUL bytes and 8-bit garbage', () => {
  const nul = Buffer.from('Subject: a\u0000b\r\nContent-Type: text/plain\u0000\r\n\r\nbo\u0000dy\r\n', 'latin1');
  const m = parseMessage(nul);
  assert.equal(m.envelope.subject, 'a\u0000b');
  assert.equal(m.root.size, 7);
  const high = Buffer.from('Subject: \xff\xfe\x80\r\nFrom: \xe9\xe9 <\xff@\xfe>\r\n\r\n\xff\xff\r\n', 'latin1');
  const h = parseMessage(high);
  assert.equal(h.root.lines, 1);
  assert.equal(h.envelope.from?.length, 1);
});

test('random bytes and truncations never throw and keep offsets in bounds', () => {
  let seed = 42;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed;
  };
  const alphabet = Buffer.from(
    '\r\n\r\n--b--\t :;="=?utf-8?B?QQ==?=<>@,()\\Content-Type: multipart/mixed; boundary=b\r\n',
  );
  timed(10_000, () => {
    for (let n = 0; n < 300; n++) {
      const raw = Buffer.alloc(random() % 4000);
      for (let i = 0; i < raw.length; i++) raw[i] = n % 2 ? random() & 0xff : alphabet[random() % alphabet.length];
      const m = parseMessage(raw);
      assertBounded(m.root, 0, raw.length);
      assert.ok(!m.problems.some((p) => p.startsWith('internal error')), m.problems.join());
    }
  });
  const msg = Buffer.from(
    'From: a@b\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\npre\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n' +
      'Subject: in\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n--i\r\n\r\nx\r\n--i--\r\n' +
      '--o\r\nContent-Type: text/plain\r\n\r\ny\r\n--o--\r\nepi\r\n',
  );
  for (let cut = 0; cut <= msg.length; cut++) {
    const raw = msg.subarray(0, cut);
    const m = parseMessage(raw);
    assert.ok(checkTree(raw, m.root).equals(raw), `cut at ${cut}`);
  }
});
