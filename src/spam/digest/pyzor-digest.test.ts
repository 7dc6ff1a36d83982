// Our Pyzor digest against the real `pyzor` command (Debian pyzor): the same digest for crafted messages
// (plain, HTML with scripts and entities, quoted-printable, base64 the way Python decodes it, short and
// long, attachments, GB2312 and EUC-KR) and for every message of the SpamAssassin corpus, fed to one
// `pyzor digest` process as an mbox; and the same HTML text as pyzor's own HTMLStripper.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { corpusFiles, storedForm } from '../../../test/helpers/corpus.ts';
import { peer } from '../../../test/helpers/peers.ts';
import { decodePartBody } from '../../mime/decode.ts';
import { parseMessage } from '../../mime/parse.ts';
import type { MimePart } from '../../mime/types.ts';
import {
  digestLines,
  htmlData,
  MAX_DIGEST_MESSAGE,
  normalizeLine,
  pyzorDigest,
  selectedLines,
} from './pyzor-digest.ts';

const pyzor = peer('pyzor', 'pyzor');

/** Digests of several messages from one `pyzor digest` run (mbox style: one process for all). */
function realDigests(messages: Buffer[]): string[] {
  const home = mkdtempSync(join(tmpdir(), 'petrel-pyzor-'));
  try {
    const mbox = Buffer.concat(
      messages.flatMap((m) => [
        Buffer.from('From sender@example Thu Jan  1 00:00:00 2026\n'),
        Buffer.from(m.toString('latin1').replace(/\r\n/g, '\n'), 'latin1'),
        Buffer.from('\n'),
      ]),
    );
    const out = execFileSync(pyzor.path!, ['--homedir', home, '-s', 'mbox', 'digest'], {
      input: mbox,
      timeout: 120_000,
    });
    return out.toString().trim().split('\n');
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const ours = (raw: Buffer) => pyzorDigest(raw, parseMessage(raw));
const m = (...lines: string[]) => Buffer.from(lines.join('\r\n'), 'utf8');
const b64 = (text: string) => Buffer.from(text).toString('base64');

test('normalisation drops long tokens, addresses, URLs and whitespace', () => {
  assert.equal(normalizeLine('  Call me at bob@example.com or see http://x.example/  now  '), 'Callmeatorseenow');
  assert.equal(normalizeLine('a verylongtokenhere b'), 'ab');
  assert.deepEqual(selectedLines(['1', '2', '3']), ['1', '2', '3']);
  const ten = Array.from({ length: 10 }, (_, i) => String(i));
  assert.deepEqual(selectedLines(ten), ['2', '3', '4', '6', '7', '8']);
});

const CRAFTED: Buffer[] = [
  m('Subject: short', '', 'Hello there, this is a short message.', 'Second line of it here.'),
  m('Subject: empty', '', 'hi', ''),
  m(
    'Subject: long',
    '',
    ...Array.from({ length: 40 }, (_, i) => `This is line number ${i} of a rather long message body ${i * 7}`),
  ),
  m(
    'Subject: html',
    'Content-Type: text/html; charset=utf-8',
    '',
    '<html><head><style>p { color: red }</style><script>var x = "hidden text here";</script></head>',
    '<body><p>Caf&eacute; &amp; cr&egrave;me &hellip; special offer today</p><!-- a comment line -->',
    '<p>Second paragraph with more words',
    'continuing on the next line</p><a href="http://x.example/">click here now please</a></body></html>',
  ),
  m(
    'Subject: qp',
    'Content-Type: text/plain; charset=iso-8859-1',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Gr=FC=DFe aus M=FCnchen, wir haben ein Angebot f=FCr Sie.=',
    ' Weiter geht es hier mit Text.',
  ),
  m(
    'Subject: multipart',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="xx"',
    '',
    '--xx',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('Ünïcödé text in base64 body line\nand another line of it here\n').toString('base64'),
    '--xx',
    'Content-Type: application/octet-stream; name="a.bin"',
    'Content-Transfer-Encoding: base64',
    '',
    'AAAA BBBB CCCC DDDD',
    '--xx--',
    '',
  ),
  // base64 as Python decodes it: a lone "=" that completes no quad is skipped (Node's decoder stops there),
  // and decoding stops at the first "=" that completes one (a list footer after it is dropped).
  m(
    'Subject: base64 padding',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: base64',
    '',
    b64('Hello my friends, this is a line\n'),
    'aA=gx',
    b64('more words in a line here for you!!\n'), // a multiple of 3 octets: no padding
    b64('ok\n\n'),
    b64('and this line comes after the padding\n'),
  ),
  // base64 whose data characters are one more than a multiple of 4: Python keeps the encoded text.
  m(
    'Subject: undecodable base64',
    'Content-Type: text/plain',
    'Content-Transfer-Encoding: base64',
    '',
    `${b64('Hello my friends, this is a line\n')}Q`,
  ),
  // GB2312 and EUC-KR (ks_c_5601-1987) as Python's strict codecs read them: the GBK-only and
  // Windows-949-only pairs lose their first byte, and the cells the two tables map differently.
  Buffer.concat([
    Buffer.from('Subject: gb2312\r\nContent-Type: text/plain; charset="gb2312"\r\n\r\n'),
    Buffer.from(
      'd0c5cfa220c7ebb2e9bfb4a1a420d6d0b9fa20b9fabcd2208140b5d8b7bd20c5f3d3d1c3c720bdf1ccec20badcbac30d0a',
      'hex',
    ),
  ]),
  Buffer.concat([
    Buffer.from('Subject: euc-kr\r\nContent-Type: text/plain; charset="ks_c_5601-1987"\r\n\r\n'),
    Buffer.from('bdc5bcb1c7d120c3d0bad220a2e620c6c4c6bcbfa120c3cab4eb208141c7d5b4cfb4d920b0a8bbe70d0a', 'hex'),
  ]),
];

test('crafted messages digest as pyzor digests them', { skip: pyzor.skip }, () => {
  const theirs = realDigests(CRAFTED);
  assert.equal(theirs.length, CRAFTED.length);
  for (const [i, raw] of CRAFTED.entries())
    assert.equal(ours(raw), theirs[i], `message ${i}: ${digestLines(raw, parseMessage(raw)).join(' | ')}`);
});

test('the whole corpus: every digest agrees with pyzor', { skip: pyzor.skip, timeout: 600_000 }, () => {
  const sample: { file: string; raw: Buffer }[] = [];
  for (const file of corpusFiles()) {
    const raw = storedForm(readFileSync(file));
    // An mbox cannot carry a body line starting "From " unchanged; leave those out (1 of 6,046).
    if (!/\r\nFrom /.test(raw.toString('latin1'))) sample.push({ file, raw });
  }
  const theirs = realDigests(sample.map((s) => s.raw));
  assert.equal(theirs.length, sample.length);
  const differ = sample.filter((s, i) => ours(s.raw) !== theirs[i]).map((s) => s.file.split('/').slice(-2).join('/'));
  assert.deepEqual(differ, []);
});

/** The text pyzor's own HTMLStripper collects from each HTML string (Debian's python3 and pyzor). */
function pythonHtmlData(htmls: string[]): string[] {
  const py = [
    'import json, sys',
    "sys.path.insert(0, '/usr/lib/python3/dist-packages')",
    'from pyzor.digest import HTMLStripper',
    'out = []',
    'for h in json.load(sys.stdin):',
    '    c = []',
    '    try:',
    '        HTMLStripper(c).feed(h)',
    '    except Exception:',
    '        pass',
    "    out.append(' '.join(c))",
    'json.dump(out, sys.stdout)',
  ].join('\n');
  const out = execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(htmls), maxBuffer: 1 << 28 });
  return JSON.parse(out.toString('utf8'));
}

test('HTML text as pyzor collects it: every corpus HTML part and malformed markup', { skip: pyzor.skip }, () => {
  const htmls = [
    'a <<<<<< b',
    'x <> y',
    'Unsubscribe <\r\nB> | more',
    'e B a y </=\r\ni> Power',
    'bottle! </\r\np> That',
    '<font size=3D"4=\r\n"><br>\r\nMay 7th<br>',
    '<a b="unclosed> text and more',
    'text then <',
    'AT&T rocks',
    'end &amp',
    'x <!--#rotate> y',
    '<p a=\'1\' b="2" c=3 d>t</p>',
    '<a/ b>t',
    '<a b=>t',
    '<script>no</script>yes',
    '<style a="</style>">css</style>after',
    '<? pi > after',
    '<!doctype html> d',
    '<a\x0bb>t',
    '<a b c="d"e>t',
  ];
  for (const f of corpusFiles()) {
    const raw = storedForm(readFileSync(f));
    const walk = (p: MimePart): void => {
      if (p.children.length) p.children.forEach(walk);
      else if (p.message) walk(p.message.root);
      else if (p.type === 'text' && p.subtype === 'html') htmls.push(decodePartBody(raw, p).toString('latin1'));
    };
    walk(parseMessage(raw).root);
  }
  const theirs = pythonHtmlData(htmls);
  const differ = htmls.flatMap((h, i) =>
    htmlData(h) === theirs[i]
      ? []
      : [
          `${JSON.stringify(h.slice(0, 60))}: ${JSON.stringify(htmlData(h).slice(0, 80))} vs ${JSON.stringify(theirs[i].slice(0, 80))}`,
        ],
  );
  assert.ok(htmls.length > 1200);
  assert.deepEqual(differ, []);
});

test('a message over MAX_DIGEST_MESSAGE has no body digest; one just under it has', () => {
  const head = 'From: a@b.example\r\nSubject: big\r\n\r\n';
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit\r\n';
  const body = (octets: number) => line.repeat(Math.floor((octets - head.length) / line.length));
  const under = Buffer.from(head + body(MAX_DIGEST_MESSAGE));
  assert.ok(under.length <= MAX_DIGEST_MESSAGE);
  assert.ok(digestLines(under, parseMessage(under)).length > 1000);
  const over = Buffer.from(`${head + body(MAX_DIGEST_MESSAGE)}${line}${line}`);
  assert.ok(over.length > MAX_DIGEST_MESSAGE);
  assert.deepEqual(digestLines(over, parseMessage(over)), []);
});
