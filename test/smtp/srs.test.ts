// SRS over the wire: internet mail an alias forwards leaves with an SRS0 envelope sender of the alias's
// domain, and the next receiver (mailauth over the test's DNS) finds SPF passing for us; a bounce sent to
// that address by a remote MTA, and our own DSN when the forward fails, both reach the original sender's
// MX (fake MTAs on 127.0.0.2 and 127.0.0.3) with the null sender; a forged SRS address is refused.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import nodemailer from 'nodemailer';
import type { FakeMta } from '../helpers/fake-mta.ts';
import { type OutboundFixture, waitFor } from '../helpers/outbound.ts';
import { message, send, startSpamWorld, verifyAtReceiver } from '../spam/fixture.ts';

let f: OutboundFixture;
let remote: FakeMta;
let senderMx: FakeMta;

before(async () => {
  f = await startSpamWorld({
    zones: {
      'sender.test': { TXT: [['v=spf1 ip4:127.0.0.5 -all']], MX: [{ preference: 10, exchange: 'mx.sender.test' }] },
      'mx.sender.test': { A: ['127.0.0.3'] },
      'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
      'mx.remote.test': { A: ['127.0.0.2'] },
      // Our queue sends from 127.0.0.1: what the forwarding domain publishes.
      'example.com': { TXT: [['v=spf1 ip4:127.0.0.1 -all']] },
    },
    hosts: ['127.0.0.2', '127.0.0.3'],
  });
  await f.app.directory.addAlias('fwd@example.com', ['carol@remote.test']);
  await f.app.directory.addAlias('gone@example.com', ['nobody@remote.test']);
  remote = await f.mta('127.0.0.2', {
    script: (cmd) => (/^RCPT TO:<nobody@remote\.test>/i.test(cmd) ? '550 5.1.1 no such user' : undefined),
  });
  senderMx = await f.mta('127.0.0.3');
});

after(async () => {
  await f?.stop();
});

/** Sends raw mail to our MX from a remote MTA's address. */
async function bounceTo(to: string, from = ''): Promise<{ ok: boolean; response: string }> {
  const t = nodemailer.createTransport({
    host: '127.0.0.1',
    port: f.server.ports.smtp,
    ignoreTLS: true,
    localAddress: '127.0.0.2',
    name: 'mx.remote.test',
  });
  try {
    const info = await t.sendMail({
      envelope: { from, to: [to] },
      raw: 'From: MAILER-DAEMON@mx.remote.test\r\nTo: ' + to + '\r\nSubject: Undelivered Mail\r\n\r\nIt bounced.\r\n',
    });
    return { ok: true, response: info.response };
  } catch (e) {
    return { ok: false, response: (e as { response?: string }).response ?? String(e) };
  } finally {
    t.close();
  }
}

let srsAddress = '';

test('forwarded internet mail leaves with an SRS sender of the alias domain; SPF passes at the next hop', async () => {
  const r = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.sender.test',
    from: 'bob@sender.test',
    to: ['fwd@example.com'],
    raw: message('Bob <bob@sender.test>', 'to forward'),
  });
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => remote.received().length === 1 && remote.received(), 15000, 'the forwarded copy');
  assert.match(m.from, /^SRS0=[A-Z2-7]{6}=[A-Z2-7]{2}=sender\.test=bob@example\.com$/);
  srsAddress = m.from;
  // The header From is untouched: only the envelope changes.
  assert.match(m.data.toString(), /^From: Bob <bob@sender\.test>\r$/m);
  const res = await verifyAtReceiver(f, m.data, m.from, { arc: false });
  assert.equal(res.spf ? res.spf.status.result : 'none', 'pass');
});

test('a bounce to the SRS address is relayed to the original sender with the null sender', async () => {
  assert.ok(srsAddress, 'the first test made an SRS address');
  const r = await bounceTo(srsAddress);
  assert.ok(r.ok, r.response);
  const [m] = await waitFor(() => senderMx.received().length === 1 && senderMx.received(), 15000, 'the relayed bounce');
  assert.deepEqual(m.rcpts, ['bob@sender.test']);
  assert.equal(m.from, '');
  assert.match(m.data.toString(), /Subject: Undelivered Mail/);
});

test('forged, tampered and foreign SRS addresses are refused at RCPT; nothing is relayed', async () => {
  const local = srsAddress.slice(0, srsAddress.lastIndexOf('@'));
  for (const to of [
    srsAddress.replace('=bob@', '=eve@'),
    `${local.replace(/^SRS0=[A-Z2-7]{6}/, 'SRS0=AAAAAA')}@example.com`,
    'SRS0=ABCDEF=AA=victim.test=eve@example.com',
  ]) {
    const r = await bounceTo(to);
    assert.equal(r.ok, false, to);
    assert.match(r.response, /^550 5\.7\.1 .*SRS/, to);
  }
  // An SRS address in a domain that is not ours is plain relaying: refused.
  const r = await bounceTo(srsAddress.replace('@example.com', '@elsewhere.test'));
  assert.match(r.response, /^554 5\.7\.1 .*Relay access denied/);
  assert.equal(senderMx.received().length, 1);
});

test('when the forward fails, our DSN goes to the original sender, not to the SRS address', async () => {
  const r = await send(f, {
    ip: '127.0.0.5',
    helo: 'mail.sender.test',
    from: 'bob@sender.test',
    to: ['gone@example.com'],
    raw: message('Bob <bob@sender.test>', 'to a dead end'),
  });
  assert.ok(r.ok, r.response);
  const [, dsn] = await waitFor(() => senderMx.received().length === 2 && senderMx.received(), 20000, 'the DSN');
  assert.deepEqual(dsn.rcpts, ['bob@sender.test']);
  assert.equal(dsn.from, '');
  assert.match(dsn.data.toString(), /multipart\/report; report-type=delivery-status/);
  assert.match(dsn.data.toString(), /nobody@remote\.test/);
});
