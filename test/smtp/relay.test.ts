// No open relay: unauthenticated clients reach local domains only, loopback included; each classic relay
// trick is refused on its own; smtp.trusted_networks is the one way to relay without AUTH.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, PASSWORD, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
let trusted: SmtpTestServer;
before(async () => {
  t = await startSmtpServer();
  trusted = await startSmtpServer({ configure: (c) => (c.smtp.trusted_networks = ['127.0.0.0/8']) });
});
after(async () => {
  await t.stop();
  await trusted.stop();
});

/** Opens an MX session up to MAIL FROM and returns the reply to one RCPT. */
async function rcpt(server: SmtpTestServer, to: string, port = server.ports.smtp) {
  const c = await RawSmtp.open(port);
  await c.expect(220);
  await c.expect(250, 'EHLO relay.test');
  await c.expect(250, 'MAIL FROM:<spammer@remote.test>');
  const r = await c.cmd(`RCPT TO:${to}`);
  c.close();
  return r;
}

test('an unauthenticated client from loopback may not relay to another domain', async () => {
  const r = await rcpt(t, '<victim@elsewhere.test>');
  assert.equal(r.code, 554);
  assert.match(r.raw, /5\.7\.1 .*Relay access denied/);
});

test('percent hack user%other@local is refused', async () => {
  const r = await rcpt(t, `<victim%elsewhere.test@${DOMAIN}>`);
  assert.equal(r.code, 550);
  assert.match(r.raw, /5\.7\.1 .*percent hack/);
});

test('bang path other!user@local is refused', async () => {
  const r = await rcpt(t, `<elsewhere.test!victim@${DOMAIN}>`);
  assert.equal(r.code, 550);
  assert.match(r.raw, /5\.7\.1 .*bang path/);
});

test('source route @local:user@remote is refused', async () => {
  const r = await rcpt(t, `<@${DOMAIN}:victim@elsewhere.test>`);
  assert.equal(r.code, 554);
  assert.match(r.raw, /5\.7\.1/);
});

// RFC 5321 section 4.1.1.3 (and appendix C): receivers MUST recognise source routes and SHOULD strip them,
// using the mailbox alone. Stripped, a route relays nothing: the mailbox decides, as above.
test('source route @remote,@remote2:user@local: the route is ignored, the mail goes to the local mailbox', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO relay.test');
  await c.expect(250, 'MAIL FROM:<@hop.remote.test:sender@remote.test>');
  await c.expect(250, `RCPT TO:<@elsewhere.test,@other.test:alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  await c.expect(250, `${message({ id: 'routed@test' })}.`);
  c.close();
  const got = (await t.inbox(`alice@${DOMAIN}`)).map((m) => m.toString()).find((m) => m.includes('<routed@test>'));
  assert.ok(got, 'delivered to alice');
  // Neither route reaches the trace fields (section 4.1.1.3: names MUST NOT be copied into the reverse-path).
  assert.match(got, /^Delivered-To: alice@example\.test\r\nReturn-Path: <sender@remote\.test>\r\n/);
  assert.doesNotMatch(got, /elsewhere\.test|hop\.remote\.test/);
});

test('a quoted local part holding an @ is refused', async () => {
  const r = await rcpt(t, `<"victim@elsewhere.test"@${DOMAIN}>`);
  assert.equal(r.code, 550);
  assert.match(r.raw, /5\.7\.1 .*may not contain @/);
});

test('a trailing dot on the domain is refused', async () => {
  const r = await rcpt(t, `<alice@${DOMAIN}.>`);
  assert.equal(r.code, 501);
  assert.match(r.raw, /5\.1\.3 .*end with a dot/);
});

test('an IP literal recipient is refused', async () => {
  const r = await rcpt(t, '<victim@[127.0.0.1]>');
  assert.equal(r.code, 554);
  assert.match(r.raw, /5\.7\.1/);
});

test('a second @ without quotes is a syntax error', async () => {
  const r = await rcpt(t, `<victim@elsewhere.test@${DOMAIN}>`);
  assert.equal(r.code, 501);
});

test('AUTH is not offered on the MX listener, so relaying stays closed there', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  const ehlo = await c.expect(250, 'EHLO relay.test');
  assert.ok(!ehlo.lines.some((l) => l.startsWith('AUTH')));
  await c.expect(502, 'AUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABjb3JyZWN0IGhvcnNlIGJhdHRlcnk=');
  c.close();
});

test('submission without AUTH refuses MAIL, so it cannot relay either', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO relay.test');
  await c.expect(530, 'MAIL FROM:<alice@example.test>', /5\.7\.0/);
  c.close();
});

test('smtp.trusted_networks lets listed clients relay (the message goes to the outbound queue)', async () => {
  const c = await RawSmtp.open(trusted.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO relay.test');
  await c.expect(250, 'MAIL FROM:<app@internal.test>');
  await c.expect(250, 'RCPT TO:<someone@elsewhere.test>');
  // The relay tricks stay refused for local domains even from a trusted network.
  await c.expect(550, `RCPT TO:<x%elsewhere.test@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ to: 'someone@elsewhere.test' })}.\r\n`);
  // 250 only once the message is durably in the outbound queue.
  const r = await c.read();
  assert.equal(r.code, 250);
  const queued = await trusted.app.store.queue.list();
  assert.equal(queued.length, 1);
  assert.equal(queued[0].message.from, 'app@internal.test');
  assert.deepEqual(
    queued[0].recipients.map((x) => x.address),
    ['someone@elsewhere.test'],
  );
  c.close();
});

test('a remote recipient the queue cannot route (no dot in the domain) is refused at RCPT with 5.1.2; the others get the message', async () => {
  const plain = Buffer.from(`\0alice@${DOMAIN}\0${PASSWORD}`).toString('base64');
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO user.test');
  await c.expect(235, `AUTH PLAIN ${plain}`);
  await c.expect(250, `MAIL FROM:<alice@${DOMAIN}>`);
  await c.expect(250, `RCPT TO:<bob@${DOMAIN}>`);
  // RFC 3463 section 3.2: X.1.2, bad destination system address (Postfix's answer to an unroutable domain).
  await c.expect(550, 'RCPT TO:<friend@intranet>', /5\.1\.2 <friend@intranet>/);
  await c.expect(250, 'RCPT TO:<carol@unroutable-test.example>');
  await c.expect(354, 'DATA');
  const id = `${Math.random().toString(36).slice(2)}@unroutable.test`;
  c.write(`${message({ from: `alice@${DOMAIN}`, to: `bob@${DOMAIN}, friend@intranet`, id })}.\r\n`);
  const r = await c.read();
  assert.equal(r.code, 250, r.raw);
  await c.expect(221, 'QUIT');
  c.close();
  const bob = await t.inbox(`bob@${DOMAIN}`);
  assert.ok(
    bob.some((m) => m.toString('latin1').includes(id)),
    'the local recipient has the message',
  );
  const queued = (await t.app.store.queue.list()).filter((e) => e.message.from === `alice@${DOMAIN}`);
  assert.deepEqual(
    queued.flatMap((e) => e.recipients.map((x) => x.address)),
    ['carol@unroutable-test.example'],
  );
});
