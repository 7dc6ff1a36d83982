// Never crash on any input: random octets, half commands, abandoned DATA/BDAT/AUTH/STARTTLS, garbage in
// place of a TLS handshake. Afterwards the server still serves a normal transaction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { SmtpSession } from '../../src/smtp/session.ts';
import { firstSlice } from '../helpers/pipeline.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { DOMAIN, message, type SmtpTestServer, startSmtpServer } from './fixtures.ts';

let t: SmtpTestServer;
before(async () => {
  t = await startSmtpServer({ configure: (c) => (c.smtp.max_connections_per_ip = 200) });
});
after(() => t.stop());

/** A small deterministic PRNG so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const PREFIXES = [
  '',
  'EHLO x\r\n',
  'EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\n',
  'EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT 99999999 LAST\r\n',
  'EHLO x\r\nSTARTTLS\r\n',
  'LHLO x\r\nAUTH PLAIN\r\n',
  'EHLO x\r\nAUTH LOGIN\r\n',
  'EHLO x\r\nMAIL FROM:<a@b.test> SIZE=99999999999999999999 BODY=\u00ff\r\n',
];

test('random and truncated input on many connections never takes the server down', async () => {
  const rnd = prng(20261128);
  const ports = [t.ports.smtp, t.ports.submission, t.ports.lmtp];
  const conns: Promise<void>[] = [];
  for (let i = 0; i < 60; i++) {
    conns.push(
      (async () => {
        const c = await RawSmtp.open(ports[i % ports.length]);
        const prefix = PREFIXES[Math.floor(rnd() * PREFIXES.length)];
        const junk = Buffer.alloc(Math.floor(rnd() * 20000));
        for (let j = 0; j < junk.length; j++) {
          const r = rnd();
          junk[j] = r < 0.05 ? 10 : r < 0.1 ? 13 : r < 0.12 ? 0 : r < 0.14 ? 46 : Math.floor(rnd() * 256);
        }
        c.write(Buffer.concat([Buffer.from(prefix, 'latin1'), junk]));
        await new Promise((r) => setTimeout(r, 20 + rnd() * 100));
        c.close();
      })(),
    );
  }
  await Promise.all(conns);

  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO after.test');
  await c.expect(250, 'MAIL FROM:<a@remote.test>');
  await c.expect(250, `RCPT TO:<alice@${DOMAIN}>`);
  await c.expect(354, 'DATA');
  c.write(`${message({ id: 'after-hostile@test' })}.\r\n`);
  await c.expect(250);
  c.close();
  assert.ok((await t.inbox(`alice@${DOMAIN}`)).some((m) => m.toString().includes('<after-hostile@test>')));
});

test('garbage instead of a TLS handshake after STARTTLS closes only that connection', async () => {
  const c = await RawSmtp.open(t.ports.submission);
  await c.expect(220);
  await c.expect(250, 'EHLO x.test');
  await c.expect(220, 'STARTTLS');
  c.write('this is not a ClientHello\r\n');
  await c.closedByServer();
  const d = await RawSmtp.open(t.ports.submission);
  await d.expect(220);
  await d.expect(250, 'EHLO y.test');
  d.close();
});

// The session answered a whole buffered pipeline without giving the event loop back: a client streaming
// NOOPs (a megabyte of them buffered) held every other connection's replies for ~150 ms at a time.
test('a buffered pipeline is answered in slices: other work waiting on the event loop runs in between', async () => {
  const c = await RawSmtp.open(t.ports.smtp);
  await c.expect(220);
  await c.expect(250, 'EHLO pipeline.test');
  const noop = (await c.expect(250, 'NOOP')).raw;
  const listener = t.server.listeners.find((l) => l.name === 'smtp')!;
  const session = [...listener.sessions].find(
    (s) => (s as SmtpSession).conn.remotePort === c.socket.localPort,
  ) as SmtpSession;
  const count = 10_000;
  const { commands, answered } = await firstSlice(
    session.conn.socket,
    (d) => c.write(d),
    'NOOP\r\n',
    Buffer.byteLength(noop),
    count,
  );
  assert.ok(commands > 1000, `the pipeline arrived in pieces of ${commands} commands`);
  assert.ok(answered < commands, `all ${answered} commands at hand were answered before anything else ran`);
  for (let i = 0; i < count; i++) assert.equal((await c.read()).code, 250);
  await c.expect(221, 'QUIT');
  c.close();
});
