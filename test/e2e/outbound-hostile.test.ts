// The outbound client against a broken or hostile remote MTA: odd reply codes, mixed multi-line codes,
// overlong lines, replies out of count. None may count a message as delivered that the server did not take.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { firstDeferral, type OutboundFixture, startOutbound, waitFor } from '../helpers/outbound.ts';

const ZONES = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
  'mx.remote.test': { A: ['127.0.0.2'] },
};

/** The first recorded attempt of a message: deferred with a 4.x.x status, neither sent nor bounced. */
async function deferred(f: OutboundFixture, id: string) {
  const r = await firstDeferral(f, id, 15000);
  assert.match(r.lastStatus ?? '', /^4\./);
  return r;
}

// RFC 5321 section 4.2.1: the class (first digit) carries the meaning. Postfix takes any 2xx to MAIL and
// RCPT as success; a 2xx other than 250/251 must never end the transaction as "sent" without the content.
for (const [verb, odd] of [
  ['MAIL', '252 2.1.0 sender ok, I guess'],
  ['RCPT', '252 2.1.5 cannot verify, will accept'],
] as const) {
  test(`a ${odd.slice(0, 3)} to ${verb} is success: the content is sent, not skipped and counted as delivered`, async () => {
    const f = await startOutbound({ zones: ZONES });
    try {
      const mta = await f.mta('127.0.0.2', { rewrite: (cmd) => (cmd.startsWith(verb) ? odd : undefined) });
      const id = await f.send(['bob@remote.test'], { subject: `odd ${verb}` });
      await waitFor(async () => (await f.app.store.queue.get(id))?.recipients[0].attempts !== 0, 10000, 'an attempt');
      await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 10000, 'the queue to finish');
      assert.equal(mta.received().length, 1, 'the server received the message it is recorded as having');
    } finally {
      await f.stop();
    }
  });
}

// Only DATA may be answered 354 (RFC 5321 section 4.3.2); a 3xx elsewhere is a confused server, not a
// permanent refusal: deferred and retried, no bounce.
for (const [verb, caps] of [
  ['MAIL', undefined],
  ['RCPT', undefined],
  ['BDAT', ['PIPELINING', '8BITMIME', 'SIZE 10240000', 'ENHANCEDSTATUSCODES', 'CHUNKING']],
] as const) {
  test(`a 354 to ${verb} defers the message: no bounce`, async () => {
    const f = await startOutbound({ zones: ZONES });
    try {
      await f.mta('127.0.0.2', {
        capabilities: caps ? [...caps] : undefined,
        script: (cmd) => (cmd.startsWith(verb) ? '354 go ahead' : undefined),
      });
      const id = await f.send(['bob@remote.test'], { subject: `354 to ${verb}` });
      await deferred(f, id);
      assert.deepEqual(await f.inbox('alice@example.com'), [], 'no DSN');
    } finally {
      await f.stop();
    }
  });
}

// RFC 5321 section 4.2.1: every line of a multi-line reply has the same code. "250-" then "550 " to the
// final dot is no acceptance: which one the server meant is unknown, so the message waits.
test('a multi-line reply with mixed codes to the final dot is not a delivery', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', {
      script: (cmd) => (cmd === '.' ? '250-2.0.0 looks fine\r\n550 5.7.1 rejected after all' : undefined),
    });
    const id = await f.send(['bob@remote.test'], { subject: 'mixed codes' });
    const r = await deferred(f, id);
    assert.match(r.lastReply ?? '', /malformed|mixed/i);
  } finally {
    await f.stop();
  }
});

// RFC 5321 section 4.5.3.1.5 limits a reply line to 512 octets; the client allows more but not without
// bound, whether the line ends or not.
test('a greeting line of 20000 octets (CRLF-terminated) ends the session: deferred', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const mta = await f.mta('127.0.0.2', { greeting: `220 ${'x'.repeat(20000)}` });
    const id = await f.send(['bob@remote.test'], { subject: 'long greeting' });
    const r = await deferred(f, id);
    assert.match(r.lastReply ?? '', /reply line too long/);
    assert.equal(mta.received().length, 0);
  } finally {
    await f.stop();
  }
});

// RFC 2920 section 3.1: replies come in the order of the commands, one each. A server sending an extra
// reply shifts every later one: the stale "250" would be read as the reply to the content. The session ends.
test('an extra reply (out of count) is not taken as the reply to the content', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'SIZE 10240000', 'ENHANCEDSTATUSCODES', 'CHUNKING'],
      script: (cmd) =>
        cmd.startsWith('RCPT') ? '250 2.1.5 ok\r\n250 2.0.0 queued' : cmd === '.' ? '554 5.7.1 refused' : undefined,
    });
    const id = await f.send(['bob@remote.test'], { subject: 'out of count' });
    const r = await deferred(f, id);
    assert.match(r.lastReply ?? '', /reply nobody asked for|more reply lines/);
    assert.equal(mta.received().length, 0);
  } finally {
    await f.stop();
  }
});

// RFC 5321 section 4.1.1.4: a server that closes after the final dot, before replying, may or may not
// have taken the message (RFC 1047): deferred, never counted as delivered (a duplicate is the lesser harm).
test('the server closes after the final dot without a reply: deferred, not delivered', async () => {
  const f = await startOutbound({ zones: ZONES, configure: (c) => (c.queue.retry_schedule = ['1h']) });
  try {
    const mta = await f.mta('127.0.0.2', {
      script: (cmd) => {
        if (cmd !== '.') return undefined;
        // Every connection goes before the reply is written: the 250 below never reaches the client.
        void mta.stop();
        return '250 2.0.0 never sent';
      },
    });
    const id = await f.send(['bob@remote.test'], { subject: 'dropped at the dot' });
    const r = await deferred(f, id);
    assert.equal(r.lastStatus, '4.4.2');
  } finally {
    await f.stop();
  }
});

// A 421 in the middle of the RCPTs (RFC 5321 section 3.8): the recipients already accepted and those not
// answered are all deferred; nothing counts as sent.
test('a 421 to the second RCPT defers every recipient', async () => {
  const f = await startOutbound({ zones: ZONES, configure: (c) => (c.queue.retry_schedule = ['1h']) });
  try {
    const mta = await f.mta('127.0.0.2', {
      script: (cmd) => (cmd.startsWith('RCPT TO:<b2@') ? '421 4.3.2 going away' : undefined),
    });
    const id = await f.send(['b1@remote.test', 'b2@remote.test', 'b3@remote.test'], { subject: '421 mid-RCPT' });
    const e = await waitFor(
      async () => {
        const x = await f.app.store.queue.get(id);
        return x?.recipients.every((r) => r.attempts >= 1) && x;
      },
      10000,
      'the attempt',
    );
    assert.deepEqual(
      e.recipients.map((r) => [r.status, r.lastStatus]),
      [
        ['queued', '4.3.2'],
        ['queued', '4.3.2'],
        ['queued', '4.3.2'],
      ],
    );
    assert.equal(mta.received().length, 0);
  } finally {
    await f.stop();
  }
});

// RFC 1870 section 6.1: a message larger than the server's SIZE is not offered at all; it bounces with
// 5.3.4 as Postfix bounces it. AUTH offered by an MX is no business of a relay (never used).
test('SIZE smaller than the message: 5.3.4 bounce without MAIL; AUTH offered is ignored', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'SIZE 1000', 'ENHANCEDSTATUSCODES', 'AUTH PLAIN LOGIN'],
    });
    const id = await f.send(['bob@remote.test'], { subject: 'too big', body: `${'z'.repeat(70)}\r\n`.repeat(50) });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      10000,
      'the DSN',
    );
    assert.match(dsn, /Status: 5\.3\.4/);
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the queue record to go');
    const verbs = mta.sessions.flatMap((s) => s.commands.map((c) => c.split(' ')[0].toUpperCase()));
    assert.ok(!verbs.includes('MAIL'), `no MAIL: ${verbs}`);
    // A small one goes, without AUTH.
    await f.send(['bob@remote.test'], { subject: 'small' });
    await waitFor(() => mta.received().length === 1, 10000, 'the small message');
    assert.ok(!mta.sessions.some((s) => s.commands.some((c) => /^AUTH/i.test(c))), 'AUTH never sent');
  } finally {
    await f.stop();
  }
});
