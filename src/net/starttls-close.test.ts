// STARTTLS on a connection whose peer is already gone, or goes in mid-handshake: the upgrade fails at once
// instead of holding the session, its socket and a timer for the whole handshake timeout (found by the
// hostile-input test: clients that send STARTTLS and close kept the test process alive for minutes).
import assert from 'node:assert/strict';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { selfSignedCert } from '../../test/helpers/certs.ts';
import { CertificateSet } from './certificates.ts';
import { Connection } from './connection.ts';
import { acceptTls } from './tls-accept.ts';

async function serverSide(clientAct: (c: Socket) => void, allowHalfOpen = false): Promise<Socket> {
  return new Promise((resolve) => {
    const srv = createServer({ allowHalfOpen }, (s) => {
      srv.close();
      resolve(s);
    });
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      const c = tcpConnect({ port, host: '127.0.0.1' }, () => clientAct(c));
      c.on('error', () => {});
    });
  });
}

test('a peer gone before or during the handshake: startTls rejects without waiting out its timeout', {
  timeout: 10_000,
}, async () => {
  const tls = new CertificateSet({ minVersion: 'TLSv1.2', ciphers: 'TLS_AES_128_GCM_SHA256' }, 'mx.test');
  tls.setDefault({ ...(await selfSignedCert(['mx.test'])), selfSigned: false });
  // Gone before: the socket is closed when the upgrade starts.
  const before = await serverSide((c) => c.destroy());
  before.on('error', () => {});
  await new Promise((r) => before.once('close', r));
  await assert.rejects(new Connection(before).startTls(tls, 600_000), /closed/);
  // Gone during: a few bytes of garbage, then FIN.
  const during = await serverSide((c) => c.end(Buffer.from('\x16\x03\x01\x00')));
  during.on('error', () => {});
  await assert.rejects(new Connection(during).startTls(tls, 600_000));
});

test('half-open sockets (as the listeners allow): a FIN before or during the handshake still ends it at once', {
  timeout: 10_000,
}, async () => {
  const tls = new CertificateSet({ minVersion: 'TLSv1.2', ciphers: 'TLS_AES_128_GCM_SHA256' }, 'mx.test');
  tls.setDefault({ ...(await selfSignedCert(['mx.test'])), selfSigned: false });
  const hello = Buffer.from('\x16\x03\x01\x00');
  // STARTTLS, FIN in mid-handshake: a FIN alone no longer closes the socket.
  const during = await serverSide((c) => c.end(hello), true);
  during.on('error', () => {});
  await assert.rejects(new Connection(during).startTls(tls, 600_000), /closed/);
  // STARTTLS and FIN together: the FIN is in before the upgrade starts.
  const first = await serverSide((c) => c.end('STARTTLS\r\n'), true);
  first.on('error', () => {});
  const conn = new Connection(first);
  await conn.readLine(100);
  await assert.rejects(conn.readLine(100), /closed/);
  await assert.rejects(conn.startTls(tls, 600_000), /closed/);
  // Implicit TLS (the listener's handshake).
  const implicit = await serverSide((c) => c.end(hello), true);
  implicit.on('error', () => {});
  await assert.rejects(acceptTls(implicit, tls, 600_000), /closed/);
  // What the sessions and the listener do next.
  for (const s of [during, first, implicit]) s.destroy();
});
