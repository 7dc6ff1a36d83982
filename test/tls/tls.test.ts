// TLS on every listener, checked with openssl s_client as an independent client: no TLS 1.0/1.1, no weak
// ciphers, TLS 1.3 preferred, no client-initiated renegotiation, certificates chosen by SNI on implicit TLS
// and STARTTLS, and a reload that serves new certificates to new connections while open ones go on. A
// corrupt record after the handshake ends the connection.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { selfSignedCert } from '../helpers/certs.ts';
import { sClient, sClientRenegotiate } from '../helpers/openssl.ts';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const openssl = peer('openssl', 'openssl');

describe('TLS listeners', { skip: openssl.skip }, () => {
  let srv: TestServer;
  let dir: string;
  let endpoints: { name: string; port: number; starttls?: 'smtp' | 'imap' | 'pop3' }[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'petrel-tls-'));
    const a = await selfSignedCert(['a.test.petrel']);
    const b = await selfSignedCert(['*.b.test.petrel']);
    const idn = await selfSignedCert(['xn--bcher-kva.test.petrel']);
    for (const [n, c] of Object.entries({ a, b, idn })) {
      writeFileSync(join(dir, `${n}.crt`), c.cert);
      writeFileSync(join(dir, `${n}.key`), c.key, { mode: 0o600 });
    }
    srv = await startTestServer({
      configure: (c) => {
        c.tls.certificates = [
          { domains: ['a.test.petrel'], cert: join(dir, 'a.crt'), key: join(dir, 'a.key') },
          // No domains: the names come from the certificate itself.
          { domains: [], cert: join(dir, 'b.crt'), key: join(dir, 'b.key') },
          // An internationalised name as people write it (a U-label), in capitals: clients ask for the A-label.
          { domains: ['Bücher.test.petrel'], cert: join(dir, 'idn.crt'), key: join(dir, 'idn.key') },
        ];
        c.listeners.http.tls = true;
      },
    });
    const p = srv.ports;
    endpoints = [
      { name: 'IMAPS', port: p.imaps },
      { name: 'IMAP STARTTLS', port: p.imap, starttls: 'imap' },
      { name: 'SMTPS (submissions)', port: p.submissions },
      { name: 'SMTP STARTTLS (submission)', port: p.submission, starttls: 'smtp' },
      { name: 'SMTP STARTTLS (MX)', port: p.smtp, starttls: 'smtp' },
      { name: 'POP3S', port: p.pop3s },
      { name: 'POP3 STLS', port: p.pop3, starttls: 'pop3' },
    ];
  });
  after(async () => {
    await srv?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('TLS 1.0 and 1.1 are refused; 1.2 and 1.3 are accepted; 1.3 is chosen when offered', async () => {
    for (const e of endpoints) {
      for (const v of ['-tls1', '-tls1_1'] as const) {
        const r = await sClient({ port: e.port, starttls: e.starttls, version: v });
        assert.equal(r.ok, false, `${e.name} accepted ${v}: ${r.protocol} ${r.cipher}`);
      }
      const r12 = await sClient({ port: e.port, starttls: e.starttls, version: '-tls1_2' });
      assert.equal(r12.protocol, 'TLSv1.2', `${e.name}: ${r12.output.slice(-400)}`);
      // Server order: the strongest AEAD first.
      assert.equal(r12.cipher, 'ECDHE-RSA-AES256-GCM-SHA384', e.name);
      const r13 = await sClient({ port: e.port, starttls: e.starttls, version: '-tls1_3' });
      assert.equal(r13.protocol, 'TLSv1.3', e.name);
      const any = await sClient({ port: e.port, starttls: e.starttls });
      assert.equal(any.protocol, 'TLSv1.3', `${e.name} should prefer TLS 1.3`);
    }
  });

  test('weak TLS 1.2 ciphers (RC4, 3DES, NULL, EXPORT, anonymous, CBC) are refused', async () => {
    for (const e of endpoints) {
      const r = await sClient({
        port: e.port,
        starttls: e.starttls,
        version: '-tls1_2',
        cipher: 'RC4:3DES:NULL:EXPORT:aNULL:CBC',
      });
      assert.equal(r.ok, false, `${e.name} accepted ${r.cipher}`);
      // Non-ECDHE key exchange (static RSA, DHE) is refused too.
      const rsa = await sClient({
        port: e.port,
        starttls: e.starttls,
        version: '-tls1_2',
        cipher: 'AES256-GCM-SHA384',
      });
      assert.equal(rsa.ok, false, `${e.name} accepted static RSA`);
    }
  });

  // Postfix and Dovecot refuse client-initiated renegotiation: each one is a full handshake (a private-key
  // signature), and one connection could ask for them without end.
  test('client-initiated TLS 1.2 renegotiation is refused on every TLS endpoint, HTTPS too', async () => {
    for (const e of [...endpoints, { name: 'HTTPS', port: srv.ports.http }]) {
      const r = await sClientRenegotiate({ port: e.port, starttls: e.starttls });
      assert.match(r.output, /Verify return code/, `${e.name}: no handshake: ${r.output.slice(-400)}`);
      assert.equal(r.renegotiated, false, `${e.name} renegotiated`);
      assert.match(r.output, /no_renegotiation/, e.name);
    }
  });

  // After the handshake a record that fails to decrypt (bad_record_mac) is fatal (RFC 8446 section 5.2, RFC
  // 5246 section 7.2.2): the connection ends, not held open until the session's idle timeout (minutes).
  test('a corrupt TLS record after the handshake ends the connection on every TLS endpoint, HTTPS too', {
    timeout: 20_000,
  }, async () => {
    const upgrade: Record<'imap' | 'smtp' | 'pop3', [string | null, RegExp][]> = {
      imap: [
        [null, /^\* OK/m],
        ['s1 STARTTLS\r\n', /^s1 OK/m],
      ],
      smtp: [
        [null, /^220 /m],
        ['EHLO corrupt.test\r\n', /^250 /m],
        ['STARTTLS\r\n', /^220 /m],
      ],
      pop3: [
        [null, /^\+OK/m],
        ['STLS\r\n', /^\+OK/m],
      ],
    };
    for (const e of [...endpoints, { name: 'HTTPS', port: srv.ports.http }]) {
      const raw = await new Promise<Socket>((resolve, reject) => {
        const s = tcpConnect({ port: e.port, host: '127.0.0.1' }, () => resolve(s));
        s.once('error', reject);
      });
      raw.on('error', () => {});
      const closed = new Promise((r) => raw.once('close', r));
      let plain = '';
      const onPlain = (d: Buffer) => {
        plain += d.toString('latin1');
      };
      raw.on('data', onPlain);
      // STARTTLS/STLS in plaintext first where the endpoint has it: [line sent, reply awaited].
      for (const [line, reply] of e.starttls ? upgrade[e.starttls] : []) {
        if (line) raw.write(line);
        await waitFor(() => reply.test(plain));
        plain = '';
      }
      raw.off('data', onPlain);
      const t = connect({ socket: raw, rejectUnauthorized: false });
      t.on('error', () => {});
      t.resume(); // reading, so the close is seen
      // TLS 1.3: the server sends its session tickets once it has the client's Finished, its handshake done.
      await new Promise((r) => t.once('session', r));
      // An application-data record of garbage, written under the TLS client: it cannot authenticate.
      raw.write(Buffer.from(`1703030020${'5a'.repeat(32)}`, 'hex'));
      await closed;
      t.destroy();
    }
  });

  test('SNI picks the certificate per domain (case-insensitive, IDNs by A-label); other names and no SNI get the default', async () => {
    for (const e of endpoints) {
      const a = await sClient({ port: e.port, starttls: e.starttls, servername: 'a.test.petrel' });
      assert.match(a.cert?.subject ?? '', /CN=a\.test\.petrel/, e.name);
      const b = await sClient({ port: e.port, starttls: e.starttls, servername: 'mail.b.test.petrel' });
      assert.match(b.cert?.subject ?? '', /CN=\*\.b\.test\.petrel/, `${e.name}: wildcard`);
      // A wildcard covers one label only.
      const deep = await sClient({ port: e.port, starttls: e.starttls, servername: 'x.mail.b.test.petrel' });
      assert.match(deep.cert?.subject ?? '', /CN=mx\.test\.petrel/, `${e.name}: deep name gets the default`);
      const none = await sClient({ port: e.port, starttls: e.starttls });
      assert.match(none.cert?.subject ?? '', /CN=mx\.test\.petrel/, `${e.name}: no SNI gets the default`);
      const upper = await sClient({ port: e.port, starttls: e.starttls, servername: 'A.TEST.Petrel' });
      assert.match(upper.cert?.subject ?? '', /CN=a\.test\.petrel/, `${e.name}: names are case-insensitive`);
      const idn = await sClient({ port: e.port, starttls: e.starttls, servername: 'xn--bcher-kva.test.petrel' });
      assert.match(idn.cert?.subject ?? '', /CN=xn--bcher-kva\.test\.petrel/, `${e.name}: IDN (A-label)`);
    }
  });

  test('reload: new connections get the new certificate; an open connection goes on', async () => {
    const before = await sClient({ port: srv.ports.imaps, servername: 'a.test.petrel' });
    assert.ok(before.cert);
    // An IMAPS session opened before the reload.
    const open = connect({
      port: srv.ports.imaps,
      host: '127.0.0.1',
      servername: 'a.test.petrel',
      rejectUnauthorized: false,
    });
    const lines: string[] = [];
    open.setEncoding('utf8');
    open.on('data', (d: string) => lines.push(d));
    await waitFor(() => lines.join('').includes('* OK'));
    assert.equal(open.getPeerX509Certificate()?.fingerprint256, before.cert.fingerprint256);

    const renewed = await selfSignedCert(['a.test.petrel', 'renewed.a.test.petrel']);
    writeFileSync(join(dir, 'a.crt'), renewed.cert);
    writeFileSync(join(dir, 'a.key'), renewed.key);
    await srv.app.reloadTls();

    for (const e of endpoints) {
      const now = await sClient({ port: e.port, starttls: e.starttls, servername: 'a.test.petrel' });
      assert.notEqual(now.cert?.fingerprint256, before.cert.fingerprint256, `${e.name} still serves the old cert`);
      assert.match(now.cert?.subjectAltName ?? '', /renewed\.a\.test\.petrel/, e.name);
    }
    open.write('a1 NOOP\r\n');
    await waitFor(() => lines.join('').includes('a1 OK'));
    open.destroy();
  });

  test('a broken certificate file fails the reload and the previous certificates stay', async () => {
    const good = await sClient({ port: srv.ports.imaps, servername: 'a.test.petrel' });
    writeFileSync(join(dir, 'a.crt'), 'not a certificate');
    await assert.rejects(srv.app.reloadTls());
    const still = await sClient({ port: srv.ports.imaps, servername: 'a.test.petrel' });
    assert.equal(still.cert?.fingerprint256, good.cert?.fingerprint256);
  });
});

test('a self-signed certificate cut short (a crash while it was written) is made again at start', {
  skip: openssl.skip,
}, async () => {
  const srv = await startTestServer({
    beforeServe: async (app) => {
      const d = join(app.dataDir, 'tls');
      const made = await selfSignedCert(['mx.test.petrel']);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'self-signed.key'), made.key, { mode: 0o600 });
      writeFileSync(join(d, 'self-signed.crt'), made.cert.slice(0, made.cert.length / 2));
    },
  });
  try {
    const r = await sClient({ port: srv.ports.imaps });
    assert.ok(r.ok, r.output.slice(-500));
    assert.match(r.cert?.subject ?? '', /CN=mx\.test\.petrel/);
  } finally {
    await srv.stop();
  }
});

test('a changed certificate file is picked up without SIGHUP (tls.watch_interval)', {
  skip: openssl.skip,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-tls-watch-'));
  const first = await selfSignedCert(['watch.test.petrel']);
  writeFileSync(join(dir, 'd.crt'), first.cert);
  writeFileSync(join(dir, 'd.key'), first.key, { mode: 0o600 });
  const srv = await startTestServer({
    configure: (c) => {
      c.tls.cert = join(dir, 'd.crt');
      c.tls.key = join(dir, 'd.key');
      c.tls.watch_interval = '100ms';
    },
  });
  try {
    const before = await sClient({ port: srv.ports.imaps });
    assert.match(before.cert?.subjectAltName ?? '', /watch\.test\.petrel/);
    const next = await selfSignedCert(['watch.test.petrel', 'next.test.petrel']);
    writeFileSync(join(dir, 'd.key'), next.key);
    writeFileSync(join(dir, 'd.crt'), next.cert);
    const deadline = Date.now() + 15000;
    for (;;) {
      const now = await sClient({ port: srv.ports.imaps });
      if (/next\.test\.petrel/.test(now.cert?.subjectAltName ?? '')) break;
      assert.ok(Date.now() < deadline, 'the new certificate was never served');
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await srv.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
