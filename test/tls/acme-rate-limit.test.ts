// An ACME server that answers a new order with 429 rateLimited and Retry-After (RFC 8555 section 6.6): the
// client stops there, logs the failure once, and asks nothing of the CA again before that time. Pebble has
// no rate limits, so this CA is a stub over HTTPS on loopback that answers just the requests of an order.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AcmeManager } from '../../src/acme/manager.ts';
import { AcmeStore } from '../../src/acme/storage.ts';
import type { Store } from '../../src/core/ports.ts';
import { CertificateSet } from '../../src/net/certificates.ts';
import { openSqliteStore } from '../../src/store/sqlite/store.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { captureLog } from '../helpers/log-capture.ts';

test('a 429 with Retry-After ends the attempt; no request reaches the CA again before that time', async () => {
  const own = await selfSignedCert(['localhost']);
  const seen: string[] = [];
  // 30 days: Let's Encrypt's limits run over days and weeks.
  const retryAfter = 30 * 86400;
  const ca = createServer({ cert: own.cert, key: own.key }, (req, res) => {
    seen.push(`${req.method} ${req.url}`);
    req.resume();
    const base = `https://localhost:${(ca.address() as AddressInfo).port}`;
    const nonce = { 'replay-nonce': `n${seen.length}`, 'cache-control': 'no-store' };
    if (req.url === '/dir') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ newNonce: `${base}/nonce`, newAccount: `${base}/account`, newOrder: `${base}/order` }));
    } else if (req.url === '/nonce') {
      res.writeHead(200, nonce);
      res.end();
    } else if (req.url === '/account') {
      res.writeHead(201, { ...nonce, 'content-type': 'application/json', location: `${base}/acct/1` });
      res.end(JSON.stringify({ status: 'valid' }));
    } else {
      res.writeHead(429, { ...nonce, 'content-type': 'application/problem+json', 'retry-after': String(retryAfter) });
      res.end(
        JSON.stringify({
          type: 'urn:ietf:params:acme:error:rateLimited',
          detail: 'too many certificates already issued for this exact set of identifiers',
        }),
      );
    }
  });
  await new Promise<void>((r) => ca.listen(0, '127.0.0.1', r));
  const dir = mkdtempSync(join(tmpdir(), 'petrel-acme-429-'));
  let store: Store | undefined;
  const log = captureLog();
  const settings = { minVersion: 'TLSv1.2' as const, ciphers: 'TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256' };
  const acme = new AcmeManager(
    {
      directoryUrl: `https://localhost:${(ca.address() as AddressInfo).port}/dir`,
      email: '',
      domains: ['mail.limited.petrel'],
      challenge: 'http-01',
      caBundle: own.cert,
      renewBeforeDays: 30,
      checkIntervalMs: 3_600_000,
      store: new AcmeStore((store = await openSqliteStore({ path: join(dir, 'petrel.db') })).keys),
    },
    new CertificateSet(settings, 'mail.limited.petrel'),
    createLogger({ level: 'info', destination: log.stream }),
  );
  try {
    await assert.rejects(acme.ensure(), /too many certificates/);
    const orders = () => seen.filter((s) => s === 'POST /order').length;
    assert.equal(orders(), 1, `the order was sent again at once: ${seen.join(', ')}`);
    const failed = log.lines.filter((l) => /failed/.test(l.msg));
    assert.equal(failed.length, 1, 'logged once');
    assert.ok(failed[0].retryAfter, JSON.stringify(failed[0]));
    // The next checks, before Retry-After has passed, leave the CA alone.
    const requests = seen.length;
    assert.equal(await acme.ensure(), false);
    assert.equal(await acme.ensure(), false);
    assert.equal(seen.length, requests, seen.join(', '));
  } finally {
    acme.stop();
    ca.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
