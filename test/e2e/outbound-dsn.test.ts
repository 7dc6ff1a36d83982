// DSNs (RFC 3461, RFC 3464) read as a mail program reads them: each report the queue sends is parsed by
// Python's email package (the multipart/report, its message/delivery-status fields, the returned part);
// per-recipient fates of one message across domains; what NOTIFY asks for and nothing else.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commonPort } from '../helpers/fake-mta.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { firstDeferral, type OutboundFixture, startOutbound, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { startPostfix } from '../helpers/postfix.ts';
import { run } from '../helpers/run.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';

const python = peer('python3', 'python3');
const pf = peer('postfix', 'postfix');

const ZONES = {
  'one.test': { MX: [{ preference: 10, exchange: 'mx.one.test' }] },
  'mx.one.test': { A: ['127.0.0.2'] },
  'two.test': { MX: [{ preference: 10, exchange: 'mx.two.test' }] },
  'mx.two.test': { A: ['127.0.0.3'] },
};

/** A DSN as Python's email package sees it: headers, the parts' types, the delivery-status blocks, the returned part. */
interface ParsedDsn {
  headers: Record<string, string>;
  contentType: string;
  reportType: string | null;
  parts: string[];
  perMessage: Record<string, string>;
  perRecipient: Record<string, string>[];
  returned: string;
  defects: string[];
}

const PARSE = `
import email, email.policy, json, sys
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
out = {'headers': {k: str(v) for k, v in m.items()}, 'contentType': m.get_content_type(),
       'reportType': m.get_param('report-type'), 'parts': [], 'perMessage': {}, 'perRecipient': [],
       'returned': '', 'defects': [type(d).__name__ for d in m.defects]}
parts = m.get_payload() if m.is_multipart() else []
out['parts'] = [p.get_content_type() for p in parts]
for p in parts:
    out['defects'] += [type(d).__name__ for d in p.defects]
    if p.get_content_type() == 'message/delivery-status':
        blocks = p.get_payload()
        out['perMessage'] = {k: v for k, v in blocks[0].items()}
        out['perRecipient'] = [{k: v for k, v in b.items()} for b in blocks[1:]]
if len(parts) > 2:
    r = parts[2]
    if r.is_multipart():
        out['returned'] = r.get_payload()[0].as_string()
    else:
        out['returned'] = r.get_payload(decode=True).decode('utf-8', 'replace')
print(json.dumps(out))
`;

async function parseDsn(raw: string | Buffer): Promise<ParsedDsn> {
  const r = await run('python3', ['-c', PARSE], { input: raw });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ParsedDsn;
}

/** The local sender's INBOX once it holds `n` messages. */
async function inboxOf(f: OutboundFixture, n: number, what: string): Promise<string[]> {
  return waitFor(
    async () => {
      const box = await f.inbox('alice@example.com');
      return box.length >= n && box;
    },
    15000,
    what,
  );
}

test('one message, three recipients at two domains: one taken, one refused, one deferred; one DSN, the deferred retried alone', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({ zones: ZONES, hosts: ['127.0.0.2', '127.0.0.3'] });
  try {
    const one = await f.mta('127.0.0.2', {
      script: (cmd) => (cmd.startsWith('RCPT TO:<refused@') ? '550 5.1.1 <refused@one.test>: no such user' : undefined),
    });
    let deferrals = 0;
    const two = await f.mta('127.0.0.3', {
      script: (cmd) => (cmd.startsWith('RCPT') && deferrals++ < 2 ? '451 4.3.0 try later' : undefined),
    });
    const id = await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [{ address: 'taken@one.test' }, { address: 'refused@one.test' }, { address: 'later@two.test' }],
      envId: 'ENV-42',
      ret: 'HDRS',
      raw: Buffer.from(
        'From: alice@example.com\r\nSubject: three fates\r\nMessage-ID: <fates@example.com>\r\n\r\nbody line\r\n',
      ),
    });
    await waitFor(() => two.received().length === 1, 15000, 'the deferred recipient delivered');
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 5000, 'the message done');
    assert.deepEqual(
      one.received().map((m) => m.rcpts),
      [['taken@one.test']],
    );
    assert.equal(one.sessions.length, 1, 'one.test is not called again for the deferred recipient');
    assert.deepEqual(
      two.sessions.flatMap((s) => s.commands.filter((c) => c.startsWith('RCPT'))),
      ['RCPT TO:<later@two.test>', 'RCPT TO:<later@two.test>', 'RCPT TO:<later@two.test>'],
    );
    const box = await f.inbox('alice@example.com');
    assert.equal(box.length, 1, 'one DSN, for the refused recipient only');
    const d = await parseDsn(box[0]);
    assert.deepEqual(d.defects, []);
    assert.equal(d.contentType, 'multipart/report');
    assert.equal(d.reportType, 'delivery-status');
    assert.deepEqual(d.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.equal(d.headers['Auto-Submitted'], 'auto-replied');
    assert.match(d.headers.From, /<MAILER-DAEMON@mx\.test\.petrel>$/);
    assert.equal(d.headers['Return-Path'], '<>');
    assert.equal(d.perMessage['Original-Envelope-Id'], 'ENV-42');
    assert.equal(d.perMessage['Reporting-MTA'], 'dns; mx.test.petrel');
    assert.ok(d.perMessage['Arrival-Date']);
    assert.equal(d.perRecipient.length, 1);
    const r = d.perRecipient[0];
    assert.equal(r['Final-Recipient'], 'rfc822; refused@one.test');
    assert.equal(r.Action, 'failed');
    assert.equal(r.Status, '5.1.1');
    assert.equal(r['Remote-MTA'], 'dns; mx.one.test');
    assert.equal(r['Diagnostic-Code'], 'smtp; 550 5.1.1 <refused@one.test>: no such user');
    assert.ok(r['Last-Attempt-Date']);
    assert.match(d.returned, /^From: alice@example\.com\r?\nSubject: three fates\r?\n/);
    assert.doesNotMatch(d.returned, /body line/, 'RET=HDRS: the header only');
  } finally {
    await f.stop();
  }
});

test('NOTIFY=SUCCESS to a local mailbox: a "delivered" DSN (RFC 3461 section 5.2.3); without SUCCESS, none', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.listeners.submission.enabled = true;
    },
    beforeServe: async (app) => {
      await app.directory.addAccount('bob@example.com', 'bob-secret-pw');
    },
  });
  try {
    const c = await RawSmtp.open(f.server.ports.submission);
    try {
      await c.expect(220);
      await c.expect(250, 'EHLO client.test');
      await c.expect(235, `AUTH PLAIN ${Buffer.from('\0alice@example.com\0secret-pw').toString('base64')}`);
      await c.expect(250, 'MAIL FROM:<alice@example.com> ENVID=SUB+2B1 RET=HDRS');
      await c.expect(250, 'RCPT TO:<bob@example.com> NOTIFY=SUCCESS ORCPT=rfc822;Bob@Example.COM');
      await c.expect(354, 'DATA');
      await c.expect(250, 'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: tell me\r\n\r\nhello bob\r\n.');
      await c.expect(250, 'MAIL FROM:<alice@example.com>');
      await c.expect(250, 'RCPT TO:<bob@example.com> NOTIFY=FAILURE');
      await c.expect(354, 'DATA');
      await c.expect(250, 'From: alice@example.com\r\nTo: bob@example.com\r\nSubject: quiet\r\n\r\nhello again\r\n.');
      await c.cmd('QUIT').catch(() => {});
    } finally {
      c.close();
    }
    await waitFor(async () => (await f.inbox('bob@example.com')).length === 2, 5000, 'both delivered');
    const [dsn] = await inboxOf(f, 1, 'the delivered DSN');
    const d = await parseDsn(dsn);
    assert.deepEqual(d.defects, []);
    assert.equal(d.headers.Subject, 'Successful Mail Delivery Report');
    assert.equal(d.perMessage['Original-Envelope-Id'], 'SUB+1');
    assert.equal(d.perRecipient.length, 1);
    assert.equal(d.perRecipient[0]['Original-Recipient'], 'rfc822; Bob@Example.COM');
    assert.equal(d.perRecipient[0]['Final-Recipient'], 'rfc822; bob@example.com');
    assert.equal(d.perRecipient[0].Action, 'delivered');
    assert.match(d.perRecipient[0].Status, /^2\.\d\.\d$/);
    assert.deepEqual(d.parts, ['text/plain', 'message/delivery-status', 'text/rfc822-headers']);
    assert.match(d.returned, /Subject: tell me/);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await f.inbox('alice@example.com')).length, 1, 'NOTIFY without SUCCESS: no DSN');
  } finally {
    await f.stop();
  }
});

test('NOTIFY=SUCCESS to a server that offers DSN: the parameters go on (RFC 3461 section 5.2.1) and no DSN comes from us', async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    const one = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'SIZE 10240000', 'ENHANCEDSTATUSCODES', 'DSN'],
    });
    await f.app.outbound.enqueue({
      from: 'alice@example.com',
      recipients: [
        { address: 'bob@one.test', notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;Bob+x@One.test' },
        { address: 'carol@one.test' },
      ],
      envId: 'E 1+',
      ret: 'FULL',
      raw: Buffer.from('Subject: pass them on\r\n\r\nx\r\n'),
    });
    const [m] = await waitFor(() => one.received().length === 1 && one.received(), 5000, 'the delivery');
    assert.match(m.mailLine, / RET=FULL/);
    assert.match(m.mailLine, / ENVID=E\+201\+2B/);
    assert.equal(m.rcptLines[0], 'RCPT TO:<bob@one.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Bob+2Bx@One.test');
    assert.equal(m.rcptLines[1], 'RCPT TO:<carol@one.test>', 'no NOTIFY where none was given');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(await f.inbox('alice@example.com'), []);
  } finally {
    await f.stop();
  }
});

test('a server that answers EHLO with our own host name is ourselves: "loops back to myself", never a delivery to it', async () => {
  const f = await startOutbound({
    zones: {
      ...ZONES,
      // The only MX is ourselves: a permanent failure at once (Postfix: 550 5.4.6).
      'loop.test': { MX: [{ preference: 10, exchange: 'mx.loop.test' }] },
      'mx.loop.test': { A: ['127.0.0.2'] },
      // A backup MX that is ourselves, the primary down: not a bounce, a deferral (Postfix: 450).
      'backup.test': {
        MX: [
          { preference: 10, exchange: 'down.backup.test' },
          { preference: 20, exchange: 'mx.loop.test' },
        ],
      },
      'down.backup.test': { A: ['127.0.0.3'] },
    },
  });
  try {
    const self = await f.mta('127.0.0.2', { name: 'mx.test.petrel' });
    const bounced = await f.send(['bob@loop.test'], { subject: 'to myself' });
    const [dsn] = await inboxOf(f, 1, 'the bounce');
    assert.match(dsn, /Action: failed\r\nStatus: 5\.4\.6\r\n/);
    assert.match(dsn, /mail for loop\.test loops back to myself/);
    await waitFor(async () => (await f.app.store.queue.get(bounced)) === undefined, 5000, 'the record to go');
    const deferred = await f.send(['bob@backup.test'], { subject: 'via the backup' });
    const r = await firstDeferral(f, deferred);
    assert.match(r.lastReply ?? '', /loops back to myself/);
    assert.equal(self.received().length, 0, 'nothing is sent to ourselves');
    assert.ok(self.sessions.every((s) => !s.commands.some((c) => c.startsWith('MAIL'))));
  } finally {
    await f.stop();
  }
});

test('a bounce to an internationalised sender declares SMTPUTF8 (RFC 6531 section 3.4): a strict Postfix takes it', {
  skip: pf.skip,
}, async () => {
  const port = await commonPort(['127.0.0.2', '127.0.0.3']);
  const sender = 'δοκιμή@remote.test';
  const postfix = await startPostfix({ host: '127.0.0.2', port, users: [sender] });
  // A Postfix that holds clients to RFC 6531 (its default tolerates a UTF-8 address without SMTPUTF8).
  const etc = join(postfix.dir, 'etc');
  execFileSync('postconf', ['-c', etc, '-e', 'strict_smtputf8 = yes'], { stdio: 'ignore' });
  execFileSync('postfix', ['-c', etc, 'reload'], { stdio: 'ignore' });
  const f = await startOutbound({
    port,
    zones: {
      ...ZONES,
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.postfix.test' }] },
      'mx.postfix.test': { A: ['127.0.0.2'] },
    },
  });
  try {
    await f.mta('127.0.0.3', { script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user' : undefined) });
    await f.app.outbound.enqueue({
      from: sender,
      recipients: [{ address: 'nobody@two.test' }],
      smtpUtf8: true,
      raw: Buffer.from(`From: ${sender}\r\nTo: nobody@two.test\r\nSubject: bounce me\r\n\r\nx\r\n`),
    });
    const [dsn] = await waitFor(
      () => postfix.mailbox(sender).length === 1 && postfix.mailbox(sender),
      15000,
      'the DSN at Postfix',
    );
    assert.match(dsn, /Final-Recipient: rfc822; nobody@two\.test/);
    assert.match(dsn, /Status: 5\.1\.1/);
  } finally {
    await f.stop();
    await postfix.stop();
  }
});

test('an internationalised message comes back as message/global, its header as message/global-headers (RFC 6533 section 4)', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', { script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user' : undefined) });
    const raw = Buffer.from('From: Jörg <alice@example.com>\r\nSubject: Grüße\r\n\r\nHallo.\r\n');
    for (const ret of ['FULL', 'HDRS'] as const)
      await f.app.outbound.enqueue({
        from: 'alice@example.com',
        recipients: [{ address: `${ret.toLowerCase()}@one.test` }],
        smtpUtf8: true,
        ret,
        raw,
      });
    const box = await inboxOf(f, 2, 'both DSNs');
    const types = await Promise.all(box.map(async (m) => (await parseDsn(m)).parts[2]));
    assert.deepEqual(types.sort(), ['message/global', 'message/global-headers']);
  } finally {
    await f.stop();
  }
});

test('one message refused at two domains in one pass: one DSN listing both recipients (RFC 3464 section 2.3), as Postfix sends one bounce', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({ zones: ZONES });
  try {
    await f.mta('127.0.0.2', { script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user here' : undefined) });
    await f.mta('127.0.0.3', {
      script: (c) => (c.startsWith('RCPT') ? '553 5.1.3 mailbox name not allowed' : undefined),
    });
    const id = await f.send(['ann@one.test', 'ben@two.test'], { subject: 'refused twice' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 15000, 'the message done');
    const box = await f.inbox('alice@example.com');
    assert.equal(box.length, 1, 'one DSN for the message, not one per destination');
    const d = await parseDsn(box[0]);
    assert.deepEqual(d.defects, []);
    assert.equal(d.headers.Subject, 'Undelivered Mail Returned to Sender');
    assert.deepEqual(d.perRecipient.map((r) => [r['Final-Recipient'], r.Action, r.Status, r['Remote-MTA']]).sort(), [
      ['rfc822; ann@one.test', 'failed', '5.1.1', 'dns; mx.one.test'],
      ['rfc822; ben@two.test', 'failed', '5.1.3', 'dns; mx.two.test'],
    ]);
    assert.match(d.returned, /Subject: refused twice/);
  } finally {
    await f.stop();
  }
});

test('one message delayed at two domains: one delay warning listing both recipients, and one bounce when it expires', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.delay_warning = '1s';
      c.queue.lifetime = '6s';
    },
  });
  try {
    await f.mta('127.0.0.2', { script: (c) => (c.startsWith('RCPT') ? '451 4.3.0 try later' : undefined) });
    await f.mta('127.0.0.3', { script: (c) => (c.startsWith('RCPT') ? '452 4.2.2 mailbox full' : undefined) });
    const id = await f.send(['ann@one.test', 'ben@two.test'], { subject: 'slow twice' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 20000, 'the message given up');
    const box = await Promise.all((await f.inbox('alice@example.com')).map(parseDsn));
    assert.deepEqual(
      box.map((d) => d.headers.Subject),
      ['Delayed Mail (still being retried)', 'Undelivered Mail Returned to Sender'],
      'one warning and one bounce for the message, not one of each per destination',
    );
    for (const [d, action] of [
      [box[0], 'delayed'],
      [box[1], 'failed'],
    ] as const)
      assert.deepEqual(d.perRecipient.map((r) => [r['Final-Recipient'], r.Action]).sort(), [
        ['rfc822; ann@one.test', action],
        ['rfc822; ben@two.test', action],
      ]);
  } finally {
    await f.stop();
  }
});

test('a refusal held for its message while another destination is slow keeps its lease: not tried again, one DSN', {
  skip: python.skip,
}, async () => {
  const f = await startOutbound({
    zones: ZONES,
    configure: (c) => {
      c.queue.lease = '2s';
    },
  });
  try {
    const one = await f.mta('127.0.0.2', {
      script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user' : undefined),
    });
    // Answers the end of data after more than a whole lease: ann's refusal waits that long for ben's outcome.
    const two = await f.mta('127.0.0.3', { dataDelayMs: 4500 });
    const id = await f.send(['ann@one.test', 'ben@two.test'], { subject: 'one slow' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 20000, 'the message done');
    assert.equal(two.received().length, 1);
    assert.equal(one.sessions.length, 1, 'the held refusal was not leased and tried again');
    const box = await f.inbox('alice@example.com');
    assert.equal(box.length, 1);
    const d = await parseDsn(box[0]);
    assert.deepEqual(
      d.perRecipient.map((r) => [r['Final-Recipient'], r.Action]),
      [['rfc822; ann@one.test', 'failed']],
    );
  } finally {
    await f.stop();
  }
});

test('a DSN that cannot be stored (its blob volume full) is not lost: the outcome stays unrecorded, and the DSN comes once there is room', {
  skip: python.skip,
}, async (ctx) => {
  // The blob directory on a small file system of the test's own, filled before the runner starts: a tmpfs,
  // which only root (CAP_SYS_ADMIN) may mount. The database stays on the ordinary disk, so recording the
  // outcome still works; only the DSN's content cannot be put.
  const mnt = mkdtempSync(join(tmpdir(), 'petrel-dsn-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  if (m.status !== 0) {
    rmSync(mnt, { recursive: true, force: true });
    const why = m.error?.message ?? m.stderr.toString().trim().split('\n')[0];
    ctx.skip(`cannot mount a tmpfs to fill here (${why}): needs root; skipped even with PETREL_TEST_REQUIRE_PEERS=1`);
    return;
  }
  const log = captureLog<{ msg: string; queueId?: string }>();
  const ids: string[] = [];
  let f: OutboundFixture | null = null;
  try {
    f = await startOutbound({
      zones: ZONES,
      logTo: log.stream,
      configure: (c) => {
        c.blobs.path = join(mnt, 'blobs');
        c.blobs.inline_max = 0;
        c.queue.lease = '2s';
      },
      async beforeServe(app) {
        // Queued (their content stored) before the volume fills up and before the runner starts.
        for (const [from, to] of [
          ['alice@example.com', 'ann@one.test'],
          ['carol@two.test', 'ben@one.test'],
        ])
          ids.push(
            await app.outbound.enqueue({
              from,
              recipients: [{ address: to }],
              raw: Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: bounce ${to}\r\n\r\nbody\r\n`),
            }),
          );
        const fd = openSync(join(mnt, 'filler'), 'w');
        try {
          for (const block = Buffer.alloc(64 * 1024, 1); ; ) writeSync(fd, block);
        } catch (e) {
          assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
        } finally {
          closeSync(fd);
        }
      },
    });
    const fx = f;
    const one = await fx.mta('127.0.0.2', {
      script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user' : undefined),
    });
    const two = await fx.mta('127.0.0.3');
    // Both refused, and neither DSN could be put (ENOSPC): both left unrecorded, still queued.
    await waitFor(
      () => log.lines.filter((l) => /DSN could not be/.test(l.msg)).length >= 2,
      15000,
      'both DSNs to fail',
    );
    for (const id of ids) assert.equal((await fx.app.store.queue.get(id))?.recipients[0].status, 'queued', id);
    assert.deepEqual(await fx.inbox('alice@example.com'), []);
    rmSync(join(mnt, 'filler'));
    // Room again: the leases run out, the recipients are refused again, and this time the DSNs go.
    await waitFor(
      async () => (await Promise.all(ids.map((id) => fx.app.store.queue.get(id)))).every((e) => e === undefined),
      20000,
      'both messages done',
    );
    const [local] = await inboxOf(fx, 1, "the local sender's DSN");
    assert.match(local, /Final-Recipient: rfc822; ann@one\.test/);
    const [remote] = await waitFor(() => two.received().length === 1 && two.received(), 15000, 'the remote DSN');
    assert.equal(remote.from, '');
    assert.deepEqual(remote.rcpts, ['carol@two.test']);
    assert.match(remote.data.toString(), /Final-Recipient: rfc822; ben@one\.test/);
    assert.ok(one.sessions.length >= 2, 'the refusals were tried again');
    assert.equal((await fx.inbox('alice@example.com')).length, 1, 'one DSN, not more');
  } finally {
    await f?.stop();
    spawnSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('a "delivered" DSN that cannot be made at once (its blob volume full) is not lost: it reaches the remote sender once there is room, once', {
  skip: python.skip,
}, async (ctx) => {
  // As above: the blob directory on a small tmpfs of the test's own (root only), the database on the disk.
  const mnt = mkdtempSync(join(tmpdir(), 'petrel-delivered-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt]);
  if (m.status !== 0) {
    rmSync(mnt, { recursive: true, force: true });
    const why = m.error?.message ?? m.stderr.toString().trim().split('\n')[0];
    ctx.skip(`cannot mount a tmpfs to fill here (${why}): needs root; skipped even with PETREL_TEST_REQUIRE_PEERS=1`);
    return;
  }
  const log = captureLog<{ msg: string }>();
  let f: OutboundFixture | null = null;
  try {
    f = await startOutbound({
      zones: ZONES,
      logTo: log.stream,
      configure: (c) => {
        c.blobs.path = join(mnt, 'blobs');
        c.blobs.inline_max = 0;
        c.queue.lease = '2s';
        c.listeners.smtp.enabled = true;
        c.spam.enabled = false;
      },
      beforeServe: async (app) => {
        await app.directory.addAccount('bob@example.com', 'bob-secret-pw');
      },
    });
    const fx = f;
    // carol@one.test's own server, where her DSN goes.
    const one = await fx.mta('127.0.0.2');
    // Room for the message (about 260 KB) but not then for its RET=FULL DSN, which carries it whole.
    const filler = join(mnt, 'filler');
    const fd = openSync(filler, 'w');
    try {
      for (const block = Buffer.alloc(64 * 1024, 1); ; ) writeSync(fd, block);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      closeSync(fd);
    }
    truncateSync(filler, statSync(filler).size - 400 * 1024);
    const body = `${'x'.repeat(76)}\r\n`.repeat(3400);
    const c = await RawSmtp.open(fx.server.ports.smtp);
    try {
      await c.expect(220);
      await c.expect(250, 'EHLO mx.one.test');
      await c.expect(250, 'MAIL FROM:<carol@one.test> RET=FULL ENVID=BIG1');
      await c.expect(250, 'RCPT TO:<bob@example.com> NOTIFY=SUCCESS');
      await c.expect(354, 'DATA');
      await c.expect(250, `From: carol@one.test\r\nTo: bob@example.com\r\nSubject: tell me when\r\n\r\n${body}.`);
      await c.cmd('QUIT').catch(() => {});
    } finally {
      c.close();
    }
    assert.equal((await fx.inbox('bob@example.com')).length, 1, 'delivered');
    await waitFor(() => log.lines.some((l) => /DSN could not be/.test(l.msg)), 15000, 'the DSN to fail');
    assert.equal(one.received().length, 0);
    rmSync(filler);
    // Room again: the DSN is made after all and sent to carol's server.
    const [dsn] = await waitFor(() => one.received().length > 0 && one.received(), 20000, 'the delivered DSN');
    assert.equal(dsn.from, '');
    assert.deepEqual(dsn.rcpts, ['carol@one.test']);
    const d = await parseDsn(dsn.data);
    assert.equal(d.perMessage['Original-Envelope-Id'], 'BIG1');
    assert.deepEqual(
      d.perRecipient.map((r) => [r['Final-Recipient'], r.Action]),
      [['rfc822; bob@example.com', 'delivered']],
    );
    assert.match(d.returned, /Subject: tell me when/);
    // Once: nothing of it is left queued, and no second copy follows.
    await waitFor(async () => (await fx.app.store.queue.list()).length === 0, 10000, 'the queue empty');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(one.received().length, 1, 'one DSN, not more');
    assert.equal((await fx.inbox('bob@example.com')).length, 1, 'the message delivered once');
  } finally {
    await f?.stop();
    spawnSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

test('a message with more recipients than one lease pass takes (50 per free delivery slot) gets one DSN per pass that reports on it (documented, as it is)', {
  skip: python.skip,
}, async () => {
  // One slot: a pass leases 50 recipients; the other 10 are leased by the next pass, once the first is done.
  const f = await startOutbound({ zones: ZONES, configure: (c) => (c.queue.concurrency = 1) });
  try {
    await f.mta('127.0.0.2', { script: (c) => (c.startsWith('RCPT') ? '550 5.1.1 no such user' : undefined) });
    const to = Array.from({ length: 60 }, (_, i) => `user${i}@one.test`);
    const id = await f.send(to, { subject: 'sixty refused' });
    await waitFor(async () => (await f.app.store.queue.get(id)) === undefined, 20000, 'the message done');
    const box = await Promise.all((await inboxOf(f, 2, 'the DSNs')).map(parseDsn));
    assert.deepEqual(
      box.map((d) => d.perRecipient.length),
      [50, 10],
      'one DSN per pass: the first pass reports its 50, the next the 10 left',
    );
    const reported = box.flatMap((d) => d.perRecipient.map((r) => r['Final-Recipient'].replace('rfc822; ', '')));
    assert.deepEqual(reported.sort(), [...to].sort(), 'every recipient reported, once');
  } finally {
    await f.stop();
  }
});
