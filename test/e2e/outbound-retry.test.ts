// Retries, bounces and DSNs end to end: a scripted MTA defers, refuses or accepts; the local sender's
// INBOX receives the multipart/report (RFC 3464) the queue generates.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { commonPort } from '../helpers/fake-mta.ts';
import { firstDeferral, startOutbound, waitFor } from '../helpers/outbound.ts';

const ZONES = {
  'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
  'mx.remote.test': { A: ['127.0.0.2'] },
};

test('451 then 250: the recipient is retried on the schedule and delivered; no DSN', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    let refused = 0;
    const mta = await f.mta('127.0.0.2', {
      script: (cmd) =>
        cmd.startsWith('RCPT') && refused++ === 0 ? '451 4.7.1 greylisted, come back later' : undefined,
    });
    const id = await f.send(['bob@remote.test'], { subject: 'greylist' });
    const first = await waitFor(
      async () => {
        const e = await f.app.store.queue.get(id);
        return e && e.recipients[0].attempts === 1 && e.recipients[0];
      },
      5000,
      'the first attempt',
    );
    assert.equal(first.lastReply, '451 4.7.1 greylisted, come back later');
    assert.equal(first.lastStatus, '4.7.1');
    assert.equal(first.remoteMta, 'mx.remote.test');
    assert.ok(first.nextAttempt - (first.lastAttempt ?? 0) >= 900, 'the next attempt waits for the schedule (1s)');
    await waitFor(() => mta.received().length === 1, 10000, 'the retry');
    assert.equal(mta.sessions.length, 2);
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'done');
    assert.deepEqual(await f.inbox('alice@example.com'), []);
  } finally {
    await f.stop();
  }
});

test('5xx bounces at once: one DSN for the refused recipient, ORCPT and ENVID kept, the full message returned', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const mta = await f.mta('127.0.0.2', {
      script: (cmd) =>
        cmd.startsWith('RCPT TO:<nobody@') ? '550 5.1.1 <nobody@remote.test>: user unknown' : undefined,
    });
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [
        { address: 'bob@remote.test' },
        { address: 'nobody@remote.test', orcpt: 'rfc822;NoBody@Remote.TEST' },
      ],
      envId: 'QQ314159',
      raw: Buffer.from('From: alice@example.com\r\nSubject: partly\r\n\r\nThe body line.\r\n'),
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      5000,
      'the DSN',
    );
    assert.equal(mta.received().length, 1);
    assert.deepEqual(mta.received()[0].rcpts, ['bob@remote.test']);
    assert.match(dsn, /^Return-Path: <>\r\nDelivered-To: alice@example\.com\r\n/);
    assert.match(dsn, /\r\nFrom: Mail Delivery System <MAILER-DAEMON@mx\.test\.petrel>\r\n/);
    assert.match(dsn, /\r\nTo: <alice@example\.com>\r\n/);
    assert.match(dsn, /\r\nAuto-Submitted: auto-replied\r\n/);
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status; boundary="/);
    assert.match(
      dsn,
      /Content-Type: message\/delivery-status\r\n\r\nOriginal-Envelope-Id: QQ314159\r\nReporting-MTA: dns; mx\.test\.petrel\r\n/,
    );
    assert.match(
      dsn,
      /Original-Recipient: rfc822; NoBody@Remote\.TEST\r\nFinal-Recipient: rfc822; nobody@remote\.test\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; mx\.remote\.test\r\nDiagnostic-Code: smtp; 550 5\.1\.1 <nobody@remote\.test>: user unknown\r\n/,
    );
    assert.doesNotMatch(dsn, /Final-Recipient: rfc822; bob@/, 'the delivered recipient is not reported');
    assert.match(
      dsn,
      /Content-Type: message\/rfc822\r\n\r\nFrom: alice@example\.com\r\nSubject: partly\r\n\r\nThe body line\.\r\n/,
    );
    // The record goes right after the DSN is delivered: wait for it rather than expect it already gone.
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 10000, 'the queue record to go');
  } finally {
    await f.stop();
  }
});

test('UTF-8 header fields to a server without SMTPUTF8 bounce with 5.6.7, nothing sent (RFC 6531 section 3.2); SMTPUTF8 on an ASCII message does not', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'SIZE 10240000', 'ENHANCEDSTATUSCODES'],
    });
    // The envelope is ASCII; the header section is not.
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test' }],
      smtpUtf8: true,
      bodyType: '8BITMIME',
      raw: Buffer.from(
        'From: alice@example.com\r\nTo: Bøb Jørgensen <bob@remote.test>\r\nSubject: Grüße aus Köln\r\n' +
          'Message-ID: <utf8hdr@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHallo.\r\n',
        'utf8',
      ),
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      10000,
      'the DSN',
    );
    assert.match(
      dsn,
      /Final-Recipient: rfc822; bob@remote\.test\r\nAction: failed\r\nStatus: 5\.6\.7\r\nRemote-MTA: dns; mx\.remote\.test\r\nDiagnostic-Code: X-Petrel; internationalised \(UTF-8\) header fields and the server has no SMTPUTF8\r\n/,
    );
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 10000, 'the queue record to go');
    assert.deepEqual(mta.received(), [], 'nothing was sent');
    // The SMTPUTF8 flag alone (envelope and header all ASCII) is no internationalised message: it goes out.
    await f.send(['carol@remote.test'], { subject: 'ascii', smtpUtf8: true });
    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 10000, 'the ASCII message');
    assert.doesNotMatch(m.mailLine, /SMTPUTF8/);
  } finally {
    await f.stop();
  }
});

test("a DSN reaches a sender whose mailbox is full: the server's own mail is not held to quotas", async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', {
      script: (cmd) => (cmd.startsWith('RCPT') ? '550 5.1.1 <nobody@remote.test>: user unknown' : undefined),
    });
    const alice = (await f.app.store.getAccount('alice@example.com'))!;
    await f.app.store.updateAccount(alice.id, { quotaMessages: 0 });
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'nobody@remote.test' }],
      raw: Buffer.from('From: alice@example.com\r\nSubject: to nobody\r\n\r\nThe body line.\r\n'),
    });
    // The record goes once the DSN has been delivered (or has failed to be).
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 10000, 'the queue record to go');
    const box = await f.inbox('alice@example.com');
    assert.equal(box.length, 1);
    assert.match(box[0], /Content-Type: multipart\/report; report-type=delivery-status/);
  } finally {
    await f.stop();
  }
});

test('RET=HDRS returns only the header; NOTIFY=NEVER and a null sender get no DSN at all', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', { script: (cmd) => (cmd.startsWith('RCPT') ? '550 5.7.1 not here' : undefined) });
    const never = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'a@remote.test', notify: 'NEVER' }],
      raw: Buffer.from('Subject: never\r\n\r\nx\r\n'),
    });
    const nul = await f.app.outbound.enqueue({
      from: '',
      recipients: [{ address: 'b@remote.test' }],
      raw: Buffer.from('Subject: a bounce itself\r\n\r\nx\r\n'),
    });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'c@remote.test' }],
      ret: 'HDRS',
      raw: Buffer.from('Subject: headers only\r\n\r\nSECRET BODY\r\n'),
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length >= 1 && box;
      },
      5000,
      'the DSN',
    );
    assert.match(dsn, /Final-Recipient: rfc822; c@remote\.test/);
    assert.match(dsn, /Content-Type: text\/rfc822-headers\r\n\r\nSubject: headers only\r\n\r\n\r\n--/);
    assert.doesNotMatch(dsn, /SECRET BODY/);
    await waitFor(async () => (await f.app.store.queue.list()).length === 0, 5000, 'the queue to empty');
    assert.equal(await f.app.store.queue.get(never), undefined);
    assert.equal(await f.app.store.queue.get(nul), undefined);
    assert.equal((await f.inbox('alice@example.com')).length, 1, 'only the HDRS message produced a DSN');
  } finally {
    await f.stop();
  }
});

// The DSN is the server's own mail and reaches a full mailbox all the same, but the message it returns is
// the sender's: RET=FULL returning it whole past the quota would let a user (and a tenant) grow without
// bound by sending to addresses that refuse. Postfix + Dovecot refuse such a bounce; we return the header.
test("a DSN whose returned message would overrun the sender's quota returns only its header, even with RET=FULL", async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', { script: (cmd) => (cmd.startsWith('RCPT') ? '550 5.1.1 user unknown' : undefined) });
    const alice = (await f.app.store.getAccount('alice@example.com'))!;
    await f.app.store.updateAccount(alice.id, { quotaBytes: 64 * 1024 });
    const big = `${'0123456789abcdef'.repeat(63)}\r\n`.repeat(200); // 200 KiB
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'nobody@remote.test' }],
      ret: 'FULL',
      raw: Buffer.from(`Subject: too big to come back\r\n\r\nSECRET BODY\r\n${big}`),
    });
    // A small one still comes back whole.
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'nobody@remote.test' }],
      ret: 'FULL',
      raw: Buffer.from('Subject: small\r\n\r\nSMALL BODY\r\n'),
    });
    const box = await waitFor(
      async () => {
        const b = await f.inbox('alice@example.com');
        return b.length >= 2 && b;
      },
      10000,
      'the DSNs',
    );
    const bigDsn = box.find((m) => m.includes('Subject: too big to come back'))!;
    assert.match(bigDsn, /Content-Type: text\/rfc822-headers\r\n\r\nSubject: too big to come back\r\n/);
    assert.doesNotMatch(bigDsn, /SECRET BODY/);
    assert.ok(bigDsn.length < 8 * 1024, `${bigDsn.length} octets`);
    const smallDsn = box.find((m) => m.includes('Subject: small'))!;
    assert.match(smallDsn, /Content-Type: message\/rfc822\r\n\r\nSubject: small\r\n\r\nSMALL BODY\r\n/);
    const used = (await f.app.store.getAccount('alice@example.com'))!.usedBytes;
    assert.ok(used <= 64 * 1024, `${used} octets used of 64 KiB`);
  } finally {
    await f.stop();
  }
});

test('NOTIFY=SUCCESS to a server without DSN: a "relayed" report (RFC 3461 section 5.2.2)', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2');
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test', notify: ['SUCCESS'] }],
      raw: Buffer.from('Subject: tell me\r\n\r\nx\r\n'),
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      5000,
      'the success DSN',
    );
    assert.match(dsn, /Subject: Successful Mail Delivery Report/);
    assert.match(dsn, /Action: relayed\r\nStatus: 2\.0\.0\r\n/);
    assert.match(dsn, /Content-Type: text\/rfc822-headers/);
  } finally {
    await f.stop();
  }
});

test('a delay warning goes out once after delay_warning; delivery follows when the server recovers', async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.delay_warning = '1500ms';
      c.queue.retry_schedule = ['300ms'];
    },
  });
  try {
    const mta = await f.mta('127.0.0.2', { script: (cmd) => (cmd.startsWith('MAIL') ? '421 4.3.2 busy' : undefined) });
    const id = await f.send(['bob@remote.test'], { subject: 'slow' });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      8000,
      'the delay DSN',
    );
    assert.match(dsn, /Subject: Delayed Mail \(still being retried\)/);
    assert.match(dsn, /Action: delayed\r\nStatus: 4\.3\.2\r\n/);
    assert.match(dsn, /Will-Retry-Until: /);
    assert.match(dsn, /Content-Type: text\/rfc822-headers/);
    const attempts = (await f.app.store.queue.get(id))!.recipients[0].attempts;
    await waitFor(
      async () => (await f.app.store.queue.get(id))!.recipients[0].attempts >= attempts + 2,
      5000,
      'more attempts',
    );
    assert.equal((await f.inbox('alice@example.com')).length, 1, 'the warning is sent once');
    mta.script = undefined;
    await waitFor(() => mta.received().length === 1, 5000, 'delivery');
    assert.equal((await f.inbox('alice@example.com')).length, 1);
  } finally {
    await f.stop();
  }
});

test('after the lifetime the message is returned as failed with the last temporary reason', async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.lifetime = '2s';
      c.queue.retry_schedule = ['400ms'];
    },
  });
  try {
    await f.mta('127.0.0.2', { script: (cmd) => (cmd.startsWith('RCPT') ? '452 4.2.2 mailbox full' : undefined) });
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test' }, { address: 'carol@remote.test', notify: ['DELAY'] }],
      raw: Buffer.from('Subject: too long\r\n\r\nbody\r\n'),
    });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      10000,
      'the failure DSN',
    );
    assert.match(dsn, /Subject: Undelivered Mail Returned to Sender/);
    assert.match(dsn, /Final-Recipient: rfc822; bob@remote\.test\r\nAction: failed\r\nStatus: 4\.2\.2\r\n/);
    assert.match(dsn, /Diagnostic-Code: smtp; 452 4\.2\.2 mailbox full/);
    assert.doesNotMatch(dsn, /carol@remote\.test\r\nAction/, 'carol asked for DELAY only, not FAILURE');
    assert.match(dsn, /Content-Type: message\/rfc822\r\n\r\nSubject: too long/);
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the queue to give up');
  } finally {
    await f.stop();
  }
});

test('a bounce to a remote sender is queued with a null reverse-path', async () => {
  const f = await startOutbound({
    zones: {
      ...ZONES,
      'sender.test': { MX: [{ preference: 10, exchange: 'mx.sender.test' }] },
      'mx.sender.test': { A: ['127.0.0.3'] },
    },
  });
  try {
    await f.mta('127.0.0.2', { script: (cmd) => (cmd.startsWith('RCPT') ? '550 5.1.1 unknown' : undefined) });
    const home = await f.mta('127.0.0.3');
    await f.app.outbound.enqueue({
      from: 'dave@sender.test',
      recipients: [{ address: 'x@remote.test' }],
      raw: Buffer.from('From: dave@sender.test\r\nSubject: forwarded\r\n\r\nx\r\n'),
    });
    const [b] = await waitFor(() => home.received().length === 1 && home.received(), 5000, 'the bounce');
    assert.equal(b.from, '');
    assert.deepEqual(b.rcpts, ['dave@sender.test']);
    assert.match(b.data.toString(), /Final-Recipient: rfc822; x@remote\.test/);
  } finally {
    await f.stop();
  }
});

test('a long run starts no transaction past half its lease; the rest is released and sent in a new run', async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.lease = '2s';
    },
    async beforeServe(app) {
      for (let i = 0; i < 3; i++)
        await app.outbound.enqueue({
          from: 'alice@example.com',
          recipients: [{ address: `r${i}@remote.test` }],
          raw: Buffer.from(`Subject: slow ${i}\r\n\r\nx\r\n`),
        });
    },
  });
  try {
    const mta = await f.mta('127.0.0.2', { dataDelayMs: 700 });
    await waitFor(() => mta.received().length === 3, 10000, 'three deliveries');
    assert.equal(mta.sessions.length, 2, 'the third message went in a second run');
    assert.deepEqual(
      mta.sessions.map((s) => s.messages.length),
      [2, 1],
    );
    await waitFor(async () => (await f.app.store.queue.list()).length === 0, 5000, 'an empty queue');
    assert.deepEqual(await f.inbox('alice@example.com'), []);
  } finally {
    await f.stop();
  }
});

// RFC 5321 section 4.5.3.2.6: the reply to the final dot is waited for longer than other replies (10
// minutes, queue.data_done_timeout_ms); giving up sooner sends a message the server took once more. Scaled
// down: command timeout 1s, data-done 5s, a server answering the dot after 1.5s.
test('the reply to the final dot gets data_done_timeout_ms, not command_timeout_ms: one copy, no retry', async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.command_timeout_ms = 1000;
      c.queue.data_done_timeout_ms = 5000;
    },
  });
  try {
    const mta = await f.mta('127.0.0.2', { dataDelayMs: 1500 });
    const id = await f.send(['bob@remote.test'], { subject: 'slow final reply' });
    await waitFor(() => mta.received().length >= 1, 10000, 'the remote to take the message');
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the message recorded as sent');
    // A retry (retry_schedule 1s) would have come by now if the attempt had timed out.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(mta.received().length, 1, 'one copy at the remote');
    assert.equal(mta.sessions.length, 1, 'one session');
  } finally {
    await f.stop();
  }
});

// A slow server within every timeout: its reply to the final dot comes after queue.lease. The run renews
// its leases while it lasts, so the recipient is not leased again and sent in a second session.
test('a delivery outlasting queue.lease keeps its lease: one session, one copy', async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.lease = '2s';
      c.queue.command_timeout_ms = 10000;
    },
  });
  try {
    const mta = await f.mta('127.0.0.2', { dataDelayMs: 3000 });
    const id = await f.send(['bob@remote.test'], { subject: 'slow remote' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 15000, 'the queue to finish');
    await new Promise((r) => setTimeout(r, 3500)); // a second session's reply, if there were one
    assert.equal(mta.received().length, 1, 'one copy at the remote');
    assert.equal(mta.sessions.length, 1, 'one session');
  } finally {
    await f.stop();
  }
});

// RFC 5321 section 4.3.2: only 354 invites the content. A server answering DATA with 250 has not taken a
// message it never saw: deferred (4.5.0), retried, then sent once the server answers as it should.
test('a 250 reply to DATA (no 354) is a deferral, not a delivery: the message stays queued and goes out later', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    let odd = true;
    const mta = await f.mta('127.0.0.2', {
      script: (cmd) => (cmd === 'DATA' && odd ? '250 2.0.0 Ok' : undefined),
    });
    const id = await f.send(['bob@remote.test'], { subject: 'never sent' });
    const first = await waitFor(
      async () => {
        const e = await f.app.store.queue.get(id);
        return e === undefined ? 'gone' : e.recipients[0].attempts >= 1 && e.recipients[0];
      },
      10000,
      'the first attempt',
    );
    assert.notEqual(first, 'gone', 'recorded as delivered though the content was never transmitted');
    if (first === 'gone') return;
    assert.equal(first.status, 'queued');
    assert.equal(first.lastStatus, '4.5.0');
    assert.match(first.lastReply ?? '', /^451 4\.5\.0 unexpected reply to DATA: 250/);
    assert.equal(mta.received().length, 0);
    odd = false;
    await waitFor(() => mta.received().length === 1, 10000, 'the retry');
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'done');
  } finally {
    await f.stop();
  }
});

/** A raw SMTP server on 127.0.0.2:port for misbehaviour the scripted MTA cannot show; stop() ends it. */
async function rawServer(port: number, onConnection: (s: Socket) => void): Promise<{ stop(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.2', () => resolve()));
  return {
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// RFC 5321 section 4.5.3.2: timeouts bound each reply and each block of content, not silence alone. This
// server stops reading after its 354 and sends an octet every 300 ms: never a whole line, never a second
// of silence. The attempt is given up (command_timeout_ms 1 s) and deferred instead of holding a slot.
test('a remote that stops reading during DATA and trickles bytes cannot hold the delivery for ever', {
  timeout: 90000,
}, async () => {
  const port = await commonPort(['127.0.0.2', '127.0.0.3']);
  const f = await startOutbound({
    zones: ZONES,
    port,
    configure: (c) => {
      c.queue.command_timeout_ms = 1000;
      c.queue.data_done_timeout_ms = 1000;
    },
  });
  const server = await rawServer(port, (s) => {
    let buf = '';
    const send = (l: string) => s.write(`${l}\r\n`);
    send('220 slow.remote.test ESMTP');
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      for (let nl = buf.indexOf('\r\n'); nl >= 0; nl = buf.indexOf('\r\n')) {
        const verb = buf.slice(0, nl).split(' ')[0].toUpperCase();
        buf = buf.slice(nl + 2);
        if (verb === 'EHLO') s.write('250-slow.remote.test\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n');
        else if (verb !== 'DATA') send('250 2.0.0 ok');
        else {
          send('354 go ahead');
          s.off('data', onData);
          s.pause();
          const t = setInterval(() => s.write('2'), 300);
          s.on('close', () => clearInterval(t));
          return;
        }
      }
    };
    s.on('data', onData);
  });
  try {
    // More than loopback socket buffers hold, so the content cannot all be written.
    const id = await f.send(['bob@remote.test'], { subject: 'big', body: `${'y'.repeat(76)}\r\n`.repeat(400_000) });
    const r = await firstDeferral(f, id);
    assert.equal(r.lastStatus, '4.4.2');
    assert.match(r.lastReply ?? '', /the server took no data for 1000 ms/);
  } finally {
    await f.stop();
    await server.stop();
  }
});

test('a greeting trickled an octet at a time is given up after command_timeout_ms in all', {
  timeout: 90000,
}, async () => {
  const port = await commonPort(['127.0.0.2', '127.0.0.3']);
  const f = await startOutbound({ zones: ZONES, port, configure: (c) => (c.queue.command_timeout_ms = 1000) });
  // "220-slow" continuation lines, one octet every 100 ms, for ever: each line is well formed.
  const server = await rawServer(port, (s) => {
    const text = '220-slow.remote.test\r\n';
    let i = 0;
    const t = setInterval(() => s.write(text[i++ % text.length]), 100);
    s.on('close', () => clearInterval(t));
  });
  try {
    const id = await f.send(['bob@remote.test'], { subject: 'slow greeting' });
    const r = await firstDeferral(f, id);
    assert.match(r.lastReply ?? '', /no reply from the server within 1000 ms/);
  } finally {
    await f.stop();
    await server.stop();
  }
});

test('a server sending thousands of reply lines nobody asked for ends the session (bounded buffer)', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    // The EHLO reply, then 2000 more "250" lines in the same write.
    await f.mta('127.0.0.2', {
      script: (cmd) =>
        cmd.startsWith('EHLO') ? `250 flood.remote.test\r\n${'250 2.0.0 ok\r\n'.repeat(1999)}250 2.0.0 ok` : undefined,
    });
    const id = await f.send(['bob@remote.test'], { subject: 'flooded' });
    const r = await firstDeferral(f, id);
    assert.match(r.lastReply ?? '', /the server sent more reply lines than were asked for/);
  } finally {
    await f.stop();
  }
});
