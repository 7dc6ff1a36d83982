// The content scan queue's hard cap (spam.scan.max_queue) over SMTP: with one worker held by a scan (an
// admin's pattern that backtracks on the message) and no room to wait (max_queue 0), a message from
// another session is deferred with 451 4.7.1 at once rather than queued behind it; once the worker is free
// (the held scan stopped at its time limit), the sender's retry is scanned and delivered.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { transaction } from '../helpers/smtp-client.ts';
import { message, newestVerdict, startSpamWorld, USER } from './fixture.ts';

let f: OutboundFixture;

before(async () => {
  f = await startSpamWorld({
    configure(c) {
      c.spam.scan.workers = 1;
      c.spam.scan.max_queue = 0;
      c.spam.rules = ['LOCAL_SLOW body /^(a+)+$/ 1'];
      // The held scan ends at its own limit, which frees the worker for the retry; the pipeline waits longer.
      c.spam.scan.timeout_ms = 8000;
      c.spam.timeout_ms = 30_000;
    },
  });
  await f.app.spamScanner.ready();
});
after(() => f?.stop());

const deliver = (ip: string, subject: string, body?: string) =>
  transaction(f.server.ports.smtp, {
    ip,
    helo: 'mail.sender.test',
    from: 'a@sender.test',
    to: [USER],
    data: message('a@sender.test', subject, '', body),
  });

test('a scan that finds the worker busy and no room in the queue defers the message; the retry goes through', {
  timeout: 60_000,
}, async () => {
  // Session A: its scan takes the one worker and keeps it (exponential backtracking, until timeout_ms).
  const held = deliver('127.0.0.11', 'held', `${'a'.repeat(40)}!\r\n`);
  for (let i = 0; i < 400 && f.app.spamScanner.load().running === 0; i++) await new Promise((r) => setTimeout(r, 25));
  assert.deepEqual(f.app.spamScanner.load(), { running: 1, queued: 0, idle: 0 }, 'the held scan is running');

  // Session B meanwhile: deferred, not queued.
  const busy = await deliver('127.0.0.12', 'while busy');
  assert.equal(busy.code, 451, busy.raw);
  assert.match(busy.raw, /^451 4\.7\.1 Server busy, try again later/);
  assert.deepEqual(f.app.spamScanner.load(), { running: 1, queued: 0, idle: 0 }, 'nothing was left waiting');

  // A's scan is stopped at its limit (its message delivered, scored as unscanned); B retries and is scanned.
  const a = await held;
  assert.equal(a.code, 250, a.raw);
  assert.equal((await newestVerdict(f, USER)).symbols.CONTENT_SCAN_TIMEOUT, 3);
  // The stopped worker's replacement starts (until it is ready, a scan would have no worker either).
  for (let i = 0; i < 400 && f.app.spamScanner.load().idle === 0; i++) await new Promise((r) => setTimeout(r, 25));
  const retry = await deliver('127.0.0.12', 'retry');
  assert.equal(retry.code, 250, retry.raw);
  const { symbols } = await newestVerdict(f, USER);
  assert.equal(symbols.CONTENT_SCAN_BUSY, undefined, JSON.stringify(symbols));
  assert.equal(symbols.CONTENT_SCAN_TIMEOUT, undefined, JSON.stringify(symbols));
});
