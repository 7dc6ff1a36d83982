// Reports in the own digest store fade as sender reputation's evidence does (spam.digests.half_life_days),
// on SQLite and PostgreSQL, over the wire: bob and carol moving a campaign's copies into Junk today (Python
// imaplib) make alice's next copy score DIGEST_SPAM; the same two reports of another campaign a month ago
// (two half-lives and more: recorded at a past `now`, through the store's own clock) leave a quarter of a
// report or less each, and alice's copy of it scores nothing. The counts used to stay whole until pruned.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMessage } from '../../src/mime/parse.ts';
import { feedbackScan, inlineScanner } from '../../src/spam/scan/scanner.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { run } from '../helpers/run.ts';
import { newestVerdict, send, startSpamWorld, USER } from './fixture.ts';

const python = peer('python3', 'python3');
const DAY = 86_400_000;
const BOB = 'bob@example.com';
const CAROL = 'carol@example.com';
const PASSWORDS: Record<string, string> = { [BOB]: 'bob-secret-pw', [CAROL]: 'carol-secret-pw' };

// PORT USER PASS MESSAGE_ID: moves the message from INBOX into Junk.
const MOVE_TO_JUNK = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
M.login(sys.argv[2], sys.argv[3])
M.select('INBOX')
typ, data = M.uid('SEARCH', 'HEADER', 'Message-ID', sys.argv[4])
uid = data[0].split()[0].decode()
typ, data = M.uid('MOVE', uid, 'Junk')
assert typ == 'OK', (typ, data)
M.logout()
`;

let n = 0;
/** A copy of campaign `name` to `to`: the same body for every copy of it (one body digest). */
function copy(name: string, to: string): { raw: string; id: string } {
  const id = `${name}-${++n}.${Date.now()}@offers.example`;
  const raw =
    `From: "Offers" <news@offers.example>\r\nTo: ${to}\r\nSubject: ${name} this week only\r\n` +
    `Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n\r\n' +
    `Our ${name} offer is back for a few days only: order before Sunday and pay half the usual price,\r\n` +
    'with free delivery and nothing to pay for the first three months. Our customers saved thousands\r\n' +
    'last season, and the stock is limited, so do not wait until your neighbours have taken it all.\r\n\r\n' +
    `https://shop.offers.example/${name}\r\n`;
  return { raw, id };
}

const url = pgTestUrl();
for (const [backend, skip] of [
  ['sqlite', python.skip],
  ['postgres', python.skip ?? (url ? undefined : PG_SKIP_REASON)],
] as const) {
  describe(`digest reports decay (${backend})`, { skip }, () => {
    let f: OutboundFixture;
    before(async () => {
      f = await startSpamWorld({
        backend,
        pgUrl: url,
        configure(c) {
          c.listeners.imap.enabled = true;
          c.spam.digests.min_reports = 2;
          // The exact digest alone speaks here.
          c.spam.digests.fuzzy = false;
        },
        async beforeServe(app) {
          for (const [user, pw] of Object.entries(PASSWORDS)) await app.directory.addAccount(user, pw);
        },
      });
    });
    after(() => f?.stop());

    const deliver = async (raw: string, to: string) => {
      const r = await send(f, {
        ip: '127.0.0.72',
        helo: 'mail.offers.example',
        from: 'news@offers.example',
        to: [to],
        raw,
      });
      assert.ok(r.ok, r.response);
    };
    const moveToJunk = async (user: string, messageId: string) => {
      const r = await run(
        python.path!,
        ['-c', MOVE_TO_JUNK, String(f.server.ports.imap), user, PASSWORDS[user], `<${messageId}>`],
        { timeoutMs: 30000 },
      );
      assert.equal(r.status, 0, r.stdout + r.stderr);
      await f.app.spamFeedback.settled();
    };
    /** The DIGEST_* symbols of alice's copy of campaign `name`. */
    const digestSymbols = async (name: string) => {
      await deliver(copy(name, USER).raw, USER);
      const { symbols } = await newestVerdict(f, USER);
      return Object.entries(symbols)
        .filter(([s]) => s.startsWith('DIGEST_'))
        .map(([s, score]) => `${s}=${score}`);
    };

    test('two reports today score DIGEST_SPAM; two a month old no longer do', { timeout: 180000 }, async () => {
      // Today, over IMAP.
      for (const user of [BOB, CAROL]) {
        const c = copy('fresh', user);
        await deliver(c.raw, user);
        await moveToJunk(user, c.id);
      }
      assert.deepEqual(await digestSymbols('fresh'), ['DIGEST_SPAM=5']);

      // A month ago (about two half-lives of 14 days), the same two users, as the digest sink reports them.
      const raw = Buffer.from(copy('stale', BOB).raw);
      const scanner = inlineScanner(f.app.config);
      const { digests } = await feedbackScan(
        { class: 'spam', source: 'user', accountId: null, raw, parsed: parseMessage(raw) },
        scanner,
      );
      assert.ok(digests.some((d) => d.startsWith('body:')));
      for (const user of [BOB, CAROL]) {
        const acc = await f.app.store.getAccount(user);
        await f.app.store.reputation.reportDigests(digests, 'spam', Date.now() - 30 * DAY, 14 * DAY, acc!.id);
      }
      assert.deepEqual(await digestSymbols('stale'), [], 'month-old reports weighed as much as fresh ones');

      // `petrel spam digests show` gives the weight left: two reports at 2^(-30/14) each.
      const file = join(f.server.dataDir, 'stale.eml');
      writeFileSync(file, copy('stale', USER).raw);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        PETREL_SERVER_DATA_DIR: f.server.dataDir,
        PETREL_SPAM_DIGESTS_MIN_REPORTS: '2',
        PETREL_SPAM_DIGESTS_FUZZY: 'false',
      };
      if (backend === 'postgres') {
        env.PETREL_STORE_BACKEND = 'postgres';
        env.PETREL_STORE_POSTGRES_URL = f.app.config.store.postgres_url;
      }
      const r = await run(process.execPath, [resolve('bin/petrel.js'), 'spam', 'digests', 'show', file], {
        env,
        cwd: f.server.dataDir,
        timeoutMs: 60000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /the digest check says nothing/);
      assert.match(r.stdout, /^ {2}body:[0-9a-f]{40} spam 0\.45 ham 0 last /m);
    });
  });
}
