// STARTTLS on a connection whose peer is already gone, or goes in mid-handshake: the upgrade fails at once
// instead of holding the session, its socket and a timer for the whole handshake timeout (found by the
// hostile-input test: clients that send STARTTLS and close kept the test process alive for minutes).
import assert from 'node:assert/strict';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { selfSignedCert } from '../../test/helpers/certs.ts';
import { CertificateSet } from './certificates.ts';
import { Connection } from './connection.ts';

async function serverSide(clientAct: (c: Socket) => void): Promise<Socket> {
  return new Promise((resolve) => {
    const srv = createServer((s) => {
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
