// A removed account's judgements leave sender reputation and the own digest store with it, on SQLite and
// PostgreSQL, over the wire: bob and carol move a campaign's copies into Junk with Python imaplib, which
// condemns the sending IP and the body's digest, and alice's next copy (nodemailer into the MX listener)
// scores REPUTATION_IP_BAD and DIGEST_SPAM; `petrel account remove bob` takes bob's votes back, so the next
// copy scores neither (carol's vote alone is below both minimums), while carol's vote stays counted.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
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
const IP = '127.0.0.71';

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
/** A copy of the campaign to `to`: the same body every time (one body digest), its own Message-ID. */
function copy(to: string): { raw: string; id: string } {
  const id = `winner-${++n}.${Date.now()}@prizes.example`;
  const raw =
    `From: "Prize Desk" <desk@prizes.example>\r\nTo: ${to}\r\nSubject: You are a winner\r\n` +
    `Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <${id}>\r\nMIME-Version: 1.0\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n\r\n' +
    'Congratulations, your address was drawn in our yearly prize draw and you have won a brand new\r\n' +
    'car, delivered free of charge to your door. To claim the prize please confirm your details and\r\n' +
    'pay the small registration fee on the page below before the end of the week, or it goes to the\r\n' +
    'next person on the list. Thousands of winners have already received theirs this season.\r\n\r\n' +
    'https://claim.prizes.example/now\r\n';
  return { raw, id };
}

const url = pgTestUrl();
for (const [backend, skip] of [
  ['sqlite', python.skip],
  ['postgres', python.skip ?? (url ? undefined : PG_SKIP_REASON)],
] as const) {
  describe(`a removed account's spam votes (${backend})`, { skip }, () => {
    let f: OutboundFixture;
    before(async () => {
      f = await startSpamWorld({
        backend,
        pgUrl: url,
        configure(c) {
          c.listeners.imap.enabled = true;
          // Two judgements make a reputation and a digest score; verdicts teach nothing here, so what the
          // symbols show is the users' votes alone.
          c.spam.reputation.min_observations = 2;
          c.spam.reputation.learn_verdicts = false;
          c.spam.digests.min_reports = 2;
        },
        async beforeServe(app) {
          for (const [user, pw] of Object.entries(PASSWORDS)) await app.directory.addAccount(user, pw);
        },
      });
    });
    after(() => f?.stop());

    const deliver = async (to: string) => {
      const c = copy(to);
      const r = await send(f, {
        ip: IP,
        helo: 'mail.prizes.example',
        from: 'desk@prizes.example',
        to: [to],
        raw: c.raw,
      });
      assert.ok(r.ok, r.response);
      return c.id;
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
    /** `petrel ARGS...` as an admin runs it beside the server, on its data directory and database. */
    const petrel = async (...args: string[]) => {
      const env: NodeJS.ProcessEnv = { ...process.env, PETREL_SERVER_DATA_DIR: f.server.dataDir };
      if (backend === 'postgres') {
        env.PETREL_STORE_BACKEND = 'postgres';
        env.PETREL_STORE_POSTGRES_URL = f.app.config.store.postgres_url;
      }
      const r = await run(process.execPath, [resolve('bin/petrel.js'), ...args], {
        env,
        cwd: f.server.dataDir,
        timeoutMs: 60000,
      });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return r.stdout;
    };
    /** The symbols of alice's copy that come from the votes. */
    const voted = async () => {
      await deliver(USER);
      const { symbols } = await newestVerdict(f, USER);
      return Object.keys(symbols)
        .filter((s) => /^(REPUTATION_(IP|NET)_BAD|DIGEST_SPAM|FUZZY_SPAM)$/.test(s))
        .sort();
    };

    test('`petrel account remove` takes the account’s reputation and digest votes back', {
      timeout: 180000,
    }, async () => {
      await moveToJunk(BOB, await deliver(BOB));
      await moveToJunk(CAROL, await deliver(CAROL));
      assert.deepEqual(await voted(), ['DIGEST_SPAM', 'REPUTATION_IP_BAD', 'REPUTATION_NET_BAD']);

      await petrel('account', 'remove', BOB);
      assert.deepEqual(await voted(), [], "bob's votes outlived his account");
      // Carol's vote is still counted: one report of the body, one user judgement (weight 5) of the IP.
      const [ip] = await f.app.store.reputation.lookup([{ kind: 'ip', key: IP }], Date.now(), 14 * DAY);
      assert.ok(ip && ip.spam > 4.9 && ip.spam <= 5 && ip.count > 0.99 && ip.count <= 1, JSON.stringify(ip));
      assert.ok(!(await f.app.store.getAccount(BOB)));
      const file = join(f.server.dataDir, 'copy.eml');
      writeFileSync(file, copy(USER).raw);
      assert.match(await petrel('spam', 'digests', 'show', file), /^ {2}body:[0-9a-f]{40} spam 1 ham 0 last /m);
    });
  });
}
