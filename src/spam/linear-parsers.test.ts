// The linear rewrites of regexes that backtracked quadratically match what the regexes matched: a table of
// the usual and odd shapes, then every short string over the characters that matter.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withoutAuth } from '../imap/imap-url.ts';
import { fromClause } from './inbound.ts';
import { spfDomain } from './reputation/keys.ts';

/** Every string up to `max` characters over `alphabet` (bounded: alphabet^max). */
function* strings(alphabet: string[], max: number): Generator<string> {
  let layer = [''];
  for (let n = 0; n <= max; n++) {
    yield* layer;
    layer = layer.flatMap((s) => alphabet.map((c) => s + c));
  }
}

const oldFrom = (v: string) => {
  const m = /^\s*from\s+(\S+)\s*\(([^)]*)\)/i.exec(v);
  return m ? { helo: m[1], comment: m[2] } : null;
};
const oldSpf = (v: string) => /\bsmtp\.(?:mailfrom|helo)=(?:[^\s@]*@)?([a-z0-9.-]+)/i.exec(v)?.[1] ?? null;
const oldAuth = (v: string) => v.replace(/;auth=.*$/i, '');

test('Received from-clause: the same HELO and comment as the regex', () => {
  const table = [
    'from mx.example (mx.example [192.0.2.1]) by us',
    '  FROM  helo  (name [IPv6:2001:db8::1])',
    'from a(b(c [192.0.2.1])',
    'from a(b)c(',
    'from a(b)c (d',
    'from x(((((',
    'from (x)',
    'from helo',
    'by us from helo (x)',
    'from a (b) (c)',
    'from a(b) c(d)',
  ];
  for (const v of table) assert.deepEqual(fromClause(v), oldFrom(v), v);
  for (const s of strings(['a', '(', ')', ' '], 7)) {
    const v = `from ${s}`;
    assert.deepEqual(fromClause(v), oldFrom(v), JSON.stringify(v));
  }
});

test('smtp.mailfrom / smtp.helo: the same domain as the regex', () => {
  const table = [
    ' smtp.mailfrom=bob@example.com',
    ' smtp.mailfrom=example.com',
    ' smtp.helo=mx.example',
    ' SMTP.MailFrom=a@B.example',
    ' smtp.mailfrom=@ smtp.helo=h.example',
    ' smtp.helo=_ smtp.mailfrom=x@_ smtp.helo=ok',
    ' smtp.helo=_.smtp.helo=_@',
    ' xsmtp.helo=no',
    ' smtp.mailfrom=a@b@c',
  ];
  for (const v of table) assert.equal(spfDomain(v), oldSpf(v), v);
  for (const s of strings(['smtp.helo=', 'a', '@', '_', ' '], 5))
    assert.equal(spfDomain(s), oldSpf(s), JSON.stringify(s));
});

test('IMAP URL userinfo: ";AUTH=" removed as the regex removed it', () => {
  const table = [
    'bob;AUTH=*',
    'bob;auth=plain',
    'bob',
    'b;AUTH=x\n;AUTH=y',
    'b;AUTH=x\u2028y',
    ';AUTH=;AUTH=',
    'b\r;auth=',
  ];
  for (const v of table) assert.equal(withoutAuth(v), oldAuth(v), JSON.stringify(v));
  for (const s of strings([';auth=', 'A', '\n', '\u2029', ';'], 5))
    assert.equal(withoutAuth(s), oldAuth(s), JSON.stringify(s));
});

test('trailing blanks: the look-behind form removes what /[ \\t]+$/ removed', () => {
  for (const s of strings([' ', '\t', 'a', '\n'], 7))
    assert.equal(s.replace(/(?<![ \t])[ \t]+$/, ''), s.replace(/[ \t]+$/, ''), JSON.stringify(s));
});
