// Outbound routing end to end: MX records from a DNS server of the test's own decide where the queue
// connects (preference, fallback to the domain's A record, null MX, IDN), with real SMTP on loopback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commonPort, startFakeMta } from '../helpers/fake-mta.ts';
import { firstDeferral, startOutbound, testMessage, waitFor } from '../helpers/outbound.ts';

test('the preferred MX is tried first; when it refuses connections the next one gets the mail, byte for byte', async () => {
  const f = await startOutbound({
    zones: {
      'remote.test': {
        MX: [
          { preference: 20, exchange: 'mx2.remote.test' },
          { preference: 10, exchange: 'mx1.remote.test' },
        ],
      },
      'mx1.remote.test': { A: ['127.0.0.2'] },
      'mx2.remote.test': { A: ['127.0.0.3'] },
    },
  });
  try {
    // Nothing listens on mx1 (127.0.0.2): connection refused, then mx2.
    const mx2 = await f.mta('127.0.0.3');
    const raw = testMessage(['bob@remote.test'], 'preference');
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'bob@remote.test' }],
      raw,
    });
    assert.match(id, /^[0-9A-F]{16}$/);
    const [m] = await waitFor(() => mx2.received().length > 0 && mx2.received(), 10000, 'delivery');
    assert.equal(m.from, 'alice@example.com');
    assert.deepEqual(m.rcpts, ['bob@remote.test']);
    assert.ok(m.data.equals(raw), 'the content arrives exactly as queued (no DKIM key for example.com here)');
    assert.ok(f.dns.queries.indexOf('A mx1.remote.test') < f.dns.queries.indexOf('A mx2.remote.test'));
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the queue to forget it');
    assert.deepEqual(await f.inbox('alice@example.com'), [], 'no DSN for a delivered message');
  } finally {
    await f.stop();
  }
});

test('no MX: the domain itself (its A record) is the mail server (RFC 5321 section 5.1)', async () => {
  const f = await startOutbound({ zones: { 'plain.test': { A: ['127.0.0.2'] } } });
  try {
    const mta = await f.mta('127.0.0.2');
    await f.send(['carol@plain.test'], { subject: 'implicit mx' });
    const [m] = await waitFor(() => mta.received().length > 0 && mta.received(), 10000, 'delivery');
    assert.deepEqual(m.rcpts, ['carol@plain.test']);
    assert.ok(f.dns.queries.includes('MX plain.test'));
  } finally {
    await f.stop();
  }
});

test('equal preferences share the load; IDN domains are asked and addressed as A-labels', async () => {
  const f = await startOutbound({
    zones: {
      'xn--bcher-kva.test': {
        MX: [
          { preference: 10, exchange: 'a.mx.test' },
          { preference: 10, exchange: 'b.mx.test' },
        ],
      },
      'a.mx.test': { A: ['127.0.0.2'] },
      'b.mx.test': { A: ['127.0.0.3'] },
    },
    configure: (c) => {
      c.queue.max_messages_per_connection = 1;
    },
  });
  try {
    const a = await f.mta('127.0.0.2');
    const b = await f.mta('127.0.0.3');
    // One at a time, so each is routed on its own (the order of equal MX hosts is drawn per attempt).
    for (let i = 1; i <= 16; i++) {
      await f.send(['leser@bücher.test'], { subject: `idn ${i}` });
      await waitFor(() => a.received().length + b.received().length === i, 10000, `delivery ${i}`);
    }
    assert.ok(a.received().length > 0 && b.received().length > 0, 'both equal-preference hosts were used');
    for (const m of [...a.received(), ...b.received()]) assert.deepEqual(m.rcpts, ['leser@xn--bcher-kva.test']);
    assert.ok(f.dns.queries.includes('MX xn--bcher-kva.test'));
  } finally {
    await f.stop();
  }
});

test('a null MX (RFC 7505) and a domain that does not exist bounce at once, without a connection', async () => {
  const f = await startOutbound({ zones: { 'nomail.test': { MX: [{ preference: 0, exchange: '.' }] } } });
  try {
    const mta = await f.mta('127.0.0.2');
    const id1 = await f.send(['x@nomail.test'], { subject: 'null mx' });
    const id2 = await f.send(['y@gone.test'], { subject: 'nxdomain' });
    const dsns = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 2 && box;
      },
      10000,
      'two DSNs',
    );
    const nullMx = dsns.find((d) => d.includes('x@nomail.test'))!;
    assert.match(nullMx, /Action: failed\r\nStatus: 5\.1\.10\r\n/);
    assert.match(nullMx, /accepts no mail \(null MX\)/);
    const nx = dsns.find((d) => d.includes('y@gone.test'))!;
    assert.match(nx, /Status: 5\.1\.2\r\n/);
    assert.equal(mta.sessions.length, 0);
    // The queue record goes right after the DSN is delivered (delivery first: a crash between the two
    // sends the DSN twice rather than never), so wait for it rather than expect it already gone.
    await waitFor(
      async () => (await f.app.store.queue.get(id1)) === undefined && (await f.app.store.queue.get(id2)) === undefined,
      10000,
      'queue records removed',
    );
  } finally {
    await f.stop();
  }
});

test('a DNS failure is temporary: the message stays queued and goes out once DNS answers', async () => {
  const f = await startOutbound({ zones: { 'flaky.test': { A: ['127.0.0.2'] } } });
  try {
    f.dns.failing.add('flaky.test');
    const mta = await f.mta('127.0.0.2');
    const id = await f.send(['z@flaky.test'], { subject: 'servfail' });
    const r = await waitFor(
      async () => {
        const e = await f.app.store.queue.get(id);
        return e && e.recipients[0].attempts >= 1 && e.recipients[0];
      },
      10000,
      'a failed attempt',
    );
    assert.equal(r.status, 'queued');
    assert.equal(r.lastStatus, '4.4.3');
    f.dns.failing.delete('flaky.test');
    await waitFor(() => mta.received().length === 1, 10000, 'delivery after DNS recovers');
    assert.deepEqual(await f.inbox('alice@example.com'), []);
  } finally {
    await f.stop();
  }
});

// RFC 5321 section 3.8: a 421 closes the session. The server that said it is not called again once per
// queued message in the same run: the rest go to the next MX host.
test('a 421 to MAIL FROM ends the session with that server: every message, the deferred one too, goes to the next MX, not to a new connection', async () => {
  const port = await commonPort(['127.0.0.2', '127.0.0.3']);
  // Both servers listen before the runner's first lease, which takes all six messages at once.
  const mx1 = await startFakeMta({
    host: '127.0.0.2',
    port,
    script: (cmd) => (cmd.startsWith('MAIL') ? '421 4.3.2 mx1.remote.test overloaded, closing connection' : undefined),
  });
  const mx2 = await startFakeMta({ host: '127.0.0.3', port });
  const queued: string[] = [];
  const f = await startOutbound({
    zones: {
      'remote.test': {
        MX: [
          { preference: 10, exchange: 'mx1.remote.test' },
          { preference: 20, exchange: 'mx2.remote.test' },
        ],
      },
      'mx1.remote.test': { A: ['127.0.0.2'] },
      'mx2.remote.test': { A: ['127.0.0.3'] },
    },
    port,
    // One run to look at: no retry comes within the test.
    configure: (c) => (c.queue.retry_schedule = ['1h']),
    async beforeServe(app) {
      for (let i = 0; i < 6; i++)
        queued.push(
          await app.outbound.enqueue({
            from: 'alice@example.com',
            recipients: [{ address: `user${i}@remote.test` }],
            raw: testMessage([`user${i}@remote.test`], `m${i}`),
          }),
        );
    },
  });
  try {
    const all = await waitFor(
      async () => {
        const es = await Promise.all(queued.map((id) => f.app.store.queue.get(id)));
        return es.every((e) => e === undefined || e.recipients[0].attempts >= 1) && es;
      },
      10000,
      'every message attempted',
    );
    assert.equal(mx1.sessions.length, 1, 'one connection to the server that said 421');
    assert.equal(mx2.received().length, 6, 'the next MX took all six, the one the 421 answered included');
    assert.deepEqual(
      all.filter((e) => e !== undefined),
      [],
    );
  } finally {
    await f.stop();
    await mx1.stop();
    await mx2.stop();
  }
});

// queue.destination_concurrency counts every running session to a domain, not only those of one lease
// pass: mail queued while a session to the domain runs waits for it instead of opening a second one.
test('destination_concurrency=1 holds across lease passes: never two sessions to one domain at once', async () => {
  const f = await startOutbound({
    zones: {
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
    },
    configure(c) {
      c.queue.destination_concurrency = 1;
      c.queue.concurrency = 10;
    },
  });
  try {
    let open = 0;
    let maxOpen = 0;
    const counted = new WeakSet<object>();
    const mta = await f.mta('127.0.0.2', {
      // Slow to answer the final dot: the first session is still busy when the others are queued.
      dataDelayMs: 1500,
      script: (cmd, session) => {
        if (cmd.startsWith('EHLO') && !counted.has(session)) {
          counted.add(session);
          open++;
          maxOpen = Math.max(maxOpen, open);
        }
        if (cmd === 'QUIT' && counted.has(session)) open--;
        return undefined;
      },
    });
    await f.send(['bob@remote.test'], { subject: 'first' });
    await waitFor(() => mta.sessions.some((s) => s.commands.includes('DATA')), 5000, 'the first DATA');
    await f.send(['carol@remote.test'], { subject: 'second' });
    await f.send(['dave@remote.test'], { subject: 'third' });
    await waitFor(() => mta.received().length === 3, 15000, 'all three messages');
    assert.equal(maxOpen, 1, `${maxOpen} sessions to remote.test were open at once`);
  } finally {
    await f.stop();
  }
});

test('a 4xx from the preferred MX is not the last word: the next MX gets those recipients in the same attempt (as Postfix)', async () => {
  const port = await commonPort(['127.0.0.2', '127.0.0.3']);
  const f = await startOutbound({
    port,
    zones: {
      'remote.test': {
        MX: [
          { preference: 10, exchange: 'mx1.remote.test' },
          { preference: 20, exchange: 'mx2.remote.test' },
        ],
      },
      'mx1.remote.test': { A: ['127.0.0.2'] },
      'mx2.remote.test': { A: ['127.0.0.3'] },
    },
    // One attempt to look at: no retry comes within the test.
    configure: (c) => (c.queue.retry_schedule = ['1h']),
  });
  try {
    const mx1 = await f.mta('127.0.0.2', {
      script: (cmd) => (/^RCPT TO:<(busy|grey)@/.test(cmd) ? '452 4.3.1 Insufficient system storage' : undefined),
    });
    const mx2 = await f.mta('127.0.0.3', {
      script: (cmd) => (cmd.startsWith('RCPT TO:<grey@') ? '451 4.7.1 greylisted' : undefined),
    });
    const id = await f.send(['ok@remote.test', 'busy@remote.test'], { subject: 'backup' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 10000, 'both delivered');
    assert.deepEqual(
      mx1.received().map((m) => m.rcpts),
      [['ok@remote.test']],
    );
    assert.deepEqual(
      mx2.received().map((m) => m.rcpts),
      [['busy@remote.test']],
      'the recipient the preferred MX deferred went to the next one',
    );
    // Deferred by every MX: asked of each once, then it waits for its retry with the last server's reply.
    const grey = await f.send(['grey@remote.test'], { subject: 'grey' });
    const r = await firstDeferral(f, grey);
    assert.equal(r.attempts, 1);
    assert.equal(r.lastReply, '451 4.7.1 greylisted');
    assert.equal(r.remoteMta, 'mx2.remote.test');
    const asked = (m: typeof mx1) =>
      m.sessions.flatMap((s) => s.commands).filter((c) => c.startsWith('RCPT TO:<grey@')).length;
    assert.deepEqual([asked(mx1), asked(mx2)], [1, 1]);
  } finally {
    await f.stop();
  }
});

test('MX records whose hosts do not exist are an error at once (RFC 5321 section 5.1, Postfix 5.4.4); a host DNS cannot answer for now is retried', async () => {
  const f = await startOutbound({
    zones: {
      'typo.test': {
        MX: [
          { preference: 10, exchange: 'mx1.typo.test' },
          { preference: 20, exchange: 'noaddr.typo.test' },
        ],
      },
      // mx1.typo.test does not exist at all; noaddr.typo.test exists with no A or AAAA.
      'noaddr.typo.test': { TXT: [['not a mail server']] },
      'flaky.test': { MX: [{ preference: 10, exchange: 'mx.flaky.test' }] },
      'mx.flaky.test': { A: ['127.0.0.2'] },
    },
  });
  try {
    const id = await f.send(['bob@typo.test'], { subject: 'typo' });
    const [dsn] = await waitFor(
      async () => {
        const box = await f.inbox('alice@example.com');
        return box.length === 1 && box;
      },
      10000,
      'the bounce',
    );
    assert.match(dsn, /Final-Recipient: rfc822; bob@typo\.test\r\nAction: failed\r\nStatus: 5\.4\.4\r\n/);
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the record to go');
    f.dns.failing.add('mx.flaky.test');
    const flaky = await f.send(['bob@flaky.test'], { subject: 'flaky' });
    const r = await firstDeferral(f, flaky);
    assert.equal(r.lastStatus, '4.4.3');
  } finally {
    await f.stop();
  }
});
