// The server handshake while an ACME TLS-ALPN-01 challenge is pending: an acme-tls/1 client for the name
// gets the validation certificate and the protocol; every other client, for that name too, gets the
// normal certificate and a working connection (the peeked ClientHello is replayed intact); a stalled
// handshake is dropped on either path.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import { selfSignedCert } from '../../test/helpers/certs.ts';
import { CertificateSet } from './certificates.ts';
import { ACME_TLS_ALPN, acceptTls, parseClientHello } from './tls-accept.ts';

function client(port: number, servername: string, alpn?: string[]): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', servername, ALPNProtocols: alpn, rejectUnauthorized: false }, () =>
      resolve(s),
    );
    s.on('error', reject);
  });
}

test('TLS-ALPN-01 pending: validation certificate for acme-tls/1, the normal one for everyone else', async () => {
  const set = new CertificateSet(
    { minVersion: 'TLSv1.2', ciphers: 'TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256' },
    'mx.test',
  );
  set.setDefault({ ...(await selfSignedCert(['mx.test'])), selfSigned: false });
  set.replace('files', [{ names: ['mail.test'], ...(await selfSignedCert(['mail.test'])) }]);
  set.setAlpnChallenge('mail.test', await selfSignedCert(['validation.mail.test']));
  assert.equal(set.hasAlpnChallenges(), true);

  const server: Server = createServer((sock) => {
    acceptTls(sock, set, 5000).then(
      (t) => t?.on('data', (d) => t.write(`echo ${d}`)),
      () => sock.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const acme = await client(port, 'mail.test', [ACME_TLS_ALPN]);
    assert.equal(acme.alpnProtocol, ACME_TLS_ALPN);
    assert.match(acme.getPeerX509Certificate()!.subject, /CN=validation\.mail\.test/);
    acme.destroy();

    for (const alpn of [undefined, ['imap']]) {
      const normal = await client(port, 'mail.test', alpn);
      assert.match(normal.getPeerX509Certificate()!.subject, /CN=mail\.test/);
      normal.write('hello');
      const reply = await new Promise<string>((r) => normal.once('data', (d) => r(String(d))));
      assert.equal(reply, 'echo hello');
      normal.destroy();
    }
    // Another name: no challenge for it, the default certificate.
    const other = await client(port, 'other.test', [ACME_TLS_ALPN]);
    assert.match(other.getPeerX509Certificate()!.subject, /CN=mx\.test/);
    other.destroy();

    set.setAlpnChallenge('mail.test', null);
    assert.equal(set.hasAlpnChallenges(), false);
  } finally {
    server.close();
  }
});

/** The ClientHello a Node TLS client sends for `servername` offering `alpn`. */
function clientHello(servername: string, alpn: string[]): Promise<Buffer> {
  return new Promise((resolve) => {
    const d = new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        resolve(Buffer.from(chunk));
        cb();
      },
    });
    connect({ socket: d, servername, ALPNProtocols: alpn, rejectUnauthorized: false }).on('error', () => {});
  });
}

// The validation socket used to be left without a timer until 'secure' (and closed 5 s after it): a client
// that sent an acme-tls/1 ClientHello and stopped held its connection, and a per-IP slot, forever.
test('TLS-ALPN-01 pending: a client that stalls the handshake after its ClientHello is dropped, acme-tls/1 too', {
  timeout: 10_000,
}, async () => {
  const set = new CertificateSet(
    { minVersion: 'TLSv1.2', ciphers: 'TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256' },
    'mx.test',
  );
  set.setDefault({ ...(await selfSignedCert(['mx.test'])), selfSigned: false });
  set.setAlpnChallenge('mail.test', await selfSignedCert(['mail.test']));
  const server: Server = createServer((sock) => {
    sock.on('error', () => {});
    acceptTls(sock, set, 300).then(
      () => {},
      () => sock.destroy(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    for (const alpn of [['imap'], [ACME_TLS_ALPN]]) {
      const hello = await clientHello('mail.test', alpn);
      const s = await new Promise<Socket>((resolve, reject) => {
        const c = tcpConnect({ port, host: '127.0.0.1' }, () => resolve(c));
        c.once('error', reject);
      });
      s.on('error', () => {});
      s.resume();
      const closed = new Promise((r) => s.once('close', r));
      s.write(hello); // and nothing more: the handshake never completes
      await closed;
    }
  } finally {
    server.close();
  }
});

test('ClientHello parsing: not TLS, truncated, garbage', () => {
  assert.equal(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n')), null);
  assert.equal(parseClientHello(Buffer.from([0x16, 3, 1, 0, 10, 1, 0])), null);
  assert.equal(parseClientHello(Buffer.alloc(0)), null);
});
