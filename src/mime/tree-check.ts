// Test support: checks a parsed tree against the raw bytes with an independent, string-based reading of RFC 2046.
import assert from 'node:assert/strict';
import type { MimePart } from './types.ts';

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Body-part ranges found by splitting the body into lines and matching delimiter lines with a regex. */
function oracleSplit(body: string, offset: number, boundary: string): [number, number][] | null {
  const delimiter = new RegExp(`^--${escapeRegex(boundary)}(--)?[ \\t\\r]*$`);
  const ranges: [number, number][] = [];
  let start = -1;
  let pos = 0;
  while (pos <= body.length) {
    let nl = body.indexOf('\n', pos);
    if (nl < 0) nl = body.length;
    const line = body.slice(pos, nl).replace(/\r$/, '');
    const m = delimiter.exec(line);
    if (m !== null) {
      if (start >= 0) {
        const brk = body.slice(0, pos).match(/\r?\n$/);
        ranges.push([start + offset, Math.max(start, pos - (brk ? brk[0].length : 0)) + offset]);
      }
      if (m[1] !== undefined) return start < 0 ? null : ranges;
      start = Math.min(nl + 1, body.length);
    }
    pos = nl + 1;
  }
  if (start < 0) return null;
  ranges.push([start + offset, body.length + offset]);
  return ranges;
}

/**
 * Asserts the offset invariants of `part` and everything below it, and returns the bytes
 * reassembled from the tree's pieces so the caller can compare them with the original.
 */
export function checkTree(raw: Buffer, part: MimePart, where = 'root'): Buffer {
  const { headerStart, headerEnd, bodyStart, bodyEnd } = part;
  assert.ok(headerStart <= headerEnd, `${where}: headerStart <= headerEnd`);
  assert.equal(headerEnd, bodyStart, `${where}: headerEnd == bodyStart`);
  assert.ok(bodyStart <= bodyEnd && bodyEnd <= raw.length, `${where}: bodyStart <= bodyEnd <= size`);
  assert.equal(part.size, bodyEnd - bodyStart, `${where}: size`);
  // The header block ends at its first empty line, or runs to the end of the part.
  const header = raw.toString('latin1', headerStart, bodyEnd);
  const blank = /(^|\n)\r?\n/.exec(header);
  const expectedEnd = blank === null ? bodyEnd : headerStart + blank.index + blank[0].length;
  assert.equal(headerEnd, expectedEnd, `${where}: header block ends at the first empty line`);
  if (part.message !== null) {
    assert.equal(part.message.root.headerStart, bodyStart, `${where}: message starts at body`);
    assert.equal(part.message.root.bodyEnd, bodyEnd, `${where}: message ends at body end`);
    const inner = checkTree(raw, part.message.root, `${where}>message`);
    assert.ok(inner.equals(raw.subarray(bodyStart, bodyEnd)), `${where}: message reassembles`);
  }
  if (part.children.length === 0) return raw.subarray(headerStart, bodyEnd);

  const boundary = part.rawParams.find(([name]) => name.toLowerCase() === 'boundary')?.[1] ?? part.params.boundary;
  const b = escapeRegex(boundary);
  const oracle = oracleSplit(raw.toString('latin1', bodyStart, bodyEnd), bodyStart, boundary);
  // Without any strict delimiter line the parser accepts lines with trailing text (loose mode).
  const tail = oracle === null ? '[^\\n]*' : '[ \\t\\r]*';
  const pieces: Buffer[] = [raw.subarray(headerStart, bodyStart)];
  let cursor = bodyStart;
  const gap = (to: number, pattern: RegExp, what: string): void => {
    assert.ok(to >= cursor, `${where}: ${what} in order`);
    const bytes = raw.subarray(cursor, to);
    assert.match(bytes.toString('latin1'), pattern, `${where}: ${what} holds only delimiter text`);
    pieces.push(bytes);
  };
  part.children.forEach((child, i) => {
    const name = `${where}.${i + 1}`;
    if (i === 0) gap(child.headerStart, new RegExp(`(^|\\n)--${b}${tail}(\\n|$)$`), 'preamble');
    else gap(child.headerStart, new RegExp(`^(\\r?\\n)?--${b}${tail}(\\n|$)$`), 'delimiter');
    pieces.push(checkTree(raw, child, name));
    cursor = child.bodyEnd;
  });
  // Epilogue: empty when the close delimiter is missing, else the close delimiter and what follows.
  gap(bodyEnd, new RegExp(`^((\\r?\\n)?--${b}--[\\s\\S]*)?$`), 'epilogue');

  if (oracle !== null) {
    const got = part.children.map((c): [number, number] => [c.headerStart, c.bodyEnd]);
    assert.deepEqual(got, oracle.slice(0, got.length), `${where}: children match the line-based split`);
  }
  const whole = Buffer.concat(pieces);
  assert.ok(whole.equals(raw.subarray(headerStart, bodyEnd)), `${where}: pieces reassemble the part`);
  return whole;
}

/** The shape of a tree without offsets: types, line counts and children, for comparing LF and CRLF parses. */
export function shape(part: MimePart): unknown {
  return {
    type: `${part.type}/${part.subtype}`,
    lines: part.lines,
    children: part.children.map(shape),
    message: part.message === null ? null : shape(part.message.root),
  };
}
