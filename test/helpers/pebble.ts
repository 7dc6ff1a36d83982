// A private pebble (Let's Encrypt's ACME test server, Debian package `pebble`) on loopback: its own HTTPS
// certificate, challenge ports pointing at the Petrel under test, names resolved by the test's DNS server.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { selfSignedCert } from './certs.ts';
import { freePort, waitPort } from './peers.ts';

export interface Pebble {
  directoryUrl: string;
  /** PEM file of pebble's own HTTPS certificate: what Petrel's acme.ca_bundle points at. */
  caBundlePath: string;
  /** The root that signs the certificates pebble issues (management API /roots/0). */
  root(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

export async function startPebble(opts: {
  httpPort: number;
  tlsPort: number;
  dns: string;
  /** Lifetime of the certificates pebble issues (its default: 5 years). */
  validitySeconds?: number;
}): Promise<Pebble> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-pebble-'));
  const own = await selfSignedCert(['localhost']);
  writeFileSync(join(dir, 'cert.pem'), own.cert);
  writeFileSync(join(dir, 'key.pem'), own.key, { mode: 0o600 });
  const [port, mgmt] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort: opts.httpPort,
        tlsPort: opts.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      },
    }),
  );
  const child: ChildProcess = spawn('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', opts.dns], {
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b) => (out += b));
  child.stderr!.on('data', (b) => (out += b));
  await Promise.all([waitPort(port), waitPort(mgmt)]);
  return {
    directoryUrl: `https://localhost:${port}/dir`,
    caBundlePath: join(dir, 'cert.pem'),
    root: () =>
      new Promise((resolve, reject) => {
        get(`https://localhost:${mgmt}/roots/0`, { ca: own.cert }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (body += d));
          res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`roots: ${res.statusCode}`))));
        }).on('error', reject);
      }),
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
