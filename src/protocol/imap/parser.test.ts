// Table tests of the command grammar, from RFC 9051 examples and hostile input.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { literalAtEnd, parseCommand, type RawCommand, tagOf } from './parser.ts';
import { type CommandSource, MAX_LITERALS, type ReaderLimits, readCommand } from './reader.ts';
import type { ImapValue } from './types.ts';

/** Splits wire text at literal markers, the way the reader does. */
function raw(wire: string): RawCommand {
  const out: RawCommand = { lines: [], literals: [] };
  let rest = Buffer.from(wire, 'utf8');
  for (;;) {
    const lf = rest.indexOf('\r\n');
    const line = lf < 0 ? rest : rest.subarray(0, lf);
    out.lines.push(line);
    const spec = literalAtEnd(line);
    if (!spec || lf < 0) break;
    const data = rest.subarray(lf + 2, lf + 2 + spec.size);
    out.literals.push({ spec, data });
    rest = rest.subarray(lf + 2 + spec.size);
  }
  return out;
}

/** A compact text form of parsed arguments for table comparison. */
function show(v: ImapValue): string {
  if (v.type === 'atom') return v.value;
  if (v.type === 'list') return `(${v.items.map(show).join(' ')})`;
  return `${v.literal ? 'L' : 'Q'}"${v.value.toString('utf8')}"`;
}

const ok: [string, string, string][] = [
  ['a001 LOGIN SMITH SESAME', 'LOGIN', 'SMITH SESAME'],
  ['A142 SELECT INBOX', 'SELECT', 'INBOX'],
  ['A003 APPEND saved-messages (\\Seen) {5}\r\nhello', 'APPEND', 'saved-messages (\\Seen) L"hello"'],
  ['a FETCH 12 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)', 'FETCH', '12 (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE)'],
  ['a fetch 2:4 (BODY[HEADER.FIELDS (DATE FROM)]<0.100>)', 'FETCH', '2:4 (BODY[HEADER.FIELDS (DATE FROM)]<0.100>)'],
  ['A202 LIST ~/Mail/ %', 'LIST', '~/Mail/ %'],
  ['A101 LIST "" ""', 'LIST', 'Q"" Q""'],
  ['a STORE 2:4 +FLAGS (\\Deleted)', 'STORE', '2:4 +FLAGS (\\Deleted)'],
  ['a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345)', 'UID FETCH', '1:* (FLAGS) (CHANGEDSINCE 12345)'],
  ['a uid expunge 3000:3002', 'UID EXPUNGE', '3000:3002'],
  ['a LOGIN {4+}\r\nuser "p\\"w"', 'LOGIN', 'L"user" Q"p"w"'],
  ['a SEARCH CHARSET UTF-8 TEXT {6}\r\nXXXXXX', 'SEARCH', 'CHARSET UTF-8 TEXT L"XXXXXX"'],
  ['a SEARCH (OR FROM a (TO b)) NOT SEEN', 'SEARCH', '(OR FROM a (TO b)) NOT SEEN'],
  ['a NOOP', 'NOOP', ''],
  ['a CREATE "Tr\u00e8s"', 'CREATE', 'Q"Tr\u00e8s"'],
  ['a SELECT INBOX (CONDSTORE)', 'SELECT', 'INBOX (CONDSTORE)'],
];

test('RFC 9051 example commands parse', () => {
  for (const [wire, name, args] of ok) {
    const r = parseCommand(raw(wire));
    assert.ok(r.ok, `${wire}: ${!r.ok && r.error}`);
    assert.equal(r.command.name, name, wire);
    assert.equal(r.command.args.map(show).join(' '), args, wire);
  }
});

const bad: [string, RegExp][] = [
  ['', /tag/],
  ['a', /space/],
  ['+ NOOP', /tag/],
  ['a LOGIN (a b', /parenthesis/],
  ['a LOGIN a b)', /space|parenthesis/],
  ['a LOGIN "abc', /unterminated/],
  ['a LOGIN "a\\b"', /escape/],
  ['a LOGIN fo\u00e9o x', /8-bit/],
  ['a LOGIN foo\u0000 x', /control/],
  ['a FETCH 1 (BODY[HEADER', /unbalanced/],
  [`a X ${'('.repeat(40)}${')'.repeat(40)}`, /deeply/],
  ['a LOGIN {3}x', /literal/],
  ['a  NOOP', /argument/],
];

test('malformed commands are refused with a reason', () => {
  for (const [wire, re] of bad) {
    const r = parseCommand(raw(wire));
    assert.equal(r.ok, false, wire);
    if (!r.ok) assert.match(r.error, re, wire);
  }
});

test('tagOf finds the tag for a BAD answer', () => {
  assert.equal(tagOf(Buffer.from('a12 FOO (')), 'a12');
  assert.equal(tagOf(Buffer.from('+ x')), null);
  assert.equal(tagOf(Buffer.from('*')), null);
});

test('literal announcements', () => {
  assert.deepEqual(literalAtEnd(Buffer.from('a APPEND x {310}')), { size: 310, sync: true, binary: false });
  assert.deepEqual(literalAtEnd(Buffer.from('a APPEND x {310+}')), { size: 310, sync: false, binary: false });
  assert.deepEqual(literalAtEnd(Buffer.from('a APPEND x ~{9}')), { size: 9, sync: true, binary: true });
  assert.equal(literalAtEnd(Buffer.from('a APPEND x "{9}"')), null);
});

function source(wire: string) {
  let buf = Buffer.from(wire, 'utf8');
  const sent: string[] = [];
  const src: CommandSource = {
    async readLine(max) {
      const lf = buf.indexOf('\n');
      if (lf < 0) throw new Error('eof');
      const line = buf.subarray(0, lf > 0 && buf[lf - 1] === 13 ? lf - 1 : lf);
      buf = buf.subarray(lf + 1);
      if (line.length > max) throw new Error('line too long');
      return line;
    },
    async readChunk(max) {
      if (!buf.length) throw new Error('eof');
      const c = buf.subarray(0, Math.min(max, buf.length));
      buf = buf.subarray(c.length);
      return c;
    },
    async continuation() {
      sent.push('+');
    },
  };
  return { src, sent, rest: () => buf.toString() };
}

const limits: ReaderLimits = {
  maxDepth: 16,
  maxValues: 1000,
  maxLine: 200,
  maxLiteral: 100,
  maxAppendLiteral: 1000,
  maxCommandLiterals: 150,
};

test('reader: continuation only for synchronising literals', async () => {
  const s = source('a LOGIN {4}\r\nuser {4+}\r\npass\r\nb NOOP\r\n');
  const r = await readCommand(s.src, limits);
  assert.equal(r.kind, 'command');
  assert.deepEqual(s.sent, ['+']);
  assert.equal(s.rest(), 'b NOOP\r\n');
});

test('reader: a synchronising literal over the limit is refused before it is sent', async () => {
  const s = source('a LOGIN {101}\r\nb NOOP\r\n');
  const r = await readCommand(s.src, limits);
  assert.equal(r.kind, 'bad');
  assert.equal(r.kind === 'bad' && r.code, 'TOOBIG');
  assert.deepEqual(s.sent, []);
  assert.equal(s.rest(), 'b NOOP\r\n');
});

test('reader: a non-synchronising literal over the limit is skipped, the stream stays in step', async () => {
  const s = source(`a LOGIN {120+}\r\n${'x'.repeat(120)} {3+}\r\nabc\r\nb NOOP\r\n`);
  const r = await readCommand(s.src, limits);
  assert.equal(r.kind, 'bad');
  assert.equal(s.rest(), 'b NOOP\r\n');
});

test('reader: APPEND has its own literal limit; total literal bytes are bounded elsewhere', async () => {
  const s = source(`a APPEND INBOX {500+}\r\n${'x'.repeat(500)}\r\n`);
  const r = await readCommand(s.src, limits);
  assert.equal(r.kind, 'command');
  const t = source(`a LOGIN {90+}\r\n${'x'.repeat(90)} {90+}\r\n${'y'.repeat(90)}\r\n`);
  assert.equal((await readCommand(t.src, limits)).kind, 'bad');
});

test('reader: all literals of one APPEND (MULTIAPPEND, CATENATE) are bounded at twice the message limit', async () => {
  const ok = source(`a APPEND INBOX {900+}\r\n${'x'.repeat(900)} {900+}\r\n${'y'.repeat(900)}\r\nb NOOP\r\n`);
  assert.equal((await readCommand(ok.src, limits)).kind, 'command');
  const three = `a APPEND INBOX {900+}\r\n${'x'.repeat(900)} {900+}\r\n${'y'.repeat(900)} {300+}\r\n${'z'.repeat(300)}\r\nb NOOP\r\n`;
  const over = source(three);
  const r = await readCommand(over.src, limits);
  assert.equal(r.kind, 'bad');
  assert.equal(r.kind === 'bad' && r.code, 'TOOBIG');
  assert.equal(r.kind === 'bad' && r.append, true); // answered NO [TOOBIG], as for one message too large
  assert.equal(over.rest(), 'b NOOP\r\n');
});

test('reader: a huge non-synchronising literal ends the session', async () => {
  const s = source('a LOGIN {99999999999+}\r\n');
  assert.equal((await readCommand(s.src, limits)).kind, 'fatal');
});

test('reader: empty literals are counted, and the lines between them count as literal octets', async () => {
  const many = source(`a NOOP${' {0+}\r\n'.repeat(MAX_LITERALS + 1)}\r\nb NOOP\r\n`);
  const r = await readCommand(many.src, { ...limits, maxValues: 100000 });
  assert.equal(r.kind === 'bad' && r.code, 'TOOBIG');
  assert.equal(many.rest(), 'b NOOP\r\n');
  // Long lines carrying nothing but an empty literal each: 2 x 120 octets is over the 150 allowed.
  const long = `a NOOP ${'x'.repeat(110)} {0+}\r\n`;
  const lines = source(`${long}${'y'.repeat(110)} {0+}\r\n\r\nb NOOP\r\n`);
  const q = await readCommand(lines.src, limits);
  assert.equal(q.kind === 'bad' && q.code, 'TOOBIG');
  assert.equal(lines.rest(), 'b NOOP\r\n');
});
