// Key material a cluster shares through PostgreSQL (PETREL_TEST_PG_URL): a DKIM key file one node imports
// at start (as `petrel init` leaves it) and a key `petrel dkim generate` makes from a third data directory
// both sign what another node, started from an empty data directory, sends; checked with mailauth against
// the records in the test's own DNS server. A hosted domain with no key anywhere is warned about. ACME with
// a real pebble: one node orders, the CA validates on the other (HTTP-01 and TLS-ALPN-01), and both serve
// the certificate.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import nodemailer from 'nodemailer';
import { writeKeyFile } from '../../src/dkim/keys.ts';
import type { App } from '../../src/server/app.ts';
import { tlsaFor } from '../../src/smtp/dane-records.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';
import { commonPort, startFakeMta } from '../helpers/fake-mta.ts';
import { waitFor } from '../helpers/outbound.ts';
import { type Pebble, startPebble } from '../helpers/pebble.ts';
import { freePort, peer } from '../helpers/peers.ts';
import { PG_SKIP_REASON, pgTestUrl } from '../helpers/pg.ts';
import { run } from '../helpers/run.ts';
import { startCluster } from './cluster.ts';
import { stopPetrel } from './petrel-process.ts';

const url = pgTestUrl();
const pebble = peer('pebble', 'pebble');
const ACME_NAME = 'mail.cluster.petrel';
let dns: DnsServer;
let port: number;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'petrel-keys-'));
  dirs.push(d);
  return d;
};

before(async () => {
  if (!url) return;
  dns = await startDnsServer({
    'remote.test': { MX: [{ preference: 10, exchange: 'mx.remote.test' }] },
    'mx.remote.test': { A: ['127.0.0.2'] },
    [ACME_NAME]: { A: ['127.0.0.1'] },
  });
  port = await commonPort(['127.0.0.2']);
});
after(async () => {
  await dns?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The DKIM results mailauth gives a message, resolving keys from the test's DNS server. */
async function dkimResults(message: Buffer): Promise<string[]> {
  const r = new Resolver();
  r.setServers([dns.address]);
  const res = await dkimVerify(message, {
    resolver: async (name: string, type: string) => {
      if (type !== 'TXT') throw Object.assign(new Error('only TXT here'), { code: 'ENOTFOUND' });
      return r.resolveTxt(name);
    },
  });
  return res.results.map((x) => `${x.status.result} d=${x.signingDomain} s=${x.selector}`);
}

describe('key material shared by the nodes of a cluster', { skip: url ? undefined : PG_SKIP_REASON }, () => {
  test('DKIM keys imported or made on one node sign what another node sends; a domain without one is warned about', async () => {
    const env = {
      PETREL_DNS_NAMESERVERS: dns.address,
      PETREL_QUEUE_REMOTE_PORT: String(port),
      PETREL_QUEUE_POLL_INTERVAL: '200ms',
    };
    const cl = await startCluster(url!, 0, {
      env,
      seed: async (app) => {
        for (const d of ['example.com', 'example.org', 'example.net']) await app.directory.addDomain(d);
        await app.directory.addAccount('alice@example.com', 'secret-1');
        await app.directory.addAccount('carol@example.org', 'secret-2');
      },
    });
    const mta = await startFakeMta({ host: '127.0.0.2', port });
    try {
      // Node A starts on a data directory holding a key file, as `petrel init` leaves one.
      const dataA = tmp();
      const fileKey = writeKeyFile(join(dataA, 'dkim'), 'example.com', { algorithm: 'rsa', selector: 'petrel' });
      dns.set('petrel._domainkey.example.com', { TXT: [fileKey.record.match(/.{1,255}/g)!] });
      const a = await cl.add({ PETREL_SERVER_DATA_DIR: dataA });
      // `petrel dkim generate` from a data directory of its own (an admin's shell in another pod).
      const cli = await run(
        process.execPath,
        [resolve('bin/petrel.js'), 'dkim', 'generate', 'example.org', '--selector', 'cli', '--algorithm', 'ed25519'],
        {
          cwd: tmp(),
          env: { ...process.env, PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: cl.url },
        },
      );
      assert.equal(cli.status, 0, cli.stderr);
      const record = /"(v=DKIM1; k=ed25519; p=[^"]+)"/.exec(cli.stdout)?.[1];
      assert.ok(record, cli.stdout);
      dns.set('cli._domainkey.example.org', { TXT: [[record]] });
      // Node B: an empty data directory; node A is gone before B sends anything.
      const b = await cl.add();
      await stopPetrel(a.child, 'SIGKILL');
      for (const [user, pass, subject] of [
        ['alice@example.com', 'secret-1', 'from the file key'],
        ['carol@example.org', 'secret-2', 'from the CLI key'],
      ]) {
        const transport = nodemailer.createTransport({
          host: '127.0.0.1',
          port: b.ports.submission,
          secure: false,
          requireTLS: true,
          tls: { rejectUnauthorized: false },
          auth: { user, pass },
          authMethod: 'PLAIN',
        });
        await transport.sendMail({ from: user, to: 'bob@remote.test', subject, text: 'Signed by whichever node.' });
        transport.close();
      }
      await waitFor(() => mta.received().length === 2, 20000, 'both messages at the remote');
      const results = await Promise.all(mta.received().map((m) => dkimResults(m.data)));
      assert.deepEqual(results.flat().sort(), ['pass d=example.com s=petrel', 'pass d=example.org s=cli']);
      // Only the domain with no key anywhere is said to send unsigned.
      await waitFor(() => b.stdout().includes('DKIM: no key for this domain'), 20000, 'the warning');
      const warned = b
        .stdout()
        .split('\n')
        .filter((l) => l.includes('DKIM: no key for this domain'))
        .map((l) => JSON.parse(l).domain);
      assert.deepEqual(warned, ['example.net']);
    } finally {
      await mta.stop();
      await cl.stop();
    }
  });
});

describe('each node set up with its own `petrel init`', { skip: url ? undefined : PG_SKIP_REASON }, () => {
  test("the second node's key file is set aside, said once; a key removed from the store stays removed", async () => {
    const bin = resolve('bin/petrel.js');
    /** `petrel init` for example.com in a directory of its own; its data directory and the DKIM record it printed. */
    const init = async () => {
      const site = tmp();
      const r = await run(process.execPath, [
        bin,
        'init',
        '--domain',
        'example.com',
        '--hostname',
        'mail.example.com',
        '--dir',
        site,
      ]);
      assert.equal(r.status, 0, r.stderr);
      return { data: join(site, 'data'), record: /^petrel\._domainkey\.example\.com\.\t.*$/m.exec(r.stdout)?.[0] };
    };
    const cl = await startCluster(url!, 0, { env: { PETREL_BOOTSTRAP_DOMAIN: 'example.com' } });
    /** A `petrel` command from an administrator's shell: a data directory of its own, the cluster's store. */
    const petrel = (args: string[]) =>
      run(process.execPath, [bin, ...args], {
        cwd: tmp(),
        env: { ...process.env, PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: cl.url },
      });
    try {
      const [siteA, siteB] = [await init(), await init()];
      assert.notEqual(siteA.record, siteB.record, 'two inits, two keys');
      await cl.add({ PETREL_SERVER_DATA_DIR: siteA.data });
      const b = await cl.add({ PETREL_SERVER_DATA_DIR: siteB.data });
      // The store holds node A's key: that is the record to publish, not the one B's init printed.
      assert.ok((await petrel(['dkim', 'show', 'example.com'])).stdout.includes(siteA.record!));
      assert.match(b.stdout(), /"msg":"DKIM: key file differs from the stored key of its selector/);
      // The administrator rolls the key over: a new selector, the old one removed.
      assert.equal((await petrel(['dkim', 'generate', 'example.com', '--selector', 'k2'])).status, 0);
      assert.equal((await petrel(['dkim', 'remove', 'example.com', 'petrel'])).status, 0);
      // Node B restarts (an upgrade, a crash): what its init made must not come back as selector petrel.
      await stopPetrel(b.child);
      const again = await cl.add({ PETREL_SERVER_DATA_DIR: siteB.data });
      const show = await petrel(['dkim', 'show', 'example.com']);
      assert.match(show.stdout, /^k2\._domainkey\.example\.com\./m);
      assert.doesNotMatch(show.stdout, /petrel\._domainkey/, show.stdout);
      assert.doesNotMatch(again.stdout(), /DKIM: key file/, 'said at the first start only');
    } finally {
      await cl.stop();
    }
  });
});

/** The "3 1 1" association of the certificate a node's IMAPS listener serves for `name`. */
function servedTlsa(port: number, name: string): Promise<string> {
  return new Promise((done, fail) => {
    const s = connect({ port, host: '127.0.0.1', servername: name, rejectUnauthorized: false }, () => {
      done(tlsaFor(new X509Certificate(s.getPeerCertificate().raw).toString()));
      s.destroy();
    });
    s.on('error', fail);
  });
}

describe('the DANE record `petrel domain records` prints for a cluster', {
  skip: url ? undefined : PG_SKIP_REASON,
}, () => {
  /** The TLSA values `domain records` prints, run from an administrator's shell (a data directory of its own). */
  const printed = async (storeUrl: string, env: Record<string, string> = {}) => {
    const r = await run(process.execPath, [resolve('bin/petrel.js'), 'domain', 'records', 'mx.test.petrel'], {
      cwd: tmp(),
      env: {
        ...process.env,
        PETREL_STORE_BACKEND: 'postgres',
        PETREL_STORE_POSTGRES_URL: storeUrl,
        PETREL_SERVER_HOSTNAME: 'mx.test.petrel',
        ...env,
      },
    });
    assert.equal(r.status, 0, r.stderr);
    return [...r.stdout.matchAll(/\tTLSA\t(3 1 1 [0-9a-f]{64})$/gm)].map((m) => m[1]);
  };
  const seed = async (app: App) => void (await app.directory.addDomain('mx.test.petrel'));

  test('each node making its own self-signed certificate: no TLSA record, as none would be true of every node', async () => {
    const cl = await startCluster(url!, 2, { seed });
    try {
      const served = await Promise.all(cl.nodes.map((n) => servedTlsa(n.ports.imaps, 'mx.test.petrel')));
      assert.notEqual(served[0], served[1], 'two data directories, two self-signed certificates');
      // A record printed must be true of every node, or senders that check DANE defer mail to the others.
      for (const tlsa of await printed(cl.url)) assert.deepEqual(served, [tlsa, tlsa]);
      assert.deepEqual(await printed(cl.url), []);
    } finally {
      await cl.stop();
    }
  });

  test('one certificate on every node ([tls] cert): its TLSA record', async () => {
    const dir = tmp();
    const pair = await selfSignedCert(['mx.test.petrel']);
    writeFileSync(join(dir, 'cert.pem'), pair.cert);
    writeFileSync(join(dir, 'key.pem'), pair.key);
    const files = { PETREL_TLS_CERT: join(dir, 'cert.pem'), PETREL_TLS_KEY: join(dir, 'key.pem') };
    const cl = await startCluster(url!, 2, { seed, env: files });
    try {
      const served = await Promise.all(cl.nodes.map((n) => servedTlsa(n.ports.imaps, 'mx.test.petrel')));
      assert.deepEqual(await printed(cl.url, files), [tlsaFor(pair.cert)]);
      assert.deepEqual(served, [tlsaFor(pair.cert), tlsaFor(pair.cert)]);
    } finally {
      await cl.stop();
    }
  });
});

/** Whether a node's IMAPS serves a certificate for ACME_NAME that verifies against the CA's root. */
function servesIssued(port: number, root: string): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ port, host: '127.0.0.1', servername: ACME_NAME, ca: root, rejectUnauthorized: false }, () => {
      done(s.authorized);
      s.destroy();
    });
    s.on('error', () => done(false));
  });
}

describe('ACME in a cluster', { skip: url ? pebble.skip : PG_SKIP_REASON }, () => {
  for (const challenge of ['http-01', 'tls-alpn-01'] as const)
    test(`${challenge}: one node orders, the CA validates on the other node, both serve the certificate`, async () => {
      // pebble validates on one fixed port, which only node B listens on (HTTP, or HTTPS for TLS-ALPN-01).
      const webB = await freePort();
      const pb: Pebble = await startPebble({
        httpPort: challenge === 'http-01' ? webB : await freePort(),
        tlsPort: challenge === 'tls-alpn-01' ? webB : await freePort(),
        dns: dns.address,
      });
      const cl = await startCluster(url!, 0, {
        env: {
          PETREL_ACME_ENABLED: 'true',
          PETREL_ACME_DIRECTORY_URL: pb.directoryUrl,
          PETREL_ACME_CA_BUNDLE: pb.caBundlePath,
          PETREL_ACME_DOMAINS: ACME_NAME,
          PETREL_ACME_CHALLENGE: challenge,
          PETREL_LISTENERS_HTTP_TLS: challenge === 'tls-alpn-01' ? 'true' : 'false',
          PETREL_DNS_NAMESERVERS: dns.address,
        },
        // Node A (node id node-a) is the one that orders: the order lease is its own before either starts.
        seed: async (app) => {
          assert.ok(await app.store.leases.acquire('acme-order', 'node-a', 600_000, Date.now()));
        },
      });
      try {
        const b = await cl.add({ PETREL_LISTENERS_HTTP_PORT: String(webB), PETREL_SERVER_NODE_ID: 'node-b' });
        const a = await cl.add({ PETREL_SERVER_NODE_ID: 'node-a' });
        const root = await pb.root();
        await waitFor(
          () => servesIssued(a.ports.imaps, root),
          60000,
          `node A serving the certificate\n${pb.output().slice(-1500)}\n${a.stdout().slice(-1500)}`,
        );
        await waitFor(() => servesIssued(b.ports.imaps, root), 30000, 'node B serving it, told by node A');
        assert.match(a.stdout(), /"certificate installed"/);
        assert.doesNotMatch(b.stdout(), /requesting certificate/, 'node B ordered nothing');
        // Issued at all means node B answered: the CA validates on B's port only, with what A stored.
        assert.deepEqual(
          [...(await cl.app.store.keys.listAcme('http-01:')), ...(await cl.app.store.keys.listAcme('tls-alpn-01:'))],
          [],
          'the challenge answers are removed',
        );
      } finally {
        await cl.stop();
        await pb.stop();
      }
    });
});
