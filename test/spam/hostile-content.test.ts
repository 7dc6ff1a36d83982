// Content built to make the filter's scans quadratic (long runs with no match that a regex retries from
// every position: "a.a.a..." with no "/", "<a<a<a..." with no ">", a header run with no "@", thousands of
// folded lines, archives whose packed file lists unpack to megabytes) goes through the MX listener and the whole pipeline, DNS checks included, within the
// pipeline's time budget. Before the scans were made linear each of these held the event loop for
// minutes (no timer can interrupt a running regex), so this test ran into its own timeout.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { LZMA_4MB_OF_ZEROS, sevenZipPackedHeader } from '../helpers/seven-zip.ts';
import { mailbox, message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

let f: OutboundFixture;
before(async () => {
  f = await startSpamWorld({
    // Budgets ten times the defaults, so that a machine loaded by other test runs cannot time a linear
    // scan out; a quadratic one of these inputs takes minutes and still does.
    configure(c) {
      c.spam.scan.timeout_ms = 20_000;
      c.spam.timeout_ms = 30_000;
    },
  });
});
after(() => f.stop());

const SENDER = 'someone@hostile.test';
const run = (unit: string, size: number) => unit.repeat(Math.ceil(size / unit.length)).slice(0, size);
/** A body in base64 (lines of 76): the decoded text the checks scan is one run with no line break. */
const base64 = (subtype: string, text: string) =>
  message(SENDER, subtype, '', `${Buffer.from(text).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`).replace(
    'Content-Type: text/plain\r\n',
    `Content-Type: text/${subtype}\r\nContent-Transfer-Encoding: base64\r\n`,
  );

const cases: [string, () => string][] = [
  ['a megabyte of "a." with no "/" in plain text', () => base64('plain', run('a.', 1 << 20))],
  ['a megabyte of "1." in plain text', () => base64('plain', run('1.', 1 << 20))],
  ['a megabyte of "<a" with no ">" in HTML', () => base64('html', run('<a', 1 << 20))],
  ['a megabyte of "<a href=" and "<form" in HTML', () => base64('html', run('<form<a href=', 1 << 20))],
  [
    'header fields of 60 KB with no "@" and no space',
    () =>
      message(
        SENDER,
        'fields',
        `Reply-To: ${run('a', 60_000)}\r\nCc: ${run('a-', 60_000)}\r\nX-Mailer: ${run('.', 60_000)}x\r\n`,
      ),
  ],
  ['a Received field of 60 KB of "a-a-a"', () => message(SENDER, 'relay', `Received: from ${run('a-', 60_000)}\r\n`)],
  ['4,900 folded header lines', () => message(SENDER, 'folds', `X-Folded: start\r\n${' x\r\n'.repeat(4900)}`)],
  // 681 octets of LZMA that decode to 4 MB each: 500 of them would be 2 GB to decode, seconds of CPU,
  // without the message's shared allowance for archives (content/archive.ts ArchiveBudget).
  ['500 small 7z archives whose file lists unpack to 4 MB each', () => bombs(500)],
];

function bombs(count: number): string {
  const part = sevenZipPackedHeader(LZMA_4MB_OF_ZEROS, 4 << 20)
    .toString('base64')
    .replace(/.{76}/g, '$&\r\n');
  const parts = Array.from(
    { length: count },
    (_, i) =>
      `--b\r\nContent-Type: application/x-7z-compressed\r\nContent-Disposition: attachment; filename="n${i}.7z"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${part}\r\n`,
  );
  return message(SENDER, 'archives', '', `${parts.join('')}--b--\r\n`).replace(
    'Content-Type: text/plain\r\n',
    'Content-Type: multipart/mixed; boundary="b"\r\n',
  );
}

for (const [name, build] of cases)
  test(`${name}: accepted and judged within the time budget`, { timeout: 60_000 }, async () => {
    const before = (await mailbox(f, USER, 'INBOX')).length + (await mailbox(f, USER, 'Junk').catch(() => [])).length;
    const r = await send(f, { ip: '127.0.0.1', helo: 'mx.hostile.test', from: SENDER, raw: build() });
    assert.equal(r.code, 250, r.response);
    const after = (await mailbox(f, USER, 'INBOX')).length + (await mailbox(f, USER, 'Junk').catch(() => [])).length;
    assert.equal(after, before + 1);
    const symbols = await verdictSymbols(f, USER);
    assert.ok('BAYES_UNTRAINED' in symbols || 'BAYES_UNSURE' in symbols, JSON.stringify(symbols));
    const late = Object.keys(symbols).filter((s) => s.endsWith('_TIMEOUT') || s.endsWith('_FAIL'));
    assert.deepEqual(late, [], `checks that ran out of time or failed: ${late.join(', ')}`);
  });
