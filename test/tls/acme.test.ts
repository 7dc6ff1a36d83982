// ACME against a real pebble on loopback: HTTP-01 through Petrel's HTTP listener and TLS-ALPN-01 through
// its HTTPS listener; then IMAPS and SMTPS serve the issued certificate (it verifies against pebble's
// root), and a stored certificate close to expiry is renewed at start.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect, type PeerCertificate } from 'node:tls';
import { selfSignedCert } from '../helpers/certs.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { type Pebble, startPebble } from '../helpers/pebble.ts';
import { freePort, peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const pebble = peer('pebble', 'pebble');
const DOMAIN = 'mail.acme.petrel';
const ALT = 'imap.acme.petrel';

/** Connects with implicit TLS, verifying against `ca`; resolves with the leaf and whether it verified. */
function served(
  port: number,
  servername: string,
  ca: string,
): Promise<{ authorized: boolean; cert: PeerCertificate; error?: string }> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', servername, ca, rejectUnauthorized: false }, () => {
      resolve({ authorized: s.authorized, cert: s.getPeerCertificate(), error: s.authorizationError?.toString() });
      s.destroy();
    });
    s.on('error', reject);
  });
}

/** The certificate the store holds for a primary name. */
async function storedCert(srv: TestServer, primary: string): Promise<string> {
  const e = await srv.app.store.keys.getAcme(`cert:${primary}`);
  assert.ok(e, `no certificate stored for ${primary}`);
  return (JSON.parse(e.value) as { cert: string }).cert;
}

describe('ACME with pebble', { skip: pebble.skip }, () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer({ [DOMAIN]: { A: ['127.0.0.1'] }, [ALT]: { A: ['127.0.0.1'] } });
  });
  after(async () => {
    await dns?.stop();
  });

  async function run(challenge: 'http-01' | 'tls-alpn-01', seed?: (dataDir: string) => Promise<void>) {
    // pebble validates on fixed ports: Petrel's HTTP listener (HTTP-01) or HTTPS listener (TLS-ALPN-01).
    const webPort = await freePort();
    const unused = await freePort();
    const pb: Pebble = await startPebble({
      httpPort: challenge === 'http-01' ? webPort : unused,
      tlsPort: challenge === 'tls-alpn-01' ? webPort : unused,
      dns: dns.address,
    });
    let srv: TestServer | undefined;
    try {
      srv = await startTestServer({
        configure: (c) => {
          c.listeners.http.port = webPort;
          c.listeners.http.tls = challenge === 'tls-alpn-01';
          c.acme.enabled = true;
          c.acme.directory_url = pb.directoryUrl;
          c.acme.ca_bundle = pb.caBundlePath;
          c.acme.email = 'postmaster@acme.petrel';
          c.acme.domains = [DOMAIN, ALT];
          c.acme.challenge = challenge;
        },
        beforeServe: async (app) => seed?.(app.dataDir),
      });
      await srv.server.acme!.ensure();
      const root = await pb.root();
      for (const [name, port] of [
        ['IMAPS', srv.ports.imaps],
        ['SMTPS', srv.ports.submissions],
      ] as const) {
        for (const n of [DOMAIN, ALT]) {
          const r = await served(port, n, root);
          assert.equal(r.authorized, true, `${name} ${n}: ${r.error}\n${pb.output().slice(-2000)}`);
          assert.match(r.cert.subjectaltname ?? '', new RegExp(`DNS:${n.replace(/\./g, '\\.')}`));
        }
      }
      // Stored in the store, where every node of a cluster finds them; the challenge answers are gone.
      const keys = srv.app.store.keys;
      assert.match((await keys.getAcme('account-key'))?.value ?? '', /PRIVATE KEY/);
      assert.deepEqual([...(await keys.listAcme('http-01:')), ...(await keys.listAcme('tls-alpn-01:'))], []);
      // Nothing more to do now: the next check leaves the fresh certificate alone.
      assert.equal(await srv.server.acme!.ensure(), false);
      return storedCert(srv, DOMAIN);
    } finally {
      await srv?.stop();
      await pb.stop();
    }
  }

  test('HTTP-01: pebble validates through the HTTP listener; IMAPS and SMTPS serve the issued certificate', async () => {
    await run('http-01');
  });

  test('TLS-ALPN-01: pebble validates through the HTTPS listener (acme-tls/1); IMAPS and SMTPS serve it', async () => {
    await run('tls-alpn-01');
  });

  test('MTA-STS policy hosts of hosted domains pointing here get a certificate of their own; others are not asked for', async () => {
    dns.set(`mta-sts.sts.acme.petrel`, { A: ['127.0.0.1'] });
    dns.set(`mta-sts.far.acme.petrel`, { A: ['127.0.0.77'] }); // published elsewhere: not ours to certify
    const webPort = await freePort();
    const pb: Pebble = await startPebble({ httpPort: webPort, tlsPort: await freePort(), dns: dns.address });
    let srv: TestServer | undefined;
    try {
      srv = await startTestServer({
        configure: (c) => {
          c.dns.nameservers = [dns.address];
          c.listeners.http.port = webPort;
          c.acme.enabled = true;
          c.acme.directory_url = pb.directoryUrl;
          c.acme.ca_bundle = pb.caBundlePath;
          c.acme.domains = [DOMAIN];
          c.acme.challenge = 'http-01';
        },
        beforeServe: async (app) => {
          await app.directory.addDomain('sts.acme.petrel');
          await app.directory.addDomain('far.acme.petrel');
        },
      });
      assert.equal(await srv.server.acme!.ensure(), true);
      const root = await pb.root();
      const r = await served(srv.ports.imaps, 'mta-sts.sts.acme.petrel', root);
      assert.equal(r.authorized, true, `${r.error}\n${pb.output().slice(-2000)}`);
      assert.equal(r.cert.subjectaltname, 'DNS:mta-sts.sts.acme.petrel', 'a certificate of its own');
      assert.match((await served(srv.ports.imaps, DOMAIN, root)).cert.subjectaltname ?? '', /DNS:mail\.acme\.petrel/);
      assert.equal(await srv.app.store.keys.getAcme('cert:mta-sts.far.acme.petrel'), null, 'never asked for');
      // Nothing more to do at the next check.
      assert.equal(await srv.server.acme!.ensure(), false);
    } finally {
      await srv?.stop();
      await pb.stop();
    }
  });

  test('acme.domains written as U-labels (IDN) are asked for and served by their A-labels', async () => {
    const ace = 'mail.xn--bcher-kva.acme.petrel';
    dns.set(ace, { A: ['127.0.0.1'] });
    const webPort = await freePort();
    const pb = await startPebble({ httpPort: webPort, tlsPort: await freePort(), dns: dns.address });
    let srv: TestServer | undefined;
    try {
      srv = await startTestServer({
        configure: (c) => {
          c.listeners.http.port = webPort;
          c.acme.enabled = true;
          c.acme.directory_url = pb.directoryUrl;
          c.acme.ca_bundle = pb.caBundlePath;
          c.acme.domains = ['mail.Bücher.acme.petrel'];
          c.acme.challenge = 'http-01';
        },
      });
      assert.equal(await srv.server.acme!.ensure(), true, pb.output().slice(-2000));
      const r = await served(srv.ports.imaps, ace, await pb.root());
      assert.equal(r.authorized, true, r.error);
      assert.equal(r.cert.subjectaltname, `DNS:${ace}`);
      assert.equal(await srv.server.acme!.ensure(), false, 'asked for again');
    } finally {
      await srv?.stop();
      await pb.stop();
    }
  });

  test('a short-lived certificate (lifetime under renew_before_days) is renewed once a third of it is left, not at every check', async () => {
    const webPort = await freePort();
    // 10 days, as short-lived profiles issue (Let's Encrypt: 6 days): shorter than the 30-day window.
    const pb = await startPebble({
      httpPort: webPort,
      tlsPort: await freePort(),
      dns: dns.address,
      validitySeconds: 10 * 86400,
    });
    let srv: TestServer | undefined;
    try {
      srv = await startTestServer({
        configure: (c) => {
          c.listeners.http.port = webPort;
          c.acme.enabled = true;
          c.acme.directory_url = pb.directoryUrl;
          c.acme.ca_bundle = pb.caBundlePath;
          c.acme.domains = [DOMAIN];
          c.acme.challenge = 'http-01';
        },
      });
      assert.equal(await srv.server.acme!.ensure(), true, pb.output().slice(-2000));
      const pem = await storedCert(srv, DOMAIN);
      const x = new X509Certificate(pem);
      assert.ok(Date.parse(x.validTo) - Date.parse(x.validFrom) < 11 * 86400_000, x.validTo);
      // Fresh, with its whole lifetime ahead: the next checks leave it alone.
      assert.equal(await srv.server.acme!.ensure(), false, 'a fresh certificate was issued again');
      assert.equal(await storedCert(srv, DOMAIN), pem);
    } finally {
      await srv?.stop();
      await pb.stop();
    }
  });

  // The two tests below seed <data_dir>/acme as an earlier version left it: the first start takes it in.
  test('a stored certificate whose key is cut short (a crash while it was written) does not stop the start; it is issued again', async () => {
    let seeded = '';
    const cert = await run('http-01', async (dataDir) => {
      // A certificate for both names, not yet due for renewal (a third of its 7 days is left), beside half
      // of its key.
      const old = await selfSignedCert([DOMAIN, ALT]);
      seeded = old.cert;
      const d = join(dataDir, 'acme', 'certs', DOMAIN);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'cert.pem'), old.cert);
      writeFileSync(join(d, 'key.pem'), old.key.slice(0, old.key.length / 2), { mode: 0o600 });
    });
    assert.notEqual(cert, seeded);
  });

  test('a stored certificate with fewer than 30 days left is renewed at start', async () => {
    let seeded = '';
    const cert = await run('http-01', async (dataDir) => {
      // A certificate for both names expiring in 7 days, issued 83 days ago.
      const old = await selfSignedCert([DOMAIN, ALT], 83);
      seeded = old.cert;
      const d = join(dataDir, 'acme', 'certs', DOMAIN);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'cert.pem'), old.cert);
      writeFileSync(join(d, 'key.pem'), old.key, { mode: 0o600 });
    });
    assert.notEqual(cert, seeded);
    // acme.reuse_key (default): the new certificate is for the old key, so TLSA "3 1 1" records still hold.
    const spki = (pem: string) => new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
    assert.deepEqual(spki(cert), spki(seeded));
  });
});
