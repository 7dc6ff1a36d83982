// The content scan on worker threads (spam/scan/pool.ts): a worker's scan is the same as one in place;
// a scan past the time limit is stopped, its thread replaced, and the message still delivered with
// CONTENT_SCAN_TIMEOUT; a worker out of memory fails its scan and is replaced; a queued scan whose
// pipeline stopped waiting is dropped; and the checks that read the scan work through the MX listener.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { defaults } from '../../src/config/load.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import { ContentScanPool } from '../../src/spam/scan/pool.ts';
import { scanContent } from '../../src/spam/scan/scan.ts';
import { ScanFailed, scanOptions } from '../../src/spam/scan/scanner.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { buildZip } from '../helpers/zip.ts';
import { mailbox, message, send, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

const OPTS = scanOptions(defaults());
const SENDER = 'someone@sender.test';

function multipart(parts: { type: string; name?: string; body: Buffer | string; base64?: boolean }[]): Buffer {
  let s =
    `From: Someone <${SENDER}>\r\nTo: ${USER}\r\nSubject: parts\r\nMessage-ID: <p@sender.test>\r\n` +
    'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n';
  for (const p of parts) {
    s += `--b\r\nContent-Type: ${p.type}${p.name ? `; name="${p.name}"` : ''}\r\n`;
    if (p.base64 || Buffer.isBuffer(p.body))
      s += `Content-Transfer-Encoding: base64\r\n\r\n${Buffer.from(p.body).toString('base64').replace(/.{76}/g, '$&\r\n')}\r\n`;
    else s += `\r\n${p.body}\r\n`;
  }
  return Buffer.from(`${s}--b--\r\n`);
}

const SAMPLES: Buffer[] = [
  Buffer.from(message(SENDER, 'plain', '', 'Cheap meds at http://pills.example/buy and www.more.example today.\r\n')),
  multipart([
    { type: 'text/plain', body: 'Your account is locked. Verify now.' },
    {
      type: 'text/html',
      body:
        '<p><a href="http://login.bank-secure.example/x">https://www.paypal.com/signin</a></p>' +
        '<form action="http://collect.example/p"><input type="password" name="pw"></form>',
    },
  ]),
  multipart([
    { type: 'text/plain', body: 'invoice attached' },
    {
      type: 'application/zip',
      name: 'invoice.zip',
      body: buildZip([{ name: 'invoice.pdf.exe', data: Buffer.from('MZ..') }]),
    },
    {
      type: 'application/octet-stream',
      name: 'run.bin',
      body: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 1)]),
    },
  ]),
];

/** Many parts of text with no link: what took seconds before URL reading was bounded per message. */
const textParts = (n: number, size: number) =>
  multipart(Array.from({ length: n }, () => ({ type: 'text/plain', body: 'a.'.repeat(size / 2), base64: true })));
const BIG = textParts(20, 1 << 20);

describe('content scan pool', () => {
  test('until a worker has started, scans run in place: the first messages do not wait for it', async () => {
    // A 1 ms limit stops any worker scan of BIG; before the worker is up, the scan runs here and finishes.
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 1, maxMemoryMb: 512, scan: OPTS });
    try {
      assert.deepEqual(await pool.scan(BIG, null), scanContent(BIG, parseMessage(BIG), OPTS));
      await pool.ready();
      await assert.rejects(pool.scan(BIG, null), (e: unknown) => e instanceof ScanFailed && e.timedOut);
    } finally {
      await pool.close();
    }
  });

  test("with local rules, the first scans wait for a worker: an admin's pattern never runs on the main thread", async () => {
    const slow = `From: a@b.test\r\nSubject: x\r\n\r\n${'a'.repeat(40)}!\r\n`;
    const scan = { ...OPTS, rules: ['LOCAL_SLOW body /^(a+)+$/ 1', 'LOCAL_HIT body /^a+!/ 1'] };
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 500, maxMemoryMb: 512, scan });
    try {
      // Asked before the worker is up: the scan waits for it, and its time limit stops the pattern.
      await assert.rejects(pool.scan(Buffer.from(slow), null), (e: unknown) => e instanceof ScanFailed && e.timedOut);
      const ok = Buffer.from(`From: a@b.test\r\nSubject: x\r\n\r\naaa! fine\r\n`);
      assert.deepEqual((await pool.scan(ok, null)).ruleHits, [1]);
    } finally {
      await pool.close();
    }
  });

  test('a worker scan is the same as a scan in place', async () => {
    const pool = new ContentScanPool({ workers: 2, timeoutMs: 30_000, maxMemoryMb: 512, scan: OPTS });
    try {
      await pool.ready();
      const scans = await Promise.all(SAMPLES.map((raw) => pool.scan(raw, null)));
      for (const [i, raw] of SAMPLES.entries()) assert.deepEqual(scans[i], scanContent(raw, parseMessage(raw), OPTS));
      // The samples exercise what the checks read: links, a credential form, dangerous attachments, digests.
      assert.ok(scans[0].urls.some((u) => u.host === 'pills.example'));
      assert.equal(scans[1].credentialForm, true);
      assert.deepEqual(scans[2].attachments.map((a) => a.kind).sort(), [
        'double_extension',
        'executable',
        'executable',
      ]);
      assert.ok(scans[0].tokens.length > 10);
      assert.match(scans[0].pyzor ?? '', /^[0-9a-f]{40}$/);
      assert.equal(scans[2].digests.length, 3); // the body and two attachments
      assert.equal(pool.replaced, 0);
    } finally {
      await pool.close();
    }
  });

  test('a scan past the limit is stopped and its worker replaced; the pool goes on', async () => {
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 1, maxMemoryMb: 512, scan: OPTS });
    try {
      await pool.ready();
      await assert.rejects(pool.scan(BIG, null), (e: unknown) => e instanceof ScanFailed && e.timedOut);
      assert.equal(pool.replaced, 1);
      pool.timeoutMs = 30_000;
      const raw = SAMPLES[1];
      assert.deepEqual(await pool.scan(raw, null), scanContent(raw, parseMessage(raw), OPTS));
      assert.equal(pool.replaced, 1);
    } finally {
      await pool.close();
    }
  });

  test('a worker out of memory fails its scan and is replaced', async () => {
    // 80 decoded text parts of 900 KB, held together while the message is scanned, do not fit a 32 MB
    // heap (strings of a megabyte or more would be held outside it).
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 60_000, maxMemoryMb: 32, scan: OPTS });
    try {
      await pool.ready();
      await assert.rejects(
        pool.scan(textParts(80, 900_000), null),
        (e: unknown) => e instanceof ScanFailed && !e.timedOut,
      );
      assert.equal(pool.replaced, 1);
      const raw = SAMPLES[0];
      assert.deepEqual(await pool.scan(raw, null), scanContent(raw, parseMessage(raw), OPTS));
    } finally {
      await pool.close();
    }
  });

  test('workers that cannot start: scans run in place, and no worker is started in a loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'petrel-scan-'));
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, "throw new Error('this worker cannot start');\n");
    const pool = new ContentScanPool({
      workers: 2,
      timeoutMs: 30_000,
      maxMemoryMb: 512,
      scan: { ...OPTS, rules: ['LOCAL_ANY body /./ 1'] },
      workerUrl: pathToFileURL(broken),
    });
    try {
      const raw = SAMPLES[1];
      await pool.ready(); // resolves when the pool gives up
      assert.equal(pool.broken, true);
      assert.deepEqual(await pool.scan(raw, null), scanContent(raw, parseMessage(raw), OPTS));
      // The two first workers and their two replacements fail; the pool gives up at the third failure,
      // and the fourth (already starting then) fails on its own: four in all, and no more.
      for (let i = 0; i < 200 && pool.replaced < 4; i++) await new Promise((r) => setTimeout(r, 50));
      assert.equal(pool.replaced, 4);
      assert.deepEqual(await pool.scan(raw, parseMessage(raw)), scanContent(raw, parseMessage(raw), OPTS));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(pool.replaced, 4, 'no more workers are started');
      assert.deepEqual((await pool.scan(raw, null)).ruleHits, [], 'no rules on the main thread');
    } finally {
      await pool.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a queued scan whose caller stopped waiting is dropped', async () => {
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 60_000, maxMemoryMb: 512, scan: OPTS });
    try {
      await pool.ready();
      const first = pool.scan(BIG, null);
      const gone = new AbortController();
      const second = pool.scan(SAMPLES[0], null, gone.signal);
      second.catch(() => {}); // rejected at the abort, before the first scan ends
      gone.abort();
      await first;
      await assert.rejects(second, /abandoned/);
    } finally {
      await pool.close();
    }
  });

  test('past maxQueue a scan is refused at once; a scan whose caller stops waiting frees its place', async () => {
    const scan = { ...OPTS, rules: ['LOCAL_SLOW body /^(a+)+$/ 1'] };
    const pool = new ContentScanPool({ workers: 1, timeoutMs: 60_000, maxMemoryMb: 512, maxQueue: 1, scan });
    try {
      await pool.ready();
      // The one worker is held by a pattern that backtracks on this body; one scan may wait, not two.
      const held = pool.scan(Buffer.from(message(SENDER, 'slow', '', `${'a'.repeat(40)}!\r\n`)), null);
      held.catch(() => {});
      const gone = new AbortController();
      const waiting = pool.scan(SAMPLES[0], null, gone.signal);
      await assert.rejects(pool.scan(SAMPLES[0], null), (e: unknown) => e instanceof ScanFailed && e.busy);
      gone.abort();
      await assert.rejects(waiting, /abandoned/);
      assert.deepEqual(pool.load(), { running: 1, queued: 0, idle: 0 });
      const next = pool.scan(SAMPLES[0], null);
      next.catch(() => {});
      assert.deepEqual(pool.load(), { running: 1, queued: 1, idle: 0 }, 'the freed place is taken');
    } finally {
      await pool.close();
    }
  });

  test('the bounded link reading: 2 MB of text per message, whatever the number of parts', () => {
    const filler = 'a.'.repeat(1 << 19);
    const raw = multipart([
      { type: 'text/plain', body: `${filler} http://second.example/`, base64: true },
      { type: 'text/plain', body: `http://first.example/ ${filler}`, base64: true },
      { type: 'text/plain', body: `http://third.example/ ${filler}`, base64: true },
    ]);
    const hosts = scanContent(raw, parseMessage(raw), OPTS).urls.map((u) => u.host);
    assert.deepEqual(hosts, ['first.example']);
  });
});

describe('content scan through the MX listener', () => {
  let f: OutboundFixture;
  before(async () => {
    f = await startSpamWorld({});
    await f.app.spamScanner.ready();
  });
  after(() => f.stop());

  test("attachments and phishing are judged from the workers' scan", async () => {
    const exe = multipart([
      { type: 'text/plain', body: 'the tool you asked for' },
      {
        type: 'application/octet-stream',
        name: 'tool.bin',
        body: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(300)]),
      },
    ]);
    const r = await send(f, { ip: '127.0.0.1', helo: 'mx.sender.test', from: SENDER, raw: exe.toString() });
    assert.equal(r.code, 550, r.response);
    assert.match(r.response, /Attachment refused by policy: tool\.bin \(PE\)/);
    const p = await send(f, { ip: '127.0.0.1', helo: 'mx.sender.test', from: SENDER, raw: SAMPLES[1].toString() });
    assert.equal(p.code, 250, p.response);
    const symbols = await verdictSymbols(f, USER);
    assert.ok('PHISH_CREDENTIAL_FORM' in symbols, JSON.stringify(symbols));
    assert.ok(!('CONTENT_SCAN_TIMEOUT' in symbols));
  });

  test('a refusal that names a file of the message says it in US-ASCII (RFC 5321 section 4.2 textstring)', async () => {
    // The sender chooses the name: Cyrillic letters, U+2028 LINE SEPARATOR and U+0085 NEXT LINE, which
    // some clients split lines at, as UTF-8 octets in the reply line.
    const name = `=?UTF-8?B?${Buffer.from('счёт\u2028\u0085.exe').toString('base64')}?=`;
    const exe = multipart([
      { type: 'text/plain', body: 'the invoice' },
      { type: 'application/octet-stream', name, body: Buffer.concat([Buffer.from('MZ'), Buffer.alloc(300)]) },
    ]);
    const r = await send(f, { ip: '127.0.0.1', helo: 'mx.sender.test', from: SENDER, raw: exe.toString() });
    assert.equal(r.code, 550, r.response);
    assert.match(r.response, /^550 5\.7\.1 Attachment refused by policy: .*\.exe/s);
    assert.match(r.response, /^[\t\x20-\x7e]+$/, JSON.stringify(r.response));
  });
});

describe('content scan past its limit, through the MX listener', () => {
  let f: OutboundFixture;
  before(async () => {
    f = await startSpamWorld({
      configure(c) {
        c.spam.scan.timeout_ms = 1; // no real scan of a 28 MB message finishes in a millisecond
      },
    });
    await f.app.spamScanner.ready();
  });
  after(() => f.stop());

  test('the message is delivered, scored CONTENT_SCAN_TIMEOUT, and not lost', async () => {
    const stored = async () =>
      (await mailbox(f, USER, 'INBOX')).length + (await mailbox(f, USER, 'Junk').catch(() => [])).length;
    const before = await stored();
    const raw = BIG.toString().replace('From: Someone', 'From: PayPal Security');
    const r = await send(f, { ip: '127.0.0.1', helo: 'mx.sender.test', from: SENDER, raw });
    assert.equal(r.code, 250, r.response);
    assert.equal(await stored(), before + 1); // in Junk: the impersonation and the failed scan add up
    const symbols = await verdictSymbols(f, USER);
    assert.equal(symbols.CONTENT_SCAN_TIMEOUT, 3, JSON.stringify(symbols));
    // The checks that read the scan found nothing (zero-score failures), rather than waiting for it.
    assert.ok('BAYES_FAIL' in symbols || 'BAYES_UNTRAINED' in symbols, JSON.stringify(symbols));
    // Phishing's From findings do not need the scan: they stand.
    assert.ok('PHISH_BRAND_IMPERSONATION' in symbols, JSON.stringify(symbols));
    assert.ok(!('PHISHING_FAIL' in symbols), JSON.stringify(symbols));
  });
});

describe('content scan the pipeline stopped waiting for, through the MX listener', () => {
  let f: OutboundFixture;
  before(async () => {
    f = await startSpamWorld({
      configure(c) {
        // A backtracking local rule keeps the one worker busy past the pipeline's budget (300 ms), well
        // before the scan's own limit (2 s): the pipeline, not the pool, gives up on the scan.
        c.spam.scan.workers = 1;
        c.spam.rules = ['LOCAL_SLOW body /^(a+)+$/ 1'];
        c.spam.timeout_ms = 300;
      },
    });
    await f.app.spamScanner.ready();
  });
  after(() => f.stop());

  test('the unfinished scan scores failure_score, not a zero-score timeout', async () => {
    const raw = multipart([
      { type: 'text/plain', body: `${'a'.repeat(40)}!` },
      { type: 'application/octet-stream', name: 'invoice.pdf.exe', body: Buffer.from('MZ\x90\x00') },
    ]);
    const r = await send(f, { ip: '127.0.0.1', helo: 'mx.sender.test', from: SENDER, raw: raw.toString() });
    assert.equal(r.code, 250, r.response); // the executable could not be judged: the failure score stands in
    const symbols = await verdictSymbols(f, USER);
    assert.equal(symbols.CONTENT_SCAN_TIMEOUT, 3, JSON.stringify(symbols));
    assert.equal(symbols.ATTACHMENTS_TIMEOUT, 0, JSON.stringify(symbols));
  });
});
