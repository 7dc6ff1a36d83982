// Submission to the outside world, across SMTP in, the queue, DKIM, SMTP out, DSN and IMAP: real clients
// (nodemailer, swaks) submit with STARTTLS + AUTH PLAIN; the 250 comes once the queue holds the message;
// a private Postfix (the MX of remote.test in the test's DNS) receives it byte for byte with a DKIM
// signature that verifies; a recipient Postfix refuses brings a DSN (RFC 3464) that the sender reads
// over IMAP. Without Postfix: a scripted MTA with CHUNKING and BINARYMIME (Postfix has neither) takes a
// binary submission; a submitted line over 998 octets is refused and never reaches it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { selfSignedCert } from '../helpers/certs.ts';
import { dkimpy, dkimpyPeer, mailDkim, mailDkimPeer } from '../helpers/dkim-verifiers.ts';
import { commonPort } from '../helpers/fake-mta.ts';
import { captureLog } from '../helpers/log-capture.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { peer } from '../helpers/peers.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { type Postfix, startPostfix } from '../helpers/postfix.ts';
import { run } from '../helpers/run.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { fieldNames, PASS, startWorld, USER, verifyDkim } from './world.ts';

const pf = peer('postfix', 'postfix');
const swaks = peer('swaks', 'swaks');
const python = peer('python3', 'python3');
const perlDkim = mailDkimPeer();
const pyDkim = dkimpyPeer();
const verifiers = { skip: perlDkim.skip ?? pyDkim.skip };

function message(to: string, id: string, body: string): string {
  return (
    `From: Alice <${USER}>\r\nTo: <${to}>\r\nSubject: e2e ${id}\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n` +
    `Message-ID: <${id}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Transfer-Encoding: 8bit\r\n\r\n${body}`
  );
}

/** Submits `data` (ending CRLF) as alice over the submission port by DATA. */
async function submitData(f: OutboundFixture, data: string, to: string): Promise<void> {
  const c = await RawSmtp.open(f.server.ports.submission);
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASS}`).toString('base64')}`);
    await c.expect(250, `MAIL FROM:<${USER}>`);
    await c.expect(250, `RCPT TO:<${to}>`);
    await c.expect(354, 'DATA');
    await c.expect(250, `${data}.`);
    await c.cmd('QUIT').catch(() => {});
  } finally {
    c.close();
  }
}

/** The one message in a Postfix mailbox with this Message-ID, with CRLF line ends again. */
function arrived(postfix: Postfix, to: string, id: string): Buffer | undefined {
  const m = postfix.mailbox(to).find((x) => x.includes(`Message-ID: <${id}@example.com>`));
  return m === undefined ? undefined : Buffer.from(m.replace(/\n/g, '\r\n'));
}

/** Checks that Postfix stored the submitted octets after header fields only the two MTAs added. */
function assertArrivedExact(stored: Buffer, sent: string): void {
  const raw = Buffer.from(sent);
  assert.ok(stored.subarray(stored.length - raw.length).equals(raw), 'the submitted octets arrive unchanged');
  const added = fieldNames(stored.subarray(0, stored.length - raw.length).toString());
  // Postfix's virtual delivery: Return-Path, X-Original-To, Delivered-To, Received; then ours: the DKIM
  // signature over our Received (ESMTPSA: authenticated submission) and the message.
  assert.deepEqual(added, ['Return-Path', 'X-Original-To', 'Delivered-To', 'Received', 'DKIM-Signature', 'Received']);
  assert.match(stored.toString(), /^Received: from [^\r]*\r\n\tby mx\.test\.petrel \(Petrel\) with ESMTPSA id /m);
}

describe('submission to the outside world (Postfix as the remote MX)', { skip: pf.skip }, () => {
  let postfix: Postfix;
  let port: number;
  const scratch = mkdtempSync(join(tmpdir(), 'petrel-e2e-sub-'));
  before(async () => {
    port = await commonPort(['127.0.0.2']);
    postfix = await startPostfix({
      host: '127.0.0.2',
      port,
      users: ['bob@remote.test', 'carol@remote.test'],
      tls: await selfSignedCert(['mx.postfix.test']),
    });
  });
  after(async () => {
    await postfix?.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const backend of ['sqlite', 'postgres'] as const) {
    const skip = backend === 'postgres' && !pgTestUrl() ? PG_SKIP_REASON : undefined;

    test(`${backend}: nodemailer and swaks submit (STARTTLS, AUTH PLAIN); 250 once queued; at Postfix byte-exact, DKIM passes`, {
      skip,
      timeout: 60000,
    }, async () => {
      const f = await startWorld({ listeners: ['submission'], port, backend, pgUrl: pgTestUrl() });
      try {
        // The remote domain does not resolve yet: whatever is acknowledged must be held by the queue.
        f.dns.failing.add('remote.test');
        const tag = `${backend}-${Date.now()}`;
        const viaNodemailer = message('bob@remote.test', `nm-${tag}`, 'Grüße von nodemailer.\r\n.dot line\r\n');
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: f.server.ports.submission,
          secure: false,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
          auth: { user: USER, pass: PASS },
          authMethod: 'PLAIN',
        });
        const info = await transport.sendMail({
          envelope: { from: USER, to: ['bob@remote.test'] },
          raw: viaNodemailer,
        });
        transport.close();
        const nmId = /^250 2\.0\.0 OK: queued as (\S+)/.exec(info.response)?.[1];
        assert.ok(nmId, info.response);
        const queued = await f.app.store.queue.get(nmId);
        assert.ok(queued, 'the message acknowledged with 250 is in the queue');
        assert.deepEqual(
          queued.recipients.map((r) => [r.address, r.status]),
          [['bob@remote.test', 'queued']],
        );
        assert.equal(arrived(postfix, 'bob@remote.test', `nm-${tag}`), undefined);

        let swId: string | undefined;
        let viaSwaks: string | undefined;
        if (!swaks.skip) {
          viaSwaks = message('carol@remote.test', `sw-${tag}`, 'Sent by swaks.\r\n..two dots\r\n');
          const file = join(scratch, `${tag}.eml`);
          writeFileSync(file, viaSwaks.slice(0, -2)); // swaks adds the last CRLF before its "."
          const r = await run('swaks', [
            ...['--server', '127.0.0.1', '--port', String(f.server.ports.submission)],
            ...['--tls', '--auth', 'PLAIN', '--auth-user', USER, '--auth-password', PASS],
            ...['--from', USER, '--to', 'carol@remote.test', '--data', `@${file}`],
          ]);
          assert.equal(r.status, 0, r.stdout + r.stderr);
          assert.match(r.stdout, /<- {2}220 2\.0\.0 Ready to start TLS\n=== TLS started/, 'STARTTLS');
          assert.match(r.stdout, /~> AUTH PLAIN /);
          swId = /<~ {2}250 2\.0\.0 OK: queued as (\S+)/.exec(r.stdout)?.[1];
          assert.ok(swId, r.stdout);
          assert.ok(await f.app.store.queue.get(swId), 'swaks got 250 for a queued message');
        }
        // Held while the destination cannot be reached (a failed attempt leaves it queued).
        await waitFor(async () => (await f.app.store.queue.get(nmId))?.recipients[0].attempts, 5000, 'an attempt');
        assert.equal((await f.app.store.queue.get(nmId))?.recipients[0].status, 'queued');

        f.dns.failing.delete('remote.test');
        const stored = await waitFor(() => arrived(postfix, 'bob@remote.test', `nm-${tag}`), 20000, 'delivery');
        assertArrivedExact(stored, viaNodemailer);
        assert.deepEqual(await verifyDkim(f, stored), ['pass d=example.com a=rsa-sha256']);
        await waitFor(async () => (await f.app.store.queue.get(nmId)) === undefined, 5000, 'the queue to let go');
        if (swId && viaSwaks) {
          const s = await waitFor(() => arrived(postfix, 'carol@remote.test', `sw-${tag}`), 20000, 'swaks delivery');
          assertArrivedExact(s, viaSwaks);
          assert.deepEqual(await verifyDkim(f, s), ['pass d=example.com a=rsa-sha256']);
          await waitFor(async () => (await f.app.store.queue.get(swId)) === undefined, 5000, 'the queue to let go');
        }
        assert.deepEqual(await f.inbox(USER), [], 'no report for a successful delivery');
      } finally {
        await f.stop();
      }
    });

    test(`${backend}: Postfix refuses one recipient with 550; the DSN lands in the sender's INBOX, read over IMAP`, {
      skip,
      timeout: 60000,
    }, async () => {
      const f = await startWorld({ listeners: ['submission', 'imap'], port, backend, pgUrl: pgTestUrl() });
      const imap = new ImapFlow({
        host: '127.0.0.1',
        port: f.server.ports.imap,
        secure: false,
        doSTARTTLS: true,
        tls: { rejectUnauthorized: false },
        auth: { user: USER, pass: PASS },
        logger: false,
      });
      try {
        const tag = `${backend}-${Date.now()}`;
        const raw = message('bob@remote.test', `bounce-${tag}`, 'One of you does not exist.\r\n');
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: f.server.ports.submission,
          secure: false,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
          auth: { user: USER, pass: PASS },
          authMethod: 'PLAIN',
        });
        const info = await transport.sendMail({
          envelope: { from: USER, to: ['bob@remote.test', 'ghost@remote.test'] },
          raw,
        });
        transport.close();
        // Both recipients are other domains: accepted at submission, judged by the remote MX later.
        assert.deepEqual(info.accepted, ['bob@remote.test', 'ghost@remote.test']);
        await waitFor(() => arrived(postfix, 'bob@remote.test', `bounce-${tag}`), 20000, 'delivery to bob');

        await imap.connect();
        const count = await waitFor(
          async () => {
            const st = await imap.status('INBOX', { messages: true });
            return st ? st.messages : 0;
          },
          20000,
          'the DSN in INBOX',
        );
        assert.equal(count, 1);
        const lock = await imap.getMailboxLock('INBOX');
        try {
          const m = await imap.fetchOne('1', { envelope: true, bodyStructure: true, source: true });
          assert.ok(m);
          const bs = m.bodyStructure!;
          assert.equal(bs.type, 'multipart/report');
          assert.equal(bs.parameters?.['report-type'], 'delivery-status');
          assert.deepEqual(
            bs.childNodes?.map((c) => c.type),
            ['text/plain', 'message/delivery-status', 'message/rfc822'],
          );
          assert.equal(m.envelope?.subject, 'Undelivered Mail Returned to Sender');
          assert.deepEqual(
            m.envelope?.to?.map((a) => a.address),
            [USER],
          );
          const source = m.source!.toString();
          assert.match(source, /^Return-Path: <>\r\n/m);
          // The delivery-status part, fetched on its own: one per-recipient block, for ghost only.
          const part = await imap.download('1', '2');
          let status = '';
          for await (const chunk of part.content ?? []) status += chunk.toString();
          assert.match(status, /^Reporting-MTA: dns; mx\.test\.petrel\r?$/m);
          const blocks = status.split(/\r?\n\r?\n/).filter((b) => b.trim() !== '');
          assert.equal(blocks.length, 2, status);
          const rcpt = blocks[1];
          assert.match(rcpt, /^Final-Recipient: rfc822; ?ghost@remote\.test\r?$/m);
          assert.match(rcpt, /^Action: failed\r?$/m);
          assert.match(rcpt, /^Status: 5\.1\.1\r?$/m);
          assert.match(rcpt, /^Remote-MTA: dns; ?mx\.postfix\.test/m);
          assert.match(rcpt, /^Diagnostic-Code: smtp; ?550 5\.1\.1 /m);
          assert.doesNotMatch(status, /bob@remote\.test/, 'the delivered recipient is not reported');
          // The returned message is the one sent.
          assert.ok(source.includes(`Message-ID: <bounce-${tag}@example.com>`));
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout().catch(() => {});
        await f.stop();
      }
    });
  }
});

/** Submits `sent` as alice by one BDAT LAST with BODY=BINARYMIME. */
async function submitBinary(f: OutboundFixture, sent: Buffer): Promise<void> {
  const c = await RawSmtp.open(f.server.ports.submission);
  try {
    await c.expect(220);
    await c.expect(250, 'EHLO client.test');
    await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASS}`).toString('base64')}`);
    await c.expect(250, `MAIL FROM:<${USER}> BODY=BINARYMIME`);
    await c.expect(250, 'RCPT TO:<bob@remote.test>');
    c.write(`BDAT ${sent.length} LAST\r\n`);
    c.write(sent);
    await c.expect(250);
    await c.cmd('QUIT').catch(() => {});
  } finally {
    c.close();
  }
}

/** A binary message: a text header section, then `body` as is. */
function binaryMessage(id: string, body: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(
      `From: Alice <${USER}>\r\nTo: <bob@remote.test>\r\nSubject: ${id}\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n` +
        `Message-ID: <${id}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: image/png\r\n` +
        'Content-Transfer-Encoding: binary\r\n\r\n',
    ),
    body,
  ]);
}

// The start of a PNG: CR LF, a lone LF, a lone CR, NUL (RFC 3030 section 3: any octet).
const PNG_START = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x0a, 0x0d, 0x41, 0x0a, 0x0a, 0x0d,
]);

test('BODY=BINARYMIME submitted by BDAT reaches the next hop octet for octet (bare CR and LF in the body), not DKIM-signed (RFC 6376 section 5.3)', async () => {
  const log = captureLog<{ msg: string; queueId?: string; messageId?: string }>();
  const f = await startWorld({ listeners: ['submission'], logTo: log.stream });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'CHUNKING', 'BINARYMIME', 'ENHANCEDSTATUSCODES'],
    });
    const sent = binaryMessage('bin', PNG_START);
    await submitBinary(f, sent);
    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 10000, 'the delivery');
    assert.match(m.mailLine, / BODY=BINARYMIME/);
    assert.ok(m.data.subarray(m.data.length - sent.length).equals(sent), 'the submitted octets arrive unchanged');
    // Verifiers read a bare LF differently (mailauth as CRLF, Mail::DKIM as it is): no signature at all
    // rather than one that fails at some of them.
    assert.doesNotMatch(m.data.toString('latin1'), /^DKIM-Signature:/im);
    const line = log.lines.find((l) => l.msg === 'DKIM: not signing a BINARYMIME body with bare CR or LF');
    assert.ok(line, 'the unsigned message is logged');
    assert.equal(line.messageId, '<bin@example.com>');
    assert.match(line.queueId ?? '', /^[0-9A-F]{16}$/);
  } finally {
    await f.stop();
  }
});

test('a BINARYMIME body with CRLF line ends only is DKIM-signed and verifies with Mail::DKIM and dkimpy; one with a bare LF is not signed', {
  ...verifiers,
}, async () => {
  const f = await startWorld({ listeners: ['submission'] });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'CHUNKING', 'BINARYMIME', 'ENHANCEDSTATUSCODES'],
    });
    const crlf = binaryMessage(
      'bin-crlf',
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x00, 0xff, 0x20, 0x09, 0x0d, 0x0a]),
    );
    const bare = binaryMessage('bin-bare', Buffer.from([0x41, 0x0a, 0x42, 0x0a, 0x00, 0xff, 0x0d, 0x0a]));
    await submitBinary(f, crlf);
    await submitBinary(f, bare);
    const got = await waitFor(() => mta.received().length === 2 && mta.received(), 10000, 'the deliveries');
    const signed = got.find((m) => m.data.includes('Subject: bin-crlf\r\n'))!.data;
    assert.ok(signed.subarray(signed.length - crlf.length).equals(crlf), 'the submitted octets arrive unchanged');
    assert.deepEqual(await mailDkim(f.dns.port, signed), [
      'dkim pass d=example.com a=rsa-sha256 (pass)',
      'arc none (none)',
    ]);
    assert.deepEqual(await dkimpy(f.dns.port, signed), ['dkim pass d=example.com a=rsa-sha256']);
    const unsigned = got.find((m) => m.data.includes('Subject: bin-bare\r\n'))!.data;
    assert.ok(unsigned.subarray(unsigned.length - bare.length).equals(bare), 'the submitted octets arrive unchanged');
    assert.deepEqual(await mailDkim(f.dns.port, unsigned), ['dkim none', 'arc none (none)']);
  } finally {
    await f.stop();
  }
});

test('a submitted line over 998 octets is refused with 550 5.6.0 and never reaches the next hop (RFC 5322 section 2.1.1); 998 passes', {
  skip: python.skip,
}, async () => {
  const f = await startWorld({ listeners: ['submission'] });
  try {
    const mta = await f.mta('127.0.0.2', {
      capabilities: ['PIPELINING', '8BITMIME', 'CHUNKING', 'BINARYMIME', 'ENHANCEDSTATUSCODES'],
    });
    const code = `
import smtplib
s = smtplib.SMTP('127.0.0.1', ${f.server.ports.submission}, timeout=10)
s.ehlo('python.test')
s.login('${USER}', '${PASS}')
def msg(n, tag):
    head = 'From: Alice <${USER}>\\r\\nTo: <bob@remote.test>\\r\\nSubject: %s\\r\\nMessage-ID: <%s@example.com>\\r\\n\\r\\n' % (tag, tag)
    return (head + 'x' * n + '\\r\\nend\\r\\n').encode()
try:
    s.sendmail('${USER}', ['bob@remote.test'], msg(3000, 'long'))
    print('long: accepted')
except smtplib.SMTPDataError as e:
    print('long: %d %s' % (e.smtp_code, e.smtp_error.decode()))
s.sendmail('${USER}', ['bob@remote.test'], msg(998, 'limit'))
print('limit: accepted')
s.quit()
`;
    const r = await run('python3', ['-c', code]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^long: 550 5\.6\.0 Message refused: a line of 3000 octets is longer than the 998 allowed/m);
    assert.match(r.stdout, /^limit: accepted$/m);

    // BDAT too; a BINARYMIME body has no lines to measure.
    const c = await RawSmtp.open(f.server.ports.submission);
    try {
      await c.expect(220);
      await c.expect(250, 'EHLO client.test');
      await c.expect(235, `AUTH PLAIN ${Buffer.from(`\0${USER}\0${PASS}`).toString('base64')}`);
      for (const [body, tag, code] of [
        ['', 'bdat-long', 550],
        [' BODY=BINARYMIME', 'binary-long', 250],
      ] as const) {
        const m = Buffer.from(
          `From: Alice <${USER}>\r\nTo: <bob@remote.test>\r\nSubject: ${tag}\r\nMessage-ID: <${tag}@example.com>\r\n\r\n${'y'.repeat(3000)}\r\n`,
        );
        await c.expect(250, `MAIL FROM:<${USER}>${body}`);
        await c.expect(250, 'RCPT TO:<bob@remote.test>');
        c.write(`BDAT ${m.length} LAST\r\n`);
        c.write(m);
        await c.expect(code, undefined, code === 550 ? /^550 5\.6\.0 / : undefined);
      }
      await c.cmd('QUIT').catch(() => {});
    } finally {
      c.close();
    }

    const got = await waitFor(() => mta.received().length === 2 && mta.received(), 10000, 'the deliveries');
    const subjects = got.map((m) => /^Subject: (\S+)/m.exec(m.data.toString())?.[1]).sort();
    assert.deepEqual(subjects, ['binary-long', 'limit'], 'only the 998-octet line and the binary body went out');
    const limit = got.find((m) => m.data.includes('Subject: limit'))!;
    assert.ok(limit.data.includes(`\r\n${'x'.repeat(998)}\r\nend\r\n`), 'the 998-octet line arrives whole');
  } finally {
    await f.stop();
  }
});

test('DKIM oversigns From, Subject, To, ...: Mail::DKIM and dkimpy pass the message, and fail it once a From, Subject or Reply-To is added on top (RFC 6376 section 8.15)', {
  ...verifiers,
}, async () => {
  const f = await startWorld({ listeners: ['submission'] });
  try {
    const mta = await f.mta('127.0.0.2');
    await submitData(
      f,
      `From: Alice <${USER}>\r\nTo: bob@remote.test\r\nSubject: invoice\r\nDate: Mon, 5 Jan 2026 10:00:00 +0000\r\n` +
        'Message-ID: <oversign@example.com>\r\n\r\nPay the invoice.\r\n',
      'bob@remote.test',
    );
    const [m] = await waitFor(() => mta.received().length === 1 && mta.received(), 10000, 'the delivery');
    const data = m.data.toString('latin1');
    assert.deepEqual(await mailDkim(f.dns.port, data), [
      'dkim pass d=example.com a=rsa-sha256 (pass)',
      'arc none (none)',
    ]);
    assert.deepEqual(await dkimpy(f.dns.port, data), ['dkim pass d=example.com a=rsa-sha256']);
    // Whoever holds one signed message adds fields on top: readers show the topmost From and Subject. Each
    // signed name is listed in h= once more than it occurs, and a missing instance signs as nothing (RFC
    // 6376 section 5.4.2), so an added one is signed data that changed.
    const at = data.indexOf('\r\nFrom: Alice') + 2;
    for (const added of [
      'From: CEO <ceo@example.com>\r\n',
      'Subject: wire 50k to acct 123\r\n',
      'Reply-To: <mallory@evil.test>\r\n',
    ]) {
      const forged = `${data.slice(0, at)}${added}${data.slice(at)}`;
      assert.deepEqual(
        (await mailDkim(f.dns.port, forged))[0],
        'dkim fail d=example.com a=rsa-sha256 (fail (message has been altered))',
        added,
      );
      assert.deepEqual(await dkimpy(f.dns.port, forged), ['dkim fail d=example.com a=rsa-sha256'], added);
    }
  } finally {
    await f.stop();
  }
});

test('DKIM signatures (RSA and Ed25519) of submitted edge cases verify with Mail::DKIM (RSA), dkimpy and mailauth', {
  ...verifiers,
}, async () => {
  const f = await startWorld({ listeners: ['submission'] });
  try {
    const mta = await f.mta('127.0.0.2');
    const ed = await f.app.dkim.generate('example.com', { algorithm: 'ed25519', selector: 'ed' });
    f.dns.set('ed._domainkey.example.com', { TXT: [[ed.record]] });
    const H = `From: ${USER}\r\nTo: bob@remote.test\r\n`;
    const cases: Record<string, string> = {
      folded: `${H}Subject: folded\r\nX-Long: ${'x'.repeat(60)}\r\n ${'y'.repeat(60)}\r\n\t${'z'.repeat(900)}\r\n\r\nHi\r\n`,
      'trailing ws': `From: ${USER}  \r\nTo: bob@remote.test \t\r\nSubject: trailing ws\r\nX-A:   a  \t b \r\n\r\nHi  \r\n  x\t \ty \r\n`,
      twice: `${H}To: carol@remote.test\r\nSubject: twice\r\nSubject: twice 2\r\nCc: a@remote.test\r\nCc: b@remote.test\r\n\r\nHi\r\n`,
      'empty body': `${H}Subject: empty body\r\n\r\n`,
      'trailing lines': `${H}Subject: trailing lines\r\n\r\nHi\r\n\r\n \r\n\t\r\n\r\n`,
      'utf8 Grüße': `From: Ålice <${USER}>\r\nTo: bob@remote.test\r\nSubject: utf8 Grüße\r\n\r\nHällo\r\n`,
      'tab after colon': `From:${USER}\r\nTo:bob@remote.test\r\nSubject:\ttab after colon\r\n\r\nHi\r\n`,
    };
    for (const raw of Object.values(cases)) await submitData(f, raw, 'bob@remote.test');
    const got = await waitFor(
      () => mta.received().length === Object.keys(cases).length && mta.received(),
      15000,
      'the deliveries',
    );
    for (const subject of Object.keys(cases)) {
      const m = got.find((x) => new RegExp(`\r\nSubject:[ \t]${subject}\r\n`).test(x.data.toString()));
      assert.ok(m, subject);
      assert.deepEqual(
        (await mailDkim(f.dns.port, m.data)).slice(0, 2),
        [
          'dkim pass d=example.com a=rsa-sha256 (pass)',
          'dkim invalid d=example.com a=ed25519-sha256 (invalid (unsupported algorithm ed25519-sha256))',
        ],
        subject,
      );
      assert.deepEqual(
        await dkimpy(f.dns.port, m.data),
        ['dkim pass d=example.com a=rsa-sha256', 'dkim pass d=example.com a=ed25519-sha256'],
        subject,
      );
      assert.deepEqual(
        await verifyDkim(f, m.data),
        ['pass d=example.com a=rsa-sha256', 'pass d=example.com a=ed25519-sha256'],
        subject,
      );
    }
  } finally {
    await f.stop();
  }
});
