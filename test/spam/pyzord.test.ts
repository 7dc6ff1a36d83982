// Pyzor against a real pyzord (Debian pyzor) on a loopback UDP port with its own homedir and database:
// a message users mark as spam is reported (through the feedback sink), then the pipeline's check finds
// it (PYZOR_CHECK); the real `pyzor check` command sees the same digest counted; a signed account's
// whitelist is honoured and a wrong key is refused.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createResolver } from '../../src/dns/resolver.ts';
import { buildChecks, buildFeedbackSinks } from '../../src/spam/checks/index.ts';
import { pyzorRequest } from '../../src/spam/digest/pyzor-client.ts';
import { pyzorDigest } from '../../src/spam/digest/pyzor-digest.ts';
import { runPipeline } from '../../src/spam/pipeline.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { openTestMail, type TestMail } from '../helpers/mail.ts';
import { peer } from '../helpers/peers.ts';
import { context, msg, spamConfig } from './context.ts';

const pyzord = peer('pyzord', 'pyzor');
const KEY = '5ee1c3a09d2b9ab1a9aa4a01b2cd3e4f5a6b7c8d';

let home = '';
let port = 0;
let proc: ChildProcess | undefined;
let t: TestMail;

function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  if (pyzord.skip) return;
  t = await openTestMail('sqlite');
  home = mkdtempSync(join(tmpdir(), 'petrel-pyzord-'));
  writeFileSync(join(home, 'pyzord.passwd'), `petrel : ${KEY}\n`);
  writeFileSync(join(home, 'pyzord.access'), 'all : petrel : allow\ncheck report ping info : anonymous : allow\n');
  port = await freeUdpPort();
  proc = spawn(
    pyzord.path!,
    [
      '--homedir',
      home,
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      '--dsn',
      join(home, 'pyzord.db'),
      '--password-file',
      join(home, 'pyzord.passwd'),
      '--access-file',
      join(home, 'pyzord.access'),
    ],
    { stdio: 'ignore' },
  );
  // Ready when it answers a ping.
  for (let i = 0; ; i++) {
    const r = await pyzorRequest({ host: '127.0.0.1', port }, 'ping', null, { timeoutMs: 300 }).catch(() => null);
    if (r?.code === 200) break;
    if (i > 100) throw new Error('pyzord did not answer');
    // Until it listens, a ping fails at once (port unreachable): wait between tries.
    await sleep(100);
  }
});

after(async () => {
  if (proc) {
    proc.kill();
    await new Promise((r) => proc!.once('exit', r));
  }
  if (home) rmSync(home, { recursive: true, force: true });
  await t?.close();
});

const SPAM = msg(
  'From: Deals <deals@offers.example>',
  'To: bob@example.com',
  'Subject: limited offer',
  '',
  'Dear friend, we have a very special offer for you today only.',
  'Buy our wonderful product at half the usual price while stocks last.',
  'Reply now to claim your discount before midnight tonight.',
  '',
);

function setup() {
  const config = spamConfig((s) => {
    s.pyzor.servers = [`127.0.0.1:${port}`];
    s.pyzor.report = true;
    s.pyzor.min_count = 1;
    s.pyzor.timeout_ms = 3000;
    // Only pyzor here: the other content checks have their own tests.
    for (const k of ['uribl', 'phishing', 'attachments', 'headers', 'digests', 'reputation', 'bayes'] as const)
      s[k].enabled = false;
  });
  const deps = {
    store: t.store,
    config,
    log: silentLogger,
    resolver: createResolver({ nameservers: [], timeoutMs: 1000, tries: 1 }),
  };
  return { checks: buildChecks(deps), sinks: buildFeedbackSinks(deps) };
}

const run = (checks: ReturnType<typeof setup>['checks'], raw: Buffer) =>
  runPipeline(context(raw), { checks, thresholds: { junk: 6, reject: 15 }, timeoutMs: 5000, network: true });

test('a reported message is recognised by pyzord and scores PYZOR_CHECK', { skip: pyzord.skip }, async () => {
  const { checks, sinks } = setup();
  let v = await run(checks, SPAM);
  assert.deepEqual(v.symbols, [], 'unknown before the report');
  for (const s of sinks) await s.learn({ class: 'spam', source: 'user', accountId: 1, raw: SPAM });
  v = await run(checks, SPAM);
  assert.deepEqual(
    v.symbols.map((s) => [s.name, s.score]),
    [['PYZOR_CHECK', 3]],
  );
  assert.match(v.symbols[0].detail ?? '', /count=1 wl=0/);
  // The real client computes the same digest and sees the report.
  const cliHome = mkdtempSync(join(tmpdir(), 'petrel-pyzor-cli-'));
  try {
    writeFileSync(join(cliHome, 'servers'), `127.0.0.1:${port}\n`);
    const out = execFileSync('pyzor', ['--homedir', cliHome, 'check'], { input: SPAM, timeout: 30_000 }).toString();
    assert.match(out, /\(200, 'OK'\)\t1\t0/);
  } finally {
    rmSync(cliHome, { recursive: true, force: true });
  }
  // A message nobody reported stays unknown.
  v = await run(checks, Buffer.from(SPAM.toString().replace('special offer', 'ordinary letter')));
  assert.deepEqual(v.symbols, []);
});

test('signed requests: whitelisting by an account, a wrong key refused', { skip: pyzord.skip }, async () => {
  const server = { host: '127.0.0.1', port };
  const raw = msg('Subject: w', '', 'A newsletter people actually want to read every week.', 'More of it.');
  const digest = pyzorDigest(raw, context(raw).parsed);
  const account = { user: 'petrel', key: `salt,${KEY}` };
  let r = await pyzorRequest(server, 'whitelist', digest, { account, timeoutMs: 3000 });
  assert.equal(r.code, 200, r.diag);
  r = await pyzorRequest(server, 'check', digest, { account, timeoutMs: 3000 });
  assert.equal(r.wlCount, 1);
  r = await pyzorRequest(server, 'whitelist', digest, { account: { user: 'petrel', key: 'wrong' }, timeoutMs: 3000 });
  assert.notEqual(r.code, 200);
  r = await pyzorRequest(server, 'whitelist', digest, { timeoutMs: 3000 });
  assert.notEqual(r.code, 200, 'the anonymous account may not whitelist');
});
