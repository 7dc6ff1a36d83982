// Size-valued config keys written with a unit ("10M", "10 MB", "1GiB") as Dovecot's are: the same
// number as the octets, from the file and from PETREL_* variables; what SMTP announces and refuses
// follows it; a value that is no size is a config error that names its key.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config/load.ts';
import { RawSmtp } from '../helpers/smtp-client.ts';
import { startPetrel, stopPetrel } from './petrel-process.ts';

const exec = promisify(execFile);
const BIN = resolve('bin/petrel.js');
const dir = mkdtempSync(join(tmpdir(), 'petrel-config-sizes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function configFile(smtp: string): string {
  const cwd = mkdtempSync(join(dir, 'run-'));
  writeFileSync(join(cwd, 'petrel.toml'), `[smtp]\n${smtp}\n`);
  return cwd;
}

test('"10 MB", "10M", "10MiB" and 10485760 are the same size, in the file and in the environment', () => {
  for (const v of ['"10 MB"', '"10M"', '"10MiB"', '10485760', '"10485760"']) {
    const cwd = configFile(`max_message_size = ${v}`);
    const { config } = loadConfig({ path: join(cwd, 'petrel.toml'), env: {} });
    assert.equal(config.smtp.max_message_size, 10485760, v);
  }
  const env = { PETREL_SMTP_MAX_MESSAGE_SIZE: '10M', PETREL_SPAM_ANTIVIRUS_MAX_SIZE: '25 MiB' };
  const { config } = loadConfig({ path: undefined, env });
  assert.equal(config.smtp.max_message_size, 10485760);
  assert.equal(config.spam.antivirus.max_size, 25 * 1024 * 1024);
});

test('a value that is no size, or one below the minimum, is a config error naming the key', async () => {
  const cwd = configFile('max_message_size = "ten megs"\nmax_header_size = "512B"');
  const r = await exec(process.execPath, [BIN, 'config', 'check'], { cwd }).catch((e) => e);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(
    r.stderr,
    /petrel\.toml:2: "smtp\.max_message_size" expected a size \(.*e\.g\. 512K, 10M, 1G\), not "ten megs"/,
  );
  assert.match(r.stderr, /petrel\.toml:3: "smtp\.max_header_size" must be at least 1024/);
  const envBad = await exec(process.execPath, [BIN, 'config', 'check'], {
    cwd: mkdtempSync(join(dir, 'env-')),
    env: { ...process.env, PETREL_SMTP_MAX_MESSAGE_SIZE: '10 parsecs' },
  }).catch((e) => e);
  assert.equal(envBad.code, 1);
  assert.match(envBad.stderr, /environment PETREL_SMTP_MAX_MESSAGE_SIZE: expected a size .*, not "10 parsecs"/);
});

test('smtp.max_message_size = "64K": SIZE announces 65536, a larger message is refused with 552', async () => {
  const cwd = configFile('max_message_size = "64K"');
  const p = await startPetrel(cwd);
  try {
    const c = await RawSmtp.open(p.ports.smtp);
    await c.expect(220);
    await c.expect(250, 'EHLO client.test', /250[- ]SIZE 65536\r\n/);
    await c.expect(552, 'MAIL FROM:<a@client.test> SIZE=70000', /5\.3\.4/);
    // Undeclared: read to the end, then refused.
    await c.expect(250, 'MAIL FROM:<a@client.test>');
    await c.expect(250, 'RCPT TO:<admin@localhost>');
    await c.expect(354, 'DATA');
    const line = `${'x'.repeat(998)}\r\n`;
    c.write(`Subject: big\r\n\r\n${line.repeat(70)}.\r\n`);
    await c.expect(552, undefined, /5\.3\.4/);
    // One within it still goes through.
    await c.expect(250, 'MAIL FROM:<a@client.test> SIZE=30000');
    await c.expect(250, 'RCPT TO:<admin@localhost>');
    await c.expect(354, 'DATA');
    c.write(`From: a@client.test\r\nTo: admin@localhost\r\nSubject: fits\r\n\r\n${line.repeat(20)}.\r\n`);
    await c.expect(250);
    c.close();
  } finally {
    await stopPetrel(p.child);
  }
});
