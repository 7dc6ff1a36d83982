// Virus scanning over the wire against a real clamd (Debian clamav-daemon) with a signature database of the
// test's own: mail arrives by SMTP (nodemailer from 127.0.0.x); a clean message is delivered and its stored
// verdict shows the scan; the marker inside a base64 attachment or a zip is refused during DATA (550 5.7.1,
// nothing delivered), so clamd decoded the MIME and the archive; action = junk files it in Junk instead; the
// Unix socket works as TCP does; a scanner that is down or never answers defers (451) and the retry passes
// once it is back, or, with on_error = accept, the message passes marked ANTIVIRUS_FAIL; a message above
// max_size is not sent to clamd; what an authenticated user submits is scanned too (554 before queueing).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import type { Config } from '../../src/config/schema.ts';
import { ClamdTooLarge, clamdScan } from '../../src/spam/antivirus/clamd-client.ts';
import { type Clamd, MARKER, startClamd, VIRUS_NAME } from '../helpers/clamd.ts';
import { captureLog } from '../helpers/log-capture.ts';
import type { OutboundFixture } from '../helpers/outbound.ts';
import { freePort, peer } from '../helpers/peers.ts';
import { mailbox, message, send, startSpamWorld, submit, USER, verdictSymbols } from './fixture.ts';

const clamdBin = peer('clamd', 'clamav-daemon');
const python = peer('python3', 'python3');
const skip = clamdBin.skip ?? python.skip;

let clamd: Clamd | undefined;
before(async () => {
  if (!skip) clamd = await startClamd(clamdBin.path!);
});
after(async () => {
  await clamd?.stop();
});

const FROM = 'sender@outside.test';

/** A message with one base64 attachment (so the marker never appears in the raw message as such). */
function withAttachment(subject: string, filename: string, type: string, data: Buffer): string {
  const b64 = data
    .toString('base64')
    .replace(/.{1,76}/g, '$&\r\n')
    .trimEnd();
  return message(FROM, subject, '', 'This is a MIME message.\r\n').replace(
    'Content-Type: text/plain\r\n\r\nThis is a MIME message.\r\n',
    'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
      '--b1\r\nContent-Type: text/plain\r\n\r\nPlease see the attached file.\r\n' +
      `--b1\r\nContent-Type: ${type}; name="${filename}"\r\nContent-Disposition: attachment; filename="${filename}"\r\n` +
      `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--b1--\r\n`,
  );
}

/** A zip holding `name` with `data`, made by Python's zipfile (deflated). */
function zipOf(name: string, data: string): Buffer {
  return execFileSync(
    python.path!,
    [
      '-c',
      'import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,"w",zipfile.ZIP_DEFLATED)\nz.writestr(sys.argv[1],sys.argv[2])\nz.close()\nsys.stdout.buffer.write(b.getvalue())',
      name,
      data,
    ],
    { maxBuffer: 1 << 20 },
  );
}

/** A clean message is delivered marked ANTIVIRUS_CLEAN and one with the test signature refused: clamd answered. */
async function scansBoth(f: OutboundFixture): Promise<void> {
  const clean = await deliver(f, withAttachment('clean', 'a.txt', 'text/plain', Buffer.from('nothing here')));
  assert.ok(clean.ok, clean.response);
  assert.equal((await verdictSymbols(f, USER)).ANTIVIRUS_CLEAN, 0);
  const infected = await deliver(f, withAttachment('infected', 'a.txt', 'text/plain', Buffer.from(`x ${MARKER} y`)));
  assert.equal(infected.code, 550, infected.response);
}

async function world(configure: (c: Config['spam']['antivirus']) => void): Promise<OutboundFixture> {
  return startSpamWorld({
    configure(c) {
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = `127.0.0.1:${clamd!.port}`;
      configure(c.spam.antivirus);
    },
  });
}

const deliver = (f: OutboundFixture, raw: string) =>
  send(f, { ip: '127.0.0.41', helo: 'mail.outside.test', from: FROM, raw });
const subjects = async (f: OutboundFixture, box: string) =>
  (await mailbox(f, USER, box)).map((m) => /Subject: (.*)\r\n/.exec(m)![1]);

test('clamd over TCP: clean mail is delivered, a virus in an attachment or a zip is refused during DATA', {
  skip,
  timeout: 60000,
}, async () => {
  const f = await world(() => {});
  try {
    const clean = await deliver(f, withAttachment('clean', 'notes.txt', 'text/plain', Buffer.from('nothing here\r\n')));
    assert.ok(clean.ok, clean.response);
    assert.deepEqual(await subjects(f, 'INBOX'), ['clean']);
    assert.equal((await verdictSymbols(f, USER)).ANTIVIRUS_CLEAN, 0);

    const infected = await deliver(
      f,
      withAttachment('infected', 'invoice.pdf', 'application/pdf', Buffer.from(`%PDF-1.4 ${MARKER} %%EOF`)),
    );
    assert.equal(infected.code, 550, infected.response);
    assert.match(infected.response, new RegExp(`^550 5\\.7\\.1 Virus found: ${VIRUS_NAME.replace(/\./g, '\\.')}`));

    const zipped = await deliver(
      f,
      withAttachment('zipped', 'docs.zip', 'application/zip', zipOf('readme.txt', `hello ${MARKER} bye`)),
    );
    assert.equal(zipped.code, 550, zipped.response);
    assert.match(zipped.response, /Virus found/);

    // postmaster@ takes spam (spam.exempt_recipients), but not viruses.
    await f.app.directory.addAccount('postmaster@example.com', 'postmaster-pw-1');
    const toPostmaster = await send(f, {
      ip: '127.0.0.41',
      helo: 'mail.outside.test',
      from: FROM,
      to: ['postmaster@example.com'],
      raw: withAttachment('to postmaster', 'x.txt', 'text/plain', Buffer.from(`x ${MARKER} y`)),
    });
    assert.equal(toPostmaster.code, 550, toPostmaster.response);

    // Nothing of any was delivered; the refusals are on record with the virus's name.
    assert.deepEqual(await subjects(f, 'INBOX'), ['clean']);
    const refusals = await f.app.store.spam.recentRefusals(10);
    assert.equal(refusals.length, 3);
    for (const r of refusals) {
      assert.equal(r.action, 'reject');
      const v = (JSON.parse(r.symbols) as { name: string; detail?: string }[]).find((s) => s.name === 'VIRUS_FOUND');
      assert.equal(v?.detail, `Virus found: ${VIRUS_NAME}`);
    }
  } finally {
    await f.stop();
  }
});

test('clamd over its Unix socket with action = junk: the infected message goes to Junk, flagged', {
  skip,
  timeout: 60000,
}, async () => {
  const f = await world((a) => {
    a.clamd = clamd!.socket;
    a.action = 'junk';
  });
  try {
    const r = await deliver(f, withAttachment('to junk', 'a.txt', 'text/plain', Buffer.from(`x ${MARKER} y`)));
    assert.ok(r.ok, r.response);
    assert.deepEqual(await subjects(f, 'Junk'), ['to junk']);
    assert.deepEqual(await subjects(f, 'INBOX'), []);
    const [stored] = await mailbox(f, USER, 'Junk');
    assert.match(stored, /X-Spam-Flag: YES/);
    assert.match(stored, /VIRUS_FOUND=10/);
    assert.equal((await verdictSymbols(f, USER)).VIRUS_FOUND, 10);
  } finally {
    await f.stop();
  }
});

test('a scanner that is down or never answers defers the message (451); the retry passes once it is back', {
  skip,
  timeout: 60000,
}, async () => {
  // Between Petrel and clamd, a relay of the test's own: hangs up at once (down), reads and never answers
  // (hung), or passes the bytes on (up).
  let mode: 'down' | 'hung' | 'up' = 'down';
  const sockets: Socket[] = [];
  const relay: Server = createServer((s) => {
    sockets.push(s);
    if (mode === 'down') return s.destroy();
    if (mode === 'hung') return void s.resume();
    const c = connect({ host: '127.0.0.1', port: clamd!.port });
    sockets.push(c);
    s.pipe(c).pipe(s);
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  const port = (relay.address() as { port: number }).port;
  const f = await world((a) => {
    a.clamd = `127.0.0.1:${port}`;
    a.timeout_ms = 500;
  });
  try {
    const raw = withAttachment('retried', 'a.txt', 'text/plain', Buffer.from('harmless'));
    const down = await deliver(f, raw);
    assert.equal(down.code, 451, down.response);
    assert.match(down.response, /^451 4\.7\.1 Message could not be scanned for viruses/);
    assert.doesNotMatch(down.response, new RegExp(String(port)), 'the scanner address stays private');
    // Nor is a sender on the allow list (ALLOWLISTED, a score far below the greylisting threshold) let in
    // unscanned: the deferral is not greylisting.
    await f.app.store.spam.addListEntry({
      kind: 'allow',
      accountId: null,
      entry: '127.0.0.42',
      note: '',
      createdAt: Date.now(),
    });
    const trusted = await send(f, { ip: '127.0.0.42', helo: 'mail.outside.test', from: FROM, raw });
    assert.equal(trusted.code, 451, trusted.response);

    mode = 'hung';
    const hung = await deliver(f, raw);
    assert.equal(hung.code, 451, hung.response);

    mode = 'up';
    const retry = await deliver(f, raw);
    assert.ok(retry.ok, retry.response);
    assert.deepEqual(await subjects(f, 'INBOX'), ['retried']);
    assert.equal((await verdictSymbols(f, USER)).ANTIVIRUS_CLEAN, 0);
    const deferred = (await f.app.store.spam.recentRefusals(10)).filter((r) => r.action === 'greylist');
    assert.equal(deferred.length, 3);
  } finally {
    await f.stop();
    for (const s of sockets) s.destroy();
    relay.close();
  }
});

test('on_error = accept lets mail through unscanned, marked; max_size skips large messages', {
  skip,
  timeout: 60000,
}, async () => {
  const closed = await freePort();
  const f = await world((a) => {
    a.clamd = `127.0.0.1:${closed}`;
    a.on_error = 'accept';
  });
  try {
    const r = await deliver(f, withAttachment('unscanned', 'a.txt', 'text/plain', Buffer.from(MARKER)));
    assert.ok(r.ok, r.response);
    const v = await verdictSymbols(f, USER);
    assert.equal(v.ANTIVIRUS_FAIL, 0);
    assert.equal(v.VIRUS_FOUND, undefined);
  } finally {
    await f.stop();
  }
  const g = await world((a) => {
    a.max_size = 2048;
  });
  try {
    const big = withAttachment('big', 'a.txt', 'text/plain', Buffer.from(`${'z'.repeat(4000)} ${MARKER}`));
    const r = await deliver(g, big);
    assert.ok(r.ok, r.response);
    const v = await verdictSymbols(g, USER);
    assert.equal(v.ANTIVIRUS_SKIPPED, 0);
    // Below the limit the same content is refused: the skip was the size, not the scanner.
    const small = await deliver(g, withAttachment('small', 'a.txt', 'text/plain', Buffer.from(MARKER)));
    assert.equal(small.code, 550, small.response);
  } finally {
    await g.stop();
  }
});

test('clamd refusing a stream past its StreamMaxLength is an error with its reply, not a hang or a crash', {
  skip,
  timeout: 60000,
}, async () => {
  // The helper's clamd takes 10 MB; it answers and hangs up while the client is still writing.
  const big = Buffer.alloc(11 * 1024 * 1024, 'a');
  await assert.rejects(
    clamdScan({ host: '127.0.0.1', port: clamd!.port }, big, { timeoutMs: 20000 }),
    /clamd: INSTREAM size limit exceeded/,
  );
  // And it still scans afterwards.
  assert.deepEqual(await clamdScan({ path: clamd!.socket }, Buffer.from(`a ${MARKER} b`), { timeoutMs: 5000 }), {
    infected: true,
    name: VIRUS_NAME,
  });
});

test('what our own users send is scanned too: an infected submission is refused (554) before it is queued', {
  skip,
  timeout: 60000,
}, async () => {
  const own = (subject: string, data: string) =>
    withAttachment(subject, 'a.txt', 'text/plain', Buffer.from(data)).replace(`From: ${FROM}`, `From: ${USER}`);
  const f = await startSpamWorld({
    configure(c) {
      c.listeners.submission.enabled = true;
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = clamd!.socket;
    },
  });
  try {
    const infected = await submit(f, { to: [USER], raw: own('infected', `x ${MARKER} y`) });
    assert.equal(infected.code, 554, infected.response);
    assert.match(infected.response, new RegExp(`^554 5\\.7\\.1 Virus found: ${VIRUS_NAME.replace(/\./g, '\\.')}`));
    const clean = await submit(f, { to: [USER], raw: own('clean', 'nothing') });
    assert.ok(clean.ok, clean.response);
    assert.deepEqual(await subjects(f, 'INBOX'), ['clean']);
  } finally {
    await f.stop();
  }
  const g = await startSpamWorld({
    configure(c) {
      c.listeners.submission.enabled = true;
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = clamd!.socket;
      c.spam.antivirus.scan_submission = false;
    },
  });
  try {
    const passed = await submit(g, { to: [USER], raw: own('not scanned', `x ${MARKER} y`) });
    assert.ok(passed.ok, passed.response);
  } finally {
    await g.stop();
  }
});

test('a message clamd refuses as past its StreamMaxLength is skipped (ANTIVIRUS_SKIPPED), not deferred at every retry', {
  skip,
  timeout: 60000,
}, async () => {
  // Petrel's max_size (25 MB) above this clamd's StreamMaxLength (64 KB): Debian's clamd.conf says 25M,
  // clamd's own default is 100M, so the two differ as soon as either is changed alone. The retry would be
  // refused the same, so a 451 would keep the message queued at the sender until it bounces.
  const small = await startClamd(clamdBin.path!, { streamMaxLength: '64K' });
  const f = await startSpamWorld({
    configure(c) {
      c.listeners.submission.enabled = true;
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = small.socket;
    },
  });
  try {
    const big = Buffer.from(`${'harmless text\r\n'.repeat(6000)}`);
    const r = await deliver(f, withAttachment('big', 'a.txt', 'text/plain', big));
    assert.ok(r.ok, r.response);
    assert.deepEqual(await subjects(f, 'INBOX'), ['big']);
    const v = await verdictSymbols(f, USER);
    assert.equal(v.ANTIVIRUS_SKIPPED, 0);
    assert.equal(v.ANTIVIRUS_FAIL, undefined);
    // Our own users' large mail too.
    const own = withAttachment('own big', 'a.txt', 'text/plain', big).replace(`From: ${FROM}`, `From: ${USER}`);
    const sub = await submit(f, { to: [USER], raw: own });
    assert.ok(sub.ok, sub.response);
    // Below the limit the same clamd scans: a virus is still refused.
    const infected = await deliver(f, withAttachment('small', 'a.txt', 'text/plain', Buffer.from(`x ${MARKER} y`)));
    assert.equal(infected.code, 550, infected.response);
    // clamd answers and closes while the client still writes: the write that fails then must not hide its
    // answer (it did, one time in three, for 2 MB over TCP), whichever socket and however often.
    const huge = Buffer.alloc(2_000_000, 'a');
    for (let i = 0; i < 10; i++)
      for (const addr of [{ path: small.socket }, { host: '127.0.0.1', port: small.port }])
        await assert.rejects(clamdScan(addr, huge, { timeoutMs: 20000 }), ClamdTooLarge);
  } finally {
    await f.stop();
    await small.stop();
  }
});

test('clamd = "localhost:port" reaches the local clamd without asking DNS (RFC 6761 section 6.3)', {
  skip,
  timeout: 60000,
}, async () => {
  // The test's DNS server knows nothing of "localhost", as a recursive resolver need not either; clamdscan
  // and Haraka (whose default is localhost:3310) reach it through the system's name service.
  const f = await world((a) => {
    a.clamd = `localhost:${clamd!.port}`;
  });
  try {
    await scansBoth(f);
  } finally {
    await f.stop();
  }
});

test('a clamd host name with only an IPv6 address (AAAA) is reached, as getaddrinfo would reach it', {
  skip,
  timeout: 60000,
}, async () => {
  // An IPv6-only network (a single-stack cluster's service name): no A record. The address is the
  // IPv4-mapped form of the loopback, so that the test's traffic stays on 127.0.0.1.
  const f = await world((a) => {
    a.clamd = `clamav.internal.test:${clamd!.port}`;
  });
  f.dns.set('clamav.internal.test', { AAAA: ['::ffff:127.0.0.1'] });
  try {
    await scansBoth(f);
  } finally {
    await f.stop();
  }
});

test("a burst of messages while clamd's listen queue is full waits for room: none is deferred", {
  skip,
  timeout: 60000,
}, async () => {
  // One scanning thread, a queue of two and a listen queue of one (Debian's clamd.conf has 12, 100 and 15,
  // which a burst of a hundred messages fills the same): clamd accepts no more connections until one ends,
  // and a Unix socket then refuses a connect at once (EAGAIN) where clamdscan's blocking connect waits.
  const busy = await startClamd(clamdBin.path!, {
    extra: ['MaxThreads 1', 'MaxQueue 2', 'MaxConnectionQueueLength 1'],
  });
  const f = await startSpamWorld({
    configure(c) {
      c.spam.antivirus.enabled = true;
      c.spam.antivirus.clamd = busy.socket;
    },
  });
  try {
    const body = Buffer.from('harmless text\r\n'.repeat(20000));
    const results = await Promise.all(
      Array.from({ length: 16 }, (_, i) => deliver(f, withAttachment(`burst ${i}`, 'a.txt', 'text/plain', body))),
    );
    assert.deepEqual(
      results.map((r) => r.code),
      results.map(() => 250),
      results.map((r) => r.response).join('\n'),
    );
    assert.equal((await subjects(f, 'INBOX')).length, 16);
    // And the same burst straight to the client, with no SMTP sessions to spread it.
    const scans = await Promise.all(
      Array.from({ length: 20 }, () => clamdScan({ path: busy.socket }, body, { timeoutMs: 20000 })),
    );
    assert.ok(scans.every((s) => !s.infected));
  } finally {
    await f.stop();
    await busy.stop();
  }
});

test('at start, a clamd named by host name is looked up and pinged: the log says whether it answers', {
  skip,
  timeout: 60000,
}, async () => {
  const said = async (name: string, zones: Record<string, { A: string[] }>) => {
    const log = captureLog<{ msg: string; level: string }>();
    const f = await startSpamWorld({
      logTo: log.stream,
      zones,
      configure(c) {
        c.spam.antivirus.enabled = true;
        c.spam.antivirus.clamd = `${name}:${clamd!.port}`;
        c.spam.antivirus.timeout_ms = 500;
      },
    });
    try {
      for (let i = 0; i < 100 && !log.lines.some((l) => /^antivirus: clamd/.test(l.msg)); i++)
        await new Promise((r) => setTimeout(r, 50));
      return log.lines.filter((l) => /^antivirus: clamd/.test(l.msg)).map((l) => `${l.level} ${l.msg}`);
    } finally {
      await f.stop();
    }
  };
  assert.deepEqual(await said('clamav.internal.test', { 'clamav.internal.test': { A: ['127.0.0.1'] } }), [
    'info antivirus: clamd answers',
  ]);
  const missing = await said('nowhere.internal.test', {});
  assert.equal(missing.length, 1);
  assert.match(missing[0], /^warn antivirus: clamd does not answer/);
});
