// Learning from a user's judgement reads the message through the same content scan as the pipeline (the
// server's scan workers): the tokens Bayes learns are those a scan in place gives, and a message whose
// scan cannot finish is not learned (the judgement's other effects stand; the caller logs the failure).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { defaults } from '../../src/config/load.ts';
import { parseMessage } from '../../src/mime/parse.ts';
import { BayesClassifier } from '../../src/spam/bayes/classifier.ts';
import { bayesSink } from '../../src/spam/bayes/sink.ts';
import { ContentScanPool } from '../../src/spam/scan/pool.ts';
import { ScanFailed, scanOptions } from '../../src/spam/scan/scanner.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';

const OPTS = scanOptions(defaults());
let dir: string;
let store: Awaited<ReturnType<typeof openSqliteStore>>;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'petrel-feedback-scan-'));
  store = await openSqliteStore({ path: join(dir, 'petrel.db') });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const mail = (subject: string, body: string) =>
  Buffer.from(`From: x@y.example\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@y>\r\n\r\n${body}\r\n`);

test('a Junk judgement learns the tokens of the scan workers', async () => {
  const classifier = new BayesClassifier(store.bayes, { minLearns: 1, accountMinLearns: 1, accountWeight: 0.5 });
  const pool = new ContentScanPool({ workers: 1, timeoutMs: 30_000, maxMemoryMb: 256, scan: OPTS });
  try {
    await pool.ready();
    const raw = mail('cheap', 'cheap pills online pharmacy http://pills.example/buy now');
    await bayesSink(classifier, pool).learn({ class: 'spam', source: 'user', accountId: 7, raw });
    assert.equal((await store.bayes.totals(7)).spam, 1);
    const tokens = classifier.tokens(raw, parseMessage(raw));
    const counts = await store.bayes.counts(7, tokens);
    assert.equal(counts.size, new Set(tokens).size, 'every token of the message was learned');
  } finally {
    await pool.close();
  }
});

test('a message whose scan cannot finish is not learned', async () => {
  const classifier = new BayesClassifier(store.bayes, { minLearns: 1, accountMinLearns: 1, accountWeight: 0.5 });
  const pool = new ContentScanPool({ workers: 1, timeoutMs: 1, maxMemoryMb: 256, scan: OPTS });
  try {
    await pool.ready();
    const raw = mail('huge', 'a. '.repeat(400_000));
    await assert.rejects(
      bayesSink(classifier, pool).learn({ class: 'spam', source: 'user', accountId: 8, raw }),
      (e: unknown) => e instanceof ScanFailed && e.timedOut,
    );
    assert.equal((await store.bayes.totals(8)).spam, 0);
  } finally {
    await pool.close();
  }
});
