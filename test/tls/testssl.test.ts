// testssl.sh (Debian `testssl.sh`) as a second, independent audit of the TLS settings: protocols offered
// and every cipher accepted per protocol, on IMAPS and on submission with STARTTLS.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { peer } from '../helpers/peers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const testssl = peer('testssl', 'testssl.sh');

interface Finding {
  id: string;
  severity: string;
  finding: string;
}

/** One bounded run: protocols (-p) and ciphers per protocol (-E) only; JSON findings. */
function audit(target: string, starttls?: string): Promise<Finding[]> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-testssl-'));
  const json = join(dir, 'out.json');
  const args = ['--quiet', '--color', '0', '--warnings', 'off', '-p', '-E', '--jsonfile', json];
  if (starttls) args.push('-t', starttls);
  args.push(target);
  return new Promise((resolve, reject) => {
    // About 100 s on a quiet 2-core machine (every cipher of every protocol is tried); room for a busy one.
    execFile(testssl.path!, args, { timeout: 280_000, maxBuffer: 8 << 20 }, (err, stdout) => {
      try {
        resolve(JSON.parse(readFileSync(json, 'utf8')));
      } catch {
        reject(new Error(`testssl produced no report (${err?.message}):\n${stdout.slice(-2000)}`));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}

function check(findings: Finding[], name: string) {
  const by = new Map(findings.map((f) => [f.id, f.finding]));
  for (const p of ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']) assert.match(by.get(p) ?? '', /^not offered/, `${name} ${p}`);
  assert.match(by.get('TLS1_2') ?? '', /^offered/, `${name} TLS1_2`);
  assert.match(by.get('TLS1_3') ?? '', /^offered/, `${name} TLS1_3`);
  const ciphers = findings.filter((f) => f.id.startsWith('cipher-tls'));
  assert.ok(ciphers.length >= 4, `${name}: ciphers listed`);
  for (const c of ciphers) {
    if (c.id.startsWith('cipher-tls1_3')) continue; // TLS 1.3 suites are all AEAD with (EC)DHE
    assert.ok(c.id.startsWith('cipher-tls1_2'), `${name}: a cipher below TLS 1.2: ${c.finding}`);
    assert.match(c.finding, /ECDHE-(RSA|ECDSA)-(AES(128|256)-GCM|CHACHA20-POLY1305)/, `${name}: weak ${c.finding}`);
  }
}

describe('testssl.sh audit', { skip: testssl.skip }, () => {
  let srv: TestServer;
  before(async () => {
    srv = await startTestServer();
  });
  after(() => srv?.stop());

  test('IMAPS: TLS 1.2 and 1.3 only, ECDHE with AEAD ciphers only', async () => {
    check(await audit(`127.0.0.1:${srv.ports.imaps}`), 'IMAPS');
  });

  test('submission STARTTLS: the same', async () => {
    check(await audit(`127.0.0.1:${srv.ports.submission}`, 'smtp'), 'submission');
  });
});
