// Bayes on mail in scripts written without spaces (Chinese here): `petrel spam train` learns a few spam and
// ham messages whose bodies are phrases run together, and `petrel spam check` scores new messages made of
// the same phrases in another order. Each sentence used to be one over-long "word" (a shape token shared by
// both classes), so the classifier had no evidence at all; its character bigrams are evidence now.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { run } from '../helpers/run.ts';

const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-unspaced-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const SPAM = ['代开发票', '优惠价格', '点击链接', '免费领取', '限时抢购', '加微信号', '赚钱机会', '正规税票'];
const HAM = ['明天下午', '项目进度', '请查收附件', '会议纪要', '谢谢大家', '周五之前', '提交报告', '讨论方案'];

/** A message whose body is four phrases run together, as such text is written; the same headers for all. */
function message(n: number, phrases: string[], pick: number[]): string {
  const body = pick.map((i) => phrases[i % phrases.length]).join('');
  return (
    `From: =?utf-8?b?${Buffer.from('通知').toString('base64')}?= <notice@mail.example>\r\n` +
    `To: reader@example.net\r\nSubject: =?utf-8?b?${Buffer.from('您好').toString('base64')}?=\r\n` +
    `Message-ID: <m${n}@mail.example>\r\nDate: Mon, 07 Dec 2026 10:00:00 +0800\r\nMIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}。\r\n`
  );
}

async function petrel(args: string[]) {
  const env = { ...process.env, PETREL_SPAM_BAYES_MIN_LEARNS: '5' };
  const r = await run(process.execPath, [BIN, ...args], { env, cwd: dir, timeoutMs: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('Chinese mail: what was learned as spam or ham scores as such in new word orders', async () => {
  for (const [cls, phrases] of [
    ['spam', SPAM],
    ['ham', HAM],
  ] as const) {
    mkdirSync(join(dir, cls));
    for (let n = 0; n < 6; n++)
      writeFileSync(
        join(dir, cls, `${n}.eml`),
        message(n + (cls === 'spam' ? 0 : 100), phrases, [n, n + 1, n + 3, n + 5]),
      );
  }
  const trained = await petrel(['spam', 'train', '--spam', join(dir, 'spam'), '--ham', join(dir, 'ham')]);
  assert.match(trained, /^spam: 6 learned/m);
  assert.match(trained, /^ham: 6 learned/m);
  writeFileSync(join(dir, 'new-spam.eml'), message(200, SPAM, [4, 3, 5, 0]));
  writeFileSync(join(dir, 'new-ham.eml'), message(201, HAM, [2, 3, 0, 6]));
  const out = await petrel(['spam', 'check', join(dir, 'new-spam.eml'), join(dir, 'new-ham.eml')]);
  const [spam, ham] = out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { symbols: Record<string, number> | { name: string }[] });
  const names = (v: { symbols: Record<string, number> | { name: string }[] }) =>
    Array.isArray(v.symbols) ? v.symbols.map((s) => s.name) : Object.keys(v.symbols);
  assert.ok(
    names(spam).some((s) => s.startsWith('BAYES_SPAM')),
    `new spam: ${names(spam).join(' ')}`,
  );
  assert.ok(
    names(ham).some((s) => s.startsWith('BAYES_HAM')),
    `new ham: ${names(ham).join(' ')}`,
  );
});
