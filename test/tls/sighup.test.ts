// `petrel serve` as a real process: SIGHUP re-reads the certificate files; the next IMAPS and STARTTLS
// connections get the new certificate and the process keeps running.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startPetrel, stopPetrel } from '../e2e/petrel-process.ts';
import { selfSignedCert } from '../helpers/certs.ts';
import { sClient } from '../helpers/openssl.ts';
import { peer } from '../helpers/peers.ts';

const openssl = peer('openssl', 'openssl');

test('SIGHUP swaps the certificate for new connections', { skip: openssl.skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-sighup-'));
  const first = await selfSignedCert(['first.test.petrel']);
  writeFileSync(join(dir, 'tls.crt'), first.cert);
  writeFileSync(join(dir, 'tls.key'), first.key, { mode: 0o600 });
  writeFileSync(
    join(dir, 'petrel.toml'),
    `[server]\ndata_dir = "${join(dir, 'data')}"\n[tls]\ncert = "${join(dir, 'tls.crt')}"\nkey = "${join(dir, 'tls.key')}"\n`,
  );
  const p = await startPetrel(dir, { PETREL_CONFIG: join(dir, 'petrel.toml') });
  try {
    const before = await sClient({ port: p.ports.imaps });
    assert.match(before.cert?.subject ?? '', /CN=first\.test\.petrel/, before.output.slice(-500));

    const second = await selfSignedCert(['second.test.petrel']);
    writeFileSync(join(dir, 'tls.crt'), second.cert);
    writeFileSync(join(dir, 'tls.key'), second.key);
    p.child.kill('SIGHUP');
    const deadline = Date.now() + 10000;
    while (!p.stdout().includes('TLS certificates reloaded')) {
      assert.ok(Date.now() < deadline, `no reload logged:\n${p.stdout()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const [port, starttls] of [
      [p.ports.imaps, undefined],
      [p.ports.imap, 'imap'],
      [p.ports.submission, 'smtp'],
    ] as const) {
      const after = await sClient({ port, starttls });
      assert.match(after.cert?.subject ?? '', /CN=second\.test\.petrel/, `port ${port}`);
    }
    assert.equal(p.child.exitCode, null, 'still running');
  } finally {
    await stopPetrel(p.child);
    rmSync(dir, { recursive: true, force: true });
  }
});
