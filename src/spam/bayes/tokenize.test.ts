// What the tokenizer makes of a message: prefixed header tokens, no trace or verdict fields, structure,
// URL hosts from HTML attributes, HTML converted to words, OSB bigrams, stable ids.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import { hashPair, pairId, tokenId } from './hash.ts';
import { MAX_TOKENS, tokenIds, tokenStreams, tokenStrings, WINDOW, words } from './tokenize.ts';

const msg = (s: string) => Buffer.from(s.replace(/\n/g, '\r\n'));

const RAW = msg(`Received: from evil.example by mx.test
X-Spam-Status: Yes, score=20
Return-Path: <a@b.example>
From: "Cheap Pills" <sales@pills.example>
To: bob@test.example
Subject: =?utf-8?q?Free_money?=
Message-ID: <123@mailer.pills.example>
X-Mailer: MassMailer 2.0
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary=b

--b
Content-Type: text/plain; charset=utf-8

Click here now to get rich. Visit http://www.pills.example/buy today.
--b
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

<html><body><font color=3Dred>Buy <b>now</b></font> <a href=3D"http://198.51.100.7/x">link</a></body></html>
--b--
`);

test('header fields: prefixed, selected, trace and verdict fields ignored', () => {
  const t = tokenStrings(tokenStreams(RAW, parseMessage(RAW)));
  for (const want of [
    'subject:free',
    'subject:money',
    'subject:free +1 subject:money',
    'from:cheap',
    'from:addr:sales@pills.example',
    'from:domain:pills.example',
    'to:domain:test.example',
    'message-id:mailer.pills.example',
    'x-mailer:massmailer',
    'hdr:x-mailer',
    'mime:multipart/alternative',
    'mime:text/html',
    'cte:quoted-printable',
    'charset:utf-8',
  ])
    assert.ok(t.includes(want), `missing ${want}`);
  assert.ok(t.includes('received:evil.example'));
  for (const s of t) assert.ok(!/x-spam|return-path|score/.test(s), `unexpected ${s}`);
});

test('body: decoded text and HTML as words, URLs (also from attributes), tags, OSB pairs', () => {
  const t = tokenStrings(tokenStreams(RAW, parseMessage(RAW)));
  for (const want of [
    'click',
    'rich',
    'buy',
    'url:www.pills.example',
    'url:pills.example',
    'url:ip',
    'tag:font',
    'click +1 here',
    'click +4 get',
    'here +1 now',
  ])
    assert.ok(t.includes(want), `missing ${want}`);
  // The window is five words: a word pairs with the next four only.
  assert.ok(!t.includes('click +5 rich'));
  assert.ok(!t.some((s) => s.includes('color=')));
});

test('words: case folded, edges trimmed, long and numeric shapes', () => {
  assert.deepEqual(words("Hello, WORLD... it's $100 off!"), ['hello', 'world', "it's", '$100', 'off']);
  assert.deepEqual(words('a 1234567 x'.replace('x', 'y'.repeat(30))), ['num:7', 'skip:y30']);
  assert.deepEqual(words('Re: Hi', 'subject:'), ['subject:re', 'subject:hi']);
});

test('ids: distinct, stable, safe integers', () => {
  const p = parseMessage(RAW);
  const a = tokenIds(tokenStreams(RAW, p));
  assert.deepEqual(a, tokenIds(tokenStreams(RAW, p)));
  assert.equal(new Set(a).size, a.length);
  for (const id of a) assert.ok(Number.isSafeInteger(id) && id >= 0 && id < 2 ** 52);
  assert.ok(a.includes(tokenId('subject:free')));
  assert.notEqual(tokenId('ab'), tokenId('ba'));
});

test('pair ids: order and distance matter', () => {
  const x = hashPair('click');
  const y = hashPair('here');
  assert.notEqual(pairId(x, y, 1), pairId(y, x, 1));
  assert.notEqual(pairId(x, y, 1), pairId(x, y, 2));
  assert.equal(pairId(x, y, 3), pairId(hashPair('click'), hashPair('here'), 3));
});

test('hostile header runs: the same tokens, read in one pass', () => {
  // Half-megabyte fields (the parser's per-field limit raised for this test); a scan retried from every
  // position of these runs would take minutes.
  const run = (unit: string) => unit.repeat((1 << 19) / unit.length);
  const raw = msg(
    `Received: from ${run('a-')} (mx.relay.example [192.0.2.7]) by -lead.example\n` +
      `To: ${run('a')} <x@to.example>\nCc: ${run('.')}x\nSubject: hi\n\nbody\n`,
  );
  const tokens = tokenStrings(tokenStreams(raw, parseMessage(raw, { maxHeaderLineLength: 1 << 20 })));
  for (const t of [
    'received:mx.relay.example',
    'received:ip:192.0.2',
    'received:-lead.example',
    'to:addr:x@to.example',
    'to:domain:to.example',
  ])
    assert.ok(tokens.includes(t), t);
  assert.deepEqual(words(`${run('.')}xy${run("'")}`), ['xy']);
});

test('unspaced scripts (Chinese, Japanese, Thai) become character bigrams; spaced text is as before', () => {
  // A sentence with no spaces was one over-long "word", hence one shape token and no evidence.
  assert.deepEqual(words('免费发票代开'), ['免费', '费发', '发票', '票代', '代开']);
  assert.deepEqual(words('今すぐクリック'), ['今す', 'すぐ', 'ぐク', 'クリ', 'リッ', 'ック']);
  assert.deepEqual(words('สมัครฟรี'), ['สม', 'มั', 'ัค', 'คร', 'รฟ', 'ฟร', 'รี']);
  // Mixed with Latin words and digits, in text order; a lone character stays a token.
  assert.deepEqual(words('Rolex手表 only 99元 call 客服now', 'subject:'), [
    'subject:rolex',
    'subject:手表',
    'subject:only',
    'subject:99',
    'subject:元',
    'subject:call',
    'subject:客服',
    'subject:now',
  ]);
  assert.deepEqual(words('Click here now, güzel fiyat'), ['click', 'here', 'now', 'güzel', 'fiyat']);
  // Bounded: a 60,000-character text of one script gives at most 10,000 bigrams.
  assert.equal(words('发'.repeat(60_000)).length, 10_000);
});

test('a message gives at most MAX_TOKENS distinct tokens (rows one learned message may add), the first ones', () => {
  // 8,000 words (under the 60,000 characters read), about 40,000 tokens with their pairs.
  const text = Array.from({ length: 8_000 }, (_, i) => `w${i}x`).join(' ');
  const raw = msg(`From: a@b.example\nSubject: long\n\n${text}\n`);
  const ids = tokenIds(tokenStreams(raw, parseMessage(raw)));
  assert.ok(ids.length <= MAX_TOKENS + WINDOW, String(ids.length));
  assert.ok(ids.length >= MAX_TOKENS, String(ids.length));
  assert.ok(ids.includes(tokenId('subject:long')), 'header tokens come first');
  assert.ok(ids.includes(tokenId('w0x')), 'then the text from its start');
  assert.ok(!ids.includes(tokenId('w7999x')), 'not its end, which the text read still holds');
});
