// Greylisting over the wire: the first attempt of a triplet gets 451 4.7.1, a retry before the delay
// too, a retry after it is accepted; after two passed triplets the client network is auto-whitelisted
// and a new triplet goes straight through. State lives in the store (shared by every node). Mail whose
// score is below spam.greylist.min_score (DMARC-authenticated) is not delayed, unless that is -100.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { mailbox, message, publishKey, send, sign, startSpamWorld, USER, verdictSymbols } from './fixture.ts';

const DELAY_MS = 1200;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function attempt(f: OutboundFixture, from: string, subject: string) {
  return send(f, { ip: '127.0.0.30', helo: 'mail.grey.test', from, raw: message(from, subject) });
}

for (const backend of ['sqlite', 'postgres'] as const) {
  const url = process.env.PETREL_TEST_PG_URL;
  test(`greylisting: defer, retry too early, pass after the delay, auto-whitelist (${backend})`, {
    skip: backend === 'postgres' && !url ? 'PETREL_TEST_PG_URL is not set' : undefined,
    timeout: 60000,
  }, async () => {
    const f = await startSpamWorld({
      backend,
      pgUrl: url,
      configure(c) {
        c.spam.greylist.enabled = true;
        c.spam.greylist.delay = `${DELAY_MS}ms`;
        c.spam.greylist.retry_window = '1h';
        c.spam.greylist.auto_whitelist_after = 2;
      },
    });
    try {
      const first = await attempt(f, 'a@grey.test', 'first');
      assert.equal(first.code, 451);
      assert.match(first.response, /^451 4\.7\.1 Greylisted/);
      assert.equal((await attempt(f, 'a@grey.test', 'too early')).code, 451);
      await sleep(DELAY_MS + 200);
      const retry = await attempt(f, 'a@grey.test', 'retried');
      assert.ok(retry.ok, retry.response);

      // A second triplet (another sender) waits too, then passes: the network has passed twice.
      assert.equal((await attempt(f, 'b@grey.test', 'second sender')).code, 451);
      await sleep(DELAY_MS + 200);
      assert.ok((await attempt(f, 'b@grey.test', 'second sender retried')).ok);
      assert.equal((await f.app.store.spam.getClient('127.0.0.0/24'))?.passes, 2);

      // Auto-whitelisted: a new triplet is accepted at once.
      const fresh = await attempt(f, 'c@grey.test', 'whitelisted');
      assert.ok(fresh.ok, fresh.response);
      const subjects = (await mailbox(f, USER, 'INBOX')).map((m) => /Subject: (.*)\r\n/.exec(m)![1]);
      assert.deepEqual(subjects, ['retried', 'second sender retried', 'whitelisted']);
      const refusals = await f.app.store.spam.recentRefusals(10);
      assert.equal(refusals.filter((r) => r.action === 'greylist').length, 3);
    } finally {
      await f.stop();
    }
  });
}

test('an allow-listed sender is not greylisted; a stranger from the same run still is', {
  timeout: 60000,
}, async () => {
  const f = await startSpamWorld({
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = '1h';
    },
  });
  try {
    await f.app.store.spam.addListEntry({
      kind: 'allow',
      accountId: null,
      entry: '127.0.0.31',
      note: '',
      createdAt: Date.now(),
    });
    const trusted = await send(f, {
      ip: '127.0.0.31',
      helo: 'mail.grey.test',
      from: 'a@grey.test',
      raw: message('a@grey.test', 'trusted'),
    });
    assert.ok(trusted.ok, trusted.response);
    assert.equal((await attempt(f, 'a@grey.test', 'stranger')).code, 451);
    assert.deepEqual(
      (await mailbox(f, USER, 'INBOX')).map((m) => /Subject: (.*)\r\n/.exec(m)![1]),
      ['trusted'],
    );
  } finally {
    await f.stop();
  }
});

/** A world greylisting with `minScore`, whose DNS lets 127.0.0.32 send for signed.test (SPF, DKIM, DMARC). */
async function signedWorld(minScore?: number) {
  const f = await startSpamWorld({
    zones: {
      'signed.test': { TXT: [['v=spf1 ip4:127.0.0.32 -all']] },
      '_dmarc.signed.test': { TXT: [['v=DMARC1; p=none']] },
    },
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = '1h';
      if (minScore !== undefined) c.spam.greylist.min_score = minScore;
    },
  });
  const key = publishKey(f, 'signed.test', 's1');
  const sendSigned = async () =>
    send(f, {
      ip: '127.0.0.32',
      helo: 'mail.signed.test',
      from: 'news@signed.test',
      raw: await sign(message('news@signed.test', 'authenticated'), key),
    });
  return { f, sendSigned };
}

test('mail that DMARC vouches for (a negative score) is not delayed; unsigned mail from the same server is', {
  timeout: 60000,
}, async () => {
  const { f, sendSigned } = await signedWorld();
  try {
    const signed = await sendSigned();
    assert.ok(signed.ok, signed.response);
    const symbols = await verdictSymbols(f, USER);
    assert.ok(symbols.DMARC_PASS < 0 && 'GREYLISTED' in symbols, JSON.stringify(symbols));

    const unsigned = await send(f, {
      ip: '127.0.0.32',
      helo: 'mail.signed.test',
      from: 'other@elsewhere.test',
      raw: message('other@elsewhere.test', 'unsigned'),
    });
    assert.equal(unsigned.code, 451, unsigned.response);
  } finally {
    await f.stop();
  }

  // With min_score -100, every unknown triplet waits, as with Postgrey.
  const strict = await signedWorld(-100);
  try {
    const signed = await strict.sendSigned();
    assert.equal(signed.code, 451, signed.response);
  } finally {
    await strict.f.stop();
  }
});

test('a copy delivered because a co-recipient was spared greylisting is filed by its score: Junk, not the INBOX', {
  timeout: 60000,
}, async () => {
  const f = await startSpamWorld({
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = '1h';
      c.spam.weights = ['HELO_NOT_FQDN=7']; // this stranger scores past junk_score (6)
    },
  });
  try {
    const BOB = 'bob@example.com';
    await f.app.directory.addAccount(BOB, 'pw-bob-123456');
    const bob = (await f.app.store.getAccount(BOB))!;
    // Bob (only Bob) trusts the client's address: his copy is not delayed, so the message is taken now.
    await f.app.store.spam.addListEntry({
      kind: 'allow',
      accountId: bob.id,
      entry: '127.0.0.40',
      note: '',
      createdAt: Date.now(),
    });
    const r = await send(f, {
      ip: '127.0.0.40',
      helo: 'localhost',
      from: 'z@spam.test',
      to: [USER, BOB],
      raw: message('z@spam.test', 'junky'),
    });
    assert.ok(r.ok, r.response);
    const inbox = (await mailbox(f, USER, 'INBOX')).filter((m) => m.includes('Subject: junky'));
    const junk = (await mailbox(f, USER, 'Junk')).filter((m) => m.includes('Subject: junky'));
    assert.equal(inbox.length, 0, 'alice: not in the INBOX');
    assert.equal(junk.length, 1, 'alice: in Junk');
    assert.match(junk[0], /\r\nX-Spam-Flag: YES\r\n/);
    // The verdict stored with her copy says what happened to it.
    const acc = (await f.app.store.getAccount(USER))!;
    const mb = (await f.app.store.getMailbox(acc.id, 'Junk'))!;
    const [copy] = await f.app.store.listMessages(mb.id);
    const [row] = await f.app.store.spam.verdictsFor(acc.id, copy.id);
    assert.equal(row.action, 'junk');
    // Bob asked for this sender: his copy is in his INBOX.
    assert.equal((await mailbox(f, BOB, 'INBOX')).filter((m) => m.includes('Subject: junky')).length, 1);
  } finally {
    await f.stop();
  }
});

test('a sender whose address changes per message (BATV tag, SRS hash, VERP number) is one triplet', {
  timeout: 60000,
}, async () => {
  const f = await startSpamWorld({
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = `${DELAY_MS}ms`;
      c.spam.greylist.auto_whitelist_after = 0; // each triplet on its own
    },
  });
  try {
    // First attempts, then retries of the same senders whose addresses have moved on, as Postgrey sees them.
    const senders: [string, string][] = [
      ['prvs=1123abcdef=news@grey.test', 'prvs=1124fedcba=news@grey.test'],
      ['SRS0=abcd=AB=grey.test=news@fwd.test', 'SRS0=wxyz=AC=grey.test=news@fwd.test'],
      ['bounces-1001-alice=example.com@list.test', 'bounces-1002-alice=example.com@list.test'],
    ];
    for (const [first] of senders) assert.equal((await attempt(f, first, 'first')).code, 451, first);
    await sleep(DELAY_MS + 200);
    for (const [, retry] of senders) {
      const r = await attempt(f, retry, 'retried');
      assert.ok(r.ok, `${retry}: ${r.response}`);
    }
    // Another sender of the same domain is another triplet.
    assert.equal((await attempt(f, 'other@grey.test', 'other')).code, 451);
  } finally {
    await f.stop();
  }
});

test('an auto-whitelisted network that keeps sending stays whitelisted past `lifetime` from its last pass', {
  timeout: 60000,
}, async () => {
  const LIFETIME_MS = 3000;
  const f = await startSpamWorld({
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = '300ms';
      c.spam.greylist.lifetime = `${LIFETIME_MS}ms`;
      c.spam.greylist.auto_whitelist_after = 1;
    },
  });
  try {
    assert.equal((await attempt(f, 'a@grey.test', 'first')).code, 451);
    await sleep(400);
    assert.ok((await attempt(f, 'a@grey.test', 'retried')).ok); // the network is whitelisted from now on
    await sleep(LIFETIME_MS - 1000);
    const whitelisted = await attempt(f, 'b@grey.test', 'still sending');
    assert.ok(whitelisted.ok, whitelisted.response);
    await sleep(1500);
    // The pass is now older than the lifetime, the last message is not: the maintenance the filter runs
    // hourly (InboundFilter.pruneNow: rows not seen within the lifetime) keeps the network.
    await f.app.store.spam.prune(Date.now() - LIFETIME_MS, 0);
    const later = await attempt(f, 'c@grey.test', 'a new sender later');
    assert.ok(later.ok, later.response);
  } finally {
    await f.stop();
  }
});

test('mail to postmaster@ and abuse@ (spam.exempt_recipients) is not greylisted, as Postgrey spares them', {
  timeout: 60000,
}, async () => {
  const f = await startSpamWorld({
    configure(c) {
      c.spam.greylist.enabled = true;
      c.spam.greylist.delay = '1h';
      c.smtp.postmaster = USER; // example.com has no postmaster of its own: Alice reads it
    },
  });
  try {
    // A complaint about spam from a stranger's server: taken at once (RFC 2142 addresses).
    const r = await send(f, {
      ip: '127.0.0.33',
      helo: 'mail.grey.test',
      from: 'reporter@grey.test',
      to: ['postmaster@example.com'],
      raw: message('reporter@grey.test', 'complaint'),
    });
    assert.ok(r.ok, r.response);
    // The same stranger to a user waits.
    assert.equal((await attempt(f, 'reporter@grey.test', 'to alice')).code, 451);
  } finally {
    await f.stop();
  }
});
