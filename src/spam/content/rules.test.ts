// Local rules: the "NAME TARGET /REGEX/FLAGS SCORE [junk|reject]" grammar, what each target reads (decoded
// header values, body text, links), and the reasons a bad rule is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMessage } from '../../mime/parse.ts';
import { bodies } from './parts.ts';
import { matchRules, parseRule, parseRules } from './rules.ts';
import { extractUrls, ruleForm } from './urls.ts';

const raw = Buffer.from(
  [
    'From: "=?utf-8?q?Caf=C3=A9?=" <owner@cafe.example>',
    'To: someone@example.com',
    'Cc: other@example.com',
    'Reply-To: claims@elsewhere.example',
    'Subject: =?utf-8?q?Overdue_invoice_n=C2=B0_42?=',
    'X-Mailer: PHPMailer 5.2',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    'Pay now at https://pay.bad.example/x or visit our online casino=21',
    '',
  ].join('\r\n'),
);

test('a rule reads what its target names, decoded', () => {
  const parsed = parseMessage(raw);
  const urls = extractUrls(bodies(raw, parsed));
  const specs = [
    'SUBJ subject /overdue invoice n° \\d+/i 3',
    'FROM from /Café/ 1',
    'CC to /other@/ 1',
    'RT reply-to /elsewhere\\.example$/ 1',
    'MAILER header:X-Mailer /^PHPMailer/ 2 reject',
    'BODY body /online casino!/ 4 junk',
    'URL url /^https:\\/\\/pay\\.bad\\.example\\// 5',
    'ANYHDR headers /^x-mailer: php/i 1',
    'MISS subject /unrelated/ 9',
    'NOHDR header:X-Absent /./ 9',
  ];
  const rules = parseRules(specs);
  assert.deepEqual(
    matchRules(rules, parsed, urls).map((i) => rules[i].name),
    ['SUBJ', 'FROM', 'CC', 'RT', 'MAILER', 'BODY', 'URL', 'ANYHDR'],
  );
  assert.equal(rules[4].force, 'reject');
  assert.equal(rules[5].force, 'junk');
  assert.equal(rules[0].score, 3);
});

test('bad rules are refused with the reason', () => {
  assert.throws(() => parseRule('lower subject /x/ 1'), /NAME TARGET/);
  assert.throws(() => parseRule('NAME subject x 1'), /NAME TARGET/);
  assert.throws(() => parseRule('NAME subject /x/g 1'), /NAME TARGET/);
  assert.throws(() => parseRule('NAME subject /x/ 1 discard'), /NAME TARGET/);
  assert.throws(() => parseRule('NAME envelope /x/ 1'), /not one of subject/);
  assert.throws(() => parseRule('NAME subject /(x/ 1'), /bad pattern/);
  assert.throws(() => parseRules(['A subject /x/ 1', 'A body /y/ 2']), /A is defined twice/);
  assert.equal(parseRule('NEG subject /a b\\/c/ -2.5').score, -2.5);
  assert.equal(parseRule('NEG subject /a b\\/c/ -2.5').re.source, 'a b\\/c');
});

test('url rules read the normalised link: RFC 3986 section 6.2.2 equivalents, host without its trailing dot', () => {
  const table: [string, string][] = [
    ['HTTPS://EVIL.EXAMPLE/Path', 'https://evil.example/Path'],
    ['https://evil.example./x', 'https://evil.example/x'],
    ['https://evil.example..:443/x', 'https://evil.example/x'],
    ['https://ev%69l.example/%6Cogin%2ephp?a=%7e', 'https://evil.example/login.php?a=~'],
    ['https://x.example/a%2fb%3f', 'https://x.example/a%2Fb%3F'],
    ['https://bücher.example./', 'https://xn--bcher-kva.example/'],
    ['https://[::1]/x', 'https://[::1]/x'],
  ];
  for (const [written, read] of table) {
    const found = extractUrls({ plain: [], html: [`<a href="${written}">x</a>`] })[0];
    assert.equal(ruleForm(found.url), read, written);
  }
});
