// Deliveries through two `petrel serve` processes on one PostgreSQL (PETREL_TEST_PG_URL) at once: SMTP
// and LMTP, one mailbox and several recipients in either order, small and large messages. Every message
// gets its 250 (a transaction PostgreSQL aborts as a deadlock or serialization victim is run again, never
// turned into a refusal), is stored once, with UIDs unique and increasing, and reads back whole on the
// other node (the blobs are shared, as the README says a cluster needs).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawImap } from '../helpers/imap-client.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { type Cluster, startCluster } from './cluster.ts';

const url = pgTestUrl();
const USERS = ['u1', 'u2', 'u3'];
let cl: Cluster;

before(async () => {
  if (!url) return;
  cl = await startCluster(url, 2, {
    env: { PETREL_LISTENERS_LMTP_ENABLED: 'true' },
    seed: async (app) => {
      await app.directory.addDomain('example.com');
      for (const u of USERS) await app.directory.addAccount(`${u}@example.com`, 'secret');
    },
  });
});
after(() => cl?.stop());

function message(id: string, body = 'hello\r\n'): string {
  return (
    `From: sender@remote.test\r\nTo: u1@example.com\r\nSubject: ${id}\r\nMessage-ID: <${id}@remote.test>\r\n` +
    `Date: Mon, 05 Jan 2026 10:00:00 +0000\r\n\r\n${body}`
  );
}

/** One connection sending `n` messages, each to the recipients `rcpts(i)`; the replies to the end of data. */
async function sender(port: number, lmtp: boolean, tag: string, n: number, rcpts: (i: number) => string[]) {
  const c = await RawSmtp.open(port);
  const codes: string[] = [];
  try {
    await c.expect(220);
    await c.expect(250, `${lmtp ? 'LHLO' : 'EHLO'} cluster.test`);
    for (let i = 0; i < n; i++) {
      await c.expect(250, 'MAIL FROM:<sender@remote.test>');
      const to = rcpts(i);
      for (const r of to) await c.expect(250, `RCPT TO:<${r}>`);
      await c.expect(354, 'DATA');
      c.write(`${message(`${tag}-${i}`)}.\r\n`);
      // LMTP answers once per recipient (RFC 2033 section 4.2).
      for (let k = 0; k < (lmtp ? to.length : 1); k++) codes.push(`${(await c.read(15000)).code}`);
    }
    await c.cmd('QUIT').catch(() => {});
  } finally {
    c.close();
  }
  return codes;
}

describe('deliveries through two nodes at once', { skip: url ? undefined : PG_SKIP_REASON }, () => {
  test('SMTP and LMTP on both nodes, recipients in either order: every message 250, stored once, UIDs increasing', async () => {
    const N = 25;
    const forward = (i: number) =>
      i % 2 ? ['u1@example.com', 'u2@example.com', 'u3@example.com'] : ['u1@example.com'];
    const backward = (i: number) =>
      i % 2 ? ['u3@example.com', 'u2@example.com', 'u1@example.com'] : ['u1@example.com'];
    const [a, b] = cl.nodes;
    const results = await Promise.all([
      sender(a.ports.smtp, false, 'a-smtp', N, forward),
      sender(b.ports.smtp, false, 'b-smtp', N, backward),
      sender(a.ports.lmtp, true, 'a-lmtp', N, backward),
      sender(b.ports.lmtp, true, 'b-lmtp', N, forward),
    ]);
    assert.deepEqual(
      results.flat().filter((c) => c !== '250'),
      [],
    );
    const { c } = await RawImap.open(a.ports.imap);
    try {
      await c.cmd('LOGIN u1@example.com secret');
      const sel = await c.cmd('SELECT INBOX');
      assert.ok(sel.lines.includes(`* ${4 * N} EXISTS`), sel.raw);
      const f = await c.cmd('FETCH 1:* (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
      const uids = f.lines.map((l) => Number(/UID (\d+)/.exec(l)![1]));
      for (let i = 1; i < uids.length; i++) assert.ok(uids[i] > uids[i - 1]);
      const subjects = f.lines.map((l) => /Subject: (\S+)/.exec(l)![1]);
      assert.equal(new Set(subjects).size, 4 * N);
    } finally {
      c.close();
    }
  });

  test('a message over blobs.inline_max delivered through node B is read whole on node A', async () => {
    const big = message('big', `${'y'.repeat(76)}\r\n`.repeat(4000));
    const s = await RawSmtp.open(cl.nodes[1].ports.lmtp);
    try {
      await s.expect(220);
      await s.expect(250, 'LHLO cluster.test');
      await s.expect(250, 'MAIL FROM:<sender@remote.test>');
      await s.expect(250, 'RCPT TO:<u2@example.com>');
      await s.expect(354, 'DATA');
      assert.equal((await s.cmd(`${big}.`, 15000)).code, 250);
    } finally {
      s.close();
    }
    const { c } = await RawImap.open(cl.nodes[0].ports.imap);
    try {
      await c.cmd('LOGIN u2@example.com secret');
      await c.cmd('SELECT INBOX');
      const r = await c.cmd('UID SEARCH SUBJECT big');
      const uid = r.lines[0].split(' ')[2];
      const f = await c.cmd(`UID FETCH ${uid} BODY.PEEK[TEXT]`, 15000);
      assert.match(f.tagged, /OK/);
      assert.equal(/\{(\d+)\}/.exec(f.lines[0])![1], String(78 * 4000));
    } finally {
      c.close();
    }
  });
});
