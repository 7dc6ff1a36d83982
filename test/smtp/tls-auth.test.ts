// STARTTLS (no command injection across the TLS boundary), AUTH PLAIN/LOGIN (RFC 4954), where AUTH is
// refused (MX; plaintext from non-loopback), which senders an authenticated submitter may use, and that a
// session whose account is removed or disabled after AUTH sends nothing more.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import type { OutboundMessage } from '../../src/core/ports.ts';
import { peer } from '../helpers/peers.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, PASSWORD, type SmtpTestServer, splitTrace, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
let strict: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  await t.app.directory.addAlias(`sales@${DOMAIN}`, [`alice@${DOMAIN}`]);
  await t.app.directory.addAlias(`team@${DOMAIN}`, [`alice@${DOMAIN}`, `bob@${DOMAIN}`]);
  await t.app.directory.addAlias(`bobs@${DOMAIN}`, [`bob@${DOMAIN}`]);
  await t.app.directory.addAccount(`dora@${DOMAIN}`, PASSWORD);
  const dora = await t.app.store.getAccount(`dora@${DOMAIN}`);
  await t.app.store.updateAccount(dora!.id, { sendAs: 'domain' });
  // Loopback treated like any other address: no AUTH before TLS.
  strict = await startSmtpServer({ configure: (c) => (c.smtp.allow_plaintext_loopback = false) });
});
after(async () => {
  await t.stop();
  await strict.stop();
});

const plain = (user: string, pass = PASSWORD) => Buffer.from(`\0${user}\0${pass}`).toString('base64');

test('STARTTLS: a command pipelined behind it in plaintext is discarded, never executed', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO inject.test');
  c.write('STARTTLS\r\nMAIL FROM:<injected@remote.test>\r\n');
  await c.expect(220, undefined, /2\.0\.0 Ready to start TLS/);
  await c.startTls();
  // After the handshake the session starts over: EHLO is needed, and no MAIL FROM is in effect.
  await c.expect(503, `RCPT TO:<alice@${DOMAIN}>`, /EHLO/);
  const ehlo = await c.expect(250, 'EHLO inject.test');
  assert.ok(!ehlo.lines.includes('STARTTLS'), 'no STARTTLS once TLS is on');
  assert.ok(ehlo.lines.includes('REQUIRETLS'), 'REQUIRETLS only over TLS');
  await c.expect(503, `RCPT TO:<alice@${DOMAIN}>`, /MAIL/);
  await c.expect(503, 'STARTTLS', /already/);
  c.close();
});

test('AUTH PLAIN with an initial response; wrong password gets 535 5.7.8', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  const ehlo = await c.expect(250, 'EHLO user.test');
  assert.ok(ehlo.lines.includes('AUTH SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2'));
  await c.expect(535, `AUTH PLAIN ${plain(`alice@${DOMAIN}`, 'wrong')}`, /5\.7\.8/);
  await c.expect(235, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`, /2\.7\.0/);
  await c.expect(503, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`, /Already/);
  c.close();
});

test('AUTH PLAIN without initial response, and cancelling with *', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO user.test');
  await c.expect(334, 'AUTH PLAIN');
  await c.expect(501, '*', /cancelled/);
  await c.expect(334, 'AUTH PLAIN');
  await c.expect(235, plain(`bob@${DOMAIN}`));
  c.close();
});

test('an over-long SASL response is refused and the session goes on', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO user.test');
  await c.expect(334, 'AUTH PLAIN');
  await c.expect(500, 'A'.repeat(13000), /5\.5\.6/);
  await c.expect(235, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`);
  c.close();
});

test('AUTH LOGIN, and a mechanism we do not offer', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO user.test');
  await c.expect(504, 'AUTH CRAM-MD5');
  await c.expect(334, 'AUTH LOGIN', /VXNlcm5hbWU6/);
  await c.expect(334, Buffer.from(`alice@${DOMAIN}`).toString('base64'), /UGFzc3dvcmQ6/);
  await c.expect(235, Buffer.from(PASSWORD).toString('base64'));
  c.close();
});

test('AUTH before TLS from a non-loopback client is refused and not offered; after STARTTLS it works', async () => {
  const c = await RawSmtp.open(strict.ports.submission);
  await c.expect(220);
  const ehlo = await c.expect(250, 'EHLO user.test');
  assert.ok(!ehlo.lines.some((l) => l.startsWith('AUTH')));
  await c.expect(538, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`, /5\.7\.11/);
  await c.expect(220, 'STARTTLS');
  await c.startTls();
  const ehlo2 = await c.expect(250, 'EHLO user.test');
  assert.ok(ehlo2.lines.includes('AUTH SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2'));
  await c.expect(235, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`);
  c.close();
});

/** An authenticated submission session for `user`. */
async function submitter(user: string) {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO user.test');
  await c.expect(235, `AUTH PLAIN ${plain(user)}`);
  return c;
}

test('sender policy "own": own address, +tag, aliases and groups that reach the account; nothing else', async () => {
  const c = await submitter(`alice@${DOMAIN}`);
  for (const ok of [
    `alice@${DOMAIN}`,
    `ALICE@${DOMAIN.toUpperCase()}`,
    `alice+news@${DOMAIN}`,
    `sales@${DOMAIN}`,
    `team@${DOMAIN}`,
  ]) {
    await c.expect(250, `MAIL FROM:<${ok}>`);
    await c.expect(250, 'RSET');
  }
  for (const bad of [`bob@${DOMAIN}`, `bobs@${DOMAIN}`, 'alice@elsewhere.test', '']) {
    await c.expect(553, `MAIL FROM:<${bad}>`, /5\.7\.1/);
  }
  c.close();
});

test('sender policy "own": an alias whose target names an IDN account by its U-label is the account\'s own', async () => {
  await t.app.directory.addDomain('bücher.test');
  await t.app.directory.addAccount('bob@bücher.test', PASSWORD);
  await t.app.directory.addAlias(`buch@${DOMAIN}`, ['bob@bücher.test']);
  // An alias stored before targets were normalised keeps its U-label target; it counts as well.
  await t.app.store.createAlias({
    address: `kept@${DOMAIN}`,
    domainId: (await t.app.store.getDomain(DOMAIN))!.id,
    kind: 'alias',
    targets: ['bob@bücher.test'],
  });
  const c = await submitter('bob@xn--bcher-kva.test');
  for (const ok of [`buch@${DOMAIN}`, `kept@${DOMAIN}`]) {
    await c.expect(250, `MAIL FROM:<${ok}>`);
    await c.expect(250, 'RSET');
  }
  await c.expect(553, `MAIL FROM:<sales@${DOMAIN}>`, /5\.7\.1/);
  c.close();
});

test('sender policy "domain": any address of the account domain', async () => {
  const c = await submitter(`dora@${DOMAIN}`);
  await c.expect(250, `MAIL FROM:<anything@${DOMAIN}>`);
  await c.expect(250, 'RSET');
  await c.expect(553, 'MAIL FROM:<dora@elsewhere.test>');
  c.close();
});

test('the From: header must belong to the submitter as well', async () => {
  const c = await submitter(`alice@${DOMAIN}`);
  await c.expect(250, `MAIL FROM:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ from: `Bob <bob@${DOMAIN}>`, to: `bob@${DOMAIN}` })}.\r\n`);
  await c.expect(550, undefined, /5\.7\.1 From: header/);
  await c.expect(250, `MAIL FROM:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  const ok = message({ from: `Sales <sales@${DOMAIN}>`, to: `bob@${DOMAIN}`, id: 'from-ok@test' });
  c.write(`${ok}.\r\n`);
  await c.expect(250);
  c.close();
  const bob = await t.inbox(`bob@${DOMAIN}`);
  assert.equal(splitTrace(bob[bob.length - 1]).rest.toString(), ok);
});

test('every From: and Sender: counts: a second From, one after 2,000 other fields, a Sender of another user (with or without a From)', async () => {
  const own = `alice@${DOMAIN}`;
  for (const [name, header] of [
    ['a second From', `From: ${own}\r\nFrom: Bob <bob@${DOMAIN}>\r\n`],
    ['two of her own', `From: ${own}\r\nFrom: ${own}\r\n`],
    ['a From after 2,000 fields', `${'X-A: 1\r\n'.repeat(2000)}From: Bob <bob@${DOMAIN}>\r\n`],
    ['a Sender of another user', `From: ${own}\r\nSender: bob@${DOMAIN}\r\n`],
    // No From: a reader shows the Sender instead, and a second one after it is still another user's.
    ['a Sender of another user and no From', `Sender: Bob <bob@${DOMAIN}>\r\n`],
    ['her own Sender and then another', `Sender: ${own}\r\nSender: bob@${DOMAIN}\r\n`],
  ]) {
    const c = await submitter(own);
    await c.expect(250, `MAIL FROM:<${own}>`);
    await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
    await c.expect(354, 'DATA');
    const r = await c.cmd(`${header}To: bob@${DOMAIN}\r\nSubject: s\r\n\r\nbody\r\n.`);
    assert.equal(r.code, 550, `${name}: ${r.raw}`);
    c.close();
  }
  // Her own address as Sender, with From an alias of hers: allowed.
  const c = await submitter(own);
  await c.expect(250, `MAIL FROM:<${own}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  const r = await c.cmd(
    `From: Sales <sales@${DOMAIN}>\r\nSender: ${own}\r\nTo: bob@${DOMAIN}\r\nSubject: s\r\n\r\nbody\r\n.`,
  );
  assert.equal(r.code, 250, r.raw);
  c.close();
});

const python = peer('python3', 'python3');

test('a session whose account is removed after AUTH ends: MAIL FROM gets 421 4.7.0 (Python smtplib)', {
  skip: python.skip,
}, async () => {
  await t.app.directory.addAccount(`erin@${DOMAIN}`, PASSWORD);
  // smtplib signs in, says so, and waits for a line on stdin (sent once the account is gone) to send.
  const code = `
import smtplib, sys
user = sys.argv[2]
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]))
s.login(user, sys.argv[3])
print('authenticated', flush=True)
sys.stdin.readline()
try:
    s.sendmail(user, ['bob@${DOMAIN}'], 'From: %s\\r\\nSubject: x\\r\\n\\r\\nsent after removal\\r\\n' % user)
    print('sent')
except smtplib.SMTPSenderRefused as e:
    print('refused', e.smtp_code, e.smtp_error.decode())
try:
    s.login(user, sys.argv[3])
    print('signed in again')
except smtplib.SMTPAuthenticationError as e:
    print('auth', e.smtp_code)
except smtplib.SMTPServerDisconnected:
    print('closed')
`;
  const py = spawn('python3', ['-c', code, String(t.ports.submission), `erin@${DOMAIN}`, PASSWORD]);
  let out = '';
  let err = '';
  const closed = once(py, 'close');
  py.stderr.on('data', (d) => (err += d));
  await new Promise<void>((signedIn) => {
    py.stdout.on('data', (d) => {
      out += d;
      if (out.includes('authenticated')) signedIn();
    });
    void closed.then(() => signedIn());
  });
  assert.match(out, /authenticated/, err);
  await t.app.directory.removeAccount(`erin@${DOMAIN}`); // what `petrel account remove` does
  py.stdin.end('go\n');
  const [status] = await closed;
  assert.equal(status, 0, err);
  // The removal was heard (DirectoryService.accountChanged): 421, as the command's reply or before it, and the
  // server closed the connection (smtplib closes its end on a 421 too).
  assert.deepEqual(out.trim().split('\n'), [
    'authenticated',
    'refused 421 4.7.0 mx.test.petrel Account removed or disabled, closing connection',
    'closed',
  ]);
  assert.ok(!(await t.inbox(`bob@${DOMAIN}`)).some((m) => m.includes('sent after removal')));

  // Disabled in the store behind the server's back (no event told the session): MAIL reads the account again
  // and the session is signed out, as if it never authenticated.
  const frank = await t.app.directory.addAccount(`frank@${DOMAIN}`, PASSWORD);
  const c = await submitter(`frank@${DOMAIN}`);
  await c.expect(250, `MAIL FROM:<frank@${DOMAIN}>`);
  await c.expect(250, 'RSET');
  await t.app.store.updateAccount(frank.id, { disabled: true });
  await c.expect(530, `MAIL FROM:<frank@${DOMAIN}>`, /5\.7\.0/);
  c.close();
});

test('an authenticated submitter may send to other domains (handed to the outbound queue)', async () => {
  const c = await submitter(`alice@${DOMAIN}`);
  await c.expect(250, `MAIL FROM:<alice@${DOMAIN}> RET=HDRS ENVID=abc+2B1`);
  await c.expect(250, 'RCPT TO:<friend@elsewhere.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;friend@elsewhere.test');
  await c.expect(354, 'DATA');
  c.write(`${message({ from: `alice@${DOMAIN}`, to: 'friend@elsewhere.test' })}.\r\n`);
  // Accepted only once durably queued, with its DSN parameters.
  await c.expect(250, undefined, /2\.0\.0/);
  c.close();
  const entry = (await t.app.store.queue.list()).find((e) =>
    e.recipients.some((r) => r.address === 'friend@elsewhere.test'),
  );
  assert.ok(entry, 'the message is in the outbound queue');
  assert.equal(entry.message.from, `alice@${DOMAIN}`);
  assert.equal(entry.message.envId, 'abc+2B1'.replace('+2B', '+'));
  assert.equal(entry.message.ret, 'HDRS');
});

test('DSN and REQUIRETLS parameters are carried into the OutboundMessage; 250 only after enqueue', async () => {
  const captured: OutboundMessage[] = [];
  const original = t.app.outbound.enqueue;
  t.app.outbound.enqueue = async (m) => {
    captured.push(m);
    return 'QUEUE-1';
  };
  try {
    const c = await RawSmtp.open(t.ports.submission);
    await c.expect(220);
    await c.expect(250, 'EHLO user.test');
    await c.expect(220, 'STARTTLS');
    await c.startTls();
    await c.expect(250, 'EHLO user.test');
    await c.expect(235, `AUTH PLAIN ${plain(`alice@${DOMAIN}`)}`);
    await c.expect(250, `MAIL FROM:<alice@${DOMAIN}> RET=HDRS ENVID=abc+2B1 REQUIRETLS BODY=8BITMIME`);
    await c.expect(250, 'RCPT TO:<friend@elsewhere.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;friend+40x.test');
    await c.expect(250, 'RCPT TO:<other@elsewhere.test> NOTIFY=NEVER');
    await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
    await c.expect(354, 'DATA');
    const raw = message({ from: `alice@${DOMAIN}`, to: 'friend@elsewhere.test' });
    c.write(`${raw}.\r\n`);
    await c.expect(250, undefined, /QUEUE-1/);
    c.close();
    // Only this submission (the queue may meanwhile send a DSN about an earlier test's message, which now
    // goes through enqueue too).
    const mine = captured.filter((x) => x.from === `alice@${DOMAIN}`);
    assert.equal(mine.length, 1);
    const m = mine[0];
    assert.equal(m.from, `alice@${DOMAIN}`);
    assert.deepEqual(m.recipients, [
      { address: 'friend@elsewhere.test', orcpt: 'rfc822;friend@x.test', notify: ['SUCCESS', 'FAILURE'] },
      { address: 'other@elsewhere.test', orcpt: undefined, notify: 'NEVER' },
    ]);
    assert.equal(m.envId, 'abc+1');
    assert.equal(m.ret, 'HDRS');
    assert.equal(m.requireTls, true);
    assert.equal(m.bodyType, '8BITMIME');
    assert.ok(m.accountId);
    const text = m.raw.toString();
    assert.match(
      text,
      /^Received: from user\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.test\.petrel \(Petrel\) with ESMTPSA/,
    );
    assert.ok(text.endsWith(raw), 'the message follows the Received field unchanged');
    assert.doesNotMatch(text, /Return-Path|Delivered-To/);
    // The local recipient got its copy in the same transaction.
    const bob = await t.inbox(`bob@${DOMAIN}`);
    assert.equal(splitTrace(bob[bob.length - 1]).rest.toString(), raw);
  } finally {
    t.app.outbound.enqueue = original;
  }
});
