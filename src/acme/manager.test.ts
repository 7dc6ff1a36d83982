// When the ACME manager asks the CA: no stored certificate, a configured name missing from it, or fewer
// days left than the renewal window, or a third of a short certificate's lifetime (the clock is injected).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { selfSignedCert } from '../../test/helpers/certs.ts';
import { CertificateSet } from '../net/certificates.ts';
import { openSqliteStore } from '../store/sqlite/store.ts';
import { silentLogger } from '../telemetry/log.ts';
import { AcmeManager, type AcmeOptions } from './manager.ts';
import { AcmeStore } from './storage.ts';

test('renewal decision: missing, names changed, inside or outside the window', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-acme-'));
  const db = await openSqliteStore({ path: join(dir, 'petrel.db') });
  const store = new AcmeStore(db.keys);
  try {
    const opts: AcmeOptions = {
      directoryUrl: 'https://127.0.0.1:1/dir',
      email: '',
      domains: ['mail.example.test'],
      challenge: 'http-01',
      caBundle: null,
      renewBeforeDays: 30,
      checkIntervalMs: 3_600_000,
      store,
    };
    const set = new CertificateSet(
      { minVersion: 'TLSv1.2', ciphers: 'TLS_AES_128_GCM_SHA256:ECDHE-RSA-AES128-GCM-SHA256' },
      'mail.example.test',
    );
    const now = Date.now();
    const at = (days: number) => () => now + days * 86400_000;
    assert.equal(await new AcmeManager(opts, set, silentLogger).needsCertificate(), true, 'nothing stored');
    // A 90-day certificate with 7 days left.
    const c = await selfSignedCert(['mail.example.test'], 83);
    await store.putCertificate('mail.example.test', c.cert, c.key);
    assert.equal(await new AcmeManager(opts, set, silentLogger, at(0)).needsCertificate(), true, '7 days left < 30');
    assert.equal(
      await new AcmeManager({ ...opts, renewBeforeDays: 5 }, set, silentLogger, at(0)).needsCertificate(),
      false,
    );
    assert.equal(
      await new AcmeManager({ ...opts, renewBeforeDays: 5 }, set, silentLogger, at(3)).needsCertificate(),
      true,
    );
    const more = { ...opts, renewBeforeDays: 5, domains: ['mail.example.test', 'imap.example.test'] };
    assert.equal(await new AcmeManager(more, set, silentLogger, at(0)).needsCertificate(), true, 'a name was added');
    // A short-lived certificate (7 days in all, under the 30-day window) is due in its last third only.
    const short = await selfSignedCert(['mail.example.test']);
    await store.putCertificate('mail.example.test', short.cert, short.key);
    assert.equal(await new AcmeManager(opts, set, silentLogger, at(0)).needsCertificate(), false, 'just issued');
    assert.equal(await new AcmeManager(opts, set, silentLogger, at(4)).needsCertificate(), false);
    assert.equal(await new AcmeManager(opts, set, silentLogger, at(5)).needsCertificate(), true, '2 of 7 days left');
  } finally {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
