// STLS (RFC 2595 section 4) and POP3S (RFC 8314): plaintext passwords refused and not advertised until TLS
// when loopback plaintext is off; pipelined plaintext after STLS is discarded; implicit TLS on pop3s.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Pop3Client } from '../helpers/pop3.ts';
import { message, PASS, type Pop3Env, startPop3Env, USER } from './setup.ts';

let env: Pop3Env;
before(async () => {
  env = await startPop3Env({ configure: (c) => (c.pop3.allow_plaintext_loopback = false) });
  await env.deliver(message('tls'));
});
after(() => env.stop());

const b64 = (s: string) => Buffer.from(s).toString('base64');

test('before STLS: no USER, SASL only SCRAM (no readable secret), USER/PASS and AUTH PLAIN refused with [AUTH]', async () => {
  const c = await Pop3Client.open(env.pop3);
  assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
  const caps = await c.lines();
  assert.ok(caps.includes('STLS'));
  assert.ok(!caps.includes('USER'));
  assert.deepEqual(
    caps.filter((l) => l.startsWith('SASL')),
    ['SASL SCRAM-SHA-256'],
  );
  assert.equal(await c.cmd(`USER ${USER}`), '-ERR [AUTH] Plaintext authentication requires TLS: use STLS first');
  assert.equal(await c.cmd(`PASS ${PASS}`), '-ERR USER first');
  assert.equal(
    await c.cmd(`AUTH PLAIN ${b64(`\0${USER}\0${PASS}`)}`),
    '-ERR [AUTH] Plaintext authentication requires TLS: use STLS first',
  );
  assert.equal(await c.cmd('AUTH'), '+OK Mechanisms follow');
  assert.deepEqual(await c.lines(), ['SCRAM-SHA-256']);
  c.destroy();
});

test('STLS: TLS, new capabilities, login; a second STLS is refused; plaintext pipelined after STLS is dropped', async () => {
  const c = await Pop3Client.open(env.pop3);
  // The commands after STLS in the same packet must never run: they were sent before the handshake.
  c.write(`STLS\r\nUSER ${USER}\r\nPASS ${PASS}\r\n`);
  assert.equal(await c.line(), '+OK Begin TLS negotiation');
  await c.startTls();
  assert.ok(c.secure);
  assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
  const caps = await c.lines();
  assert.ok(caps.includes('USER'));
  assert.ok(caps.includes('SASL SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2'));
  assert.ok(!caps.includes('STLS'));
  assert.equal(await c.cmd('STLS'), '-ERR Command not permitted when TLS is active');
  assert.equal(await c.cmd(`PASS ${PASS}`), '-ERR USER first', 'the pipelined USER was discarded');
  assert.equal(await c.cmd(`USER ${USER}`), '+OK Send your password');
  assert.match(await c.cmd(`PASS ${PASS}`), /^\+OK Logged in, 1 message \(/);
  assert.equal(await c.cmd('QUIT'), '+OK Petrel POP3 server signing off (1 message left)');
  await c.closed();
});

test('POP3S: implicit TLS, no STLS offered, AUTH PLAIN works', async () => {
  const c = await Pop3Client.open(env.pop3s, { tls: true });
  assert.equal(c.greeting, '+OK Petrel POP3 server ready');
  assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
  const caps = await c.lines();
  assert.ok(!caps.includes('STLS'));
  assert.ok(caps.includes('SASL SCRAM-SHA-256 PLAIN LOGIN OAUTHBEARER XOAUTH2'));
  assert.match(await c.cmd(`AUTH PLAIN ${b64(`\0${USER}\0${PASS}`)}`), /^\+OK Logged in, 1 message/);
  assert.equal(await c.cmd('STAT'), `+OK 1 ${message('tls').length}`);
  c.destroy();
});
