// Delivery-to-IDLE latency, Petrel against Dovecot in the same run: an IMAP client idles on INBOX while
// messages arrive one at a time over LMTP; each sample is the time from the end of DATA being sent to the
// `* n EXISTS` line reaching the client (durable delivery plus notification). Issue 4's target: 100 ms.
// node bench/idle.ts [messages=200]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { openApp } from '../src/server/app.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { freePort, startDovecot, waitPort } from '../test/helpers/peers.ts';
import { BenchImap } from './imap-client.ts';
import { dataBlock, LineClient } from './lib/lmtp.ts';

const COUNT = Number(process.argv[2] ?? 200);

async function startPetrel(): Promise<{ imap: number; lmtp: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-idle-'));
  const [imap, lmtp] = [await freePort(), await freePort()];
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PETREL_SERVER_DATA_DIR: dir,
    PETREL_LOG_LEVEL: 'warn',
    PETREL_LISTENERS_IMAP_PORT: String(imap),
    PETREL_LISTENERS_LMTP_PORT: String(lmtp),
    PETREL_LISTENERS_LMTP_ENABLED: 'true',
  };
  for (const l of ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'IMAPS', 'POP3', 'POP3S', 'HTTP'])
    env[`PETREL_LISTENERS_${l}_ENABLED`] = 'false';
  const { config } = loadConfig({ env });
  const app = await openApp(config, silentLogger);
  await app.directory.addDomain('bench.test');
  await app.directory.addAccount('user1@bench.test', 'pass');
  await app.close();
  // Its own process, as in production: the client and LMTP sender here do not share its event loop.
  const child: ChildProcess = spawn(process.execPath, [resolve('bin/petrel.js'), 'serve'], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitPort(imap);
  await waitPort(lmtp);
  return {
    imap,
    lmtp,
    async stop() {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function message(i: number): Buffer {
  return Buffer.from(
    `From: a@remote.test\r\nTo: user1@bench.test\r\nSubject: idle ${i}\r\nMessage-ID: <idle${i}@remote.test>\r\n` +
      `Date: Sun, 6 Dec 2026 12:00:00 +0000\r\n\r\n${'Just a line of text.\r\n'.repeat(20)}`,
  );
}

/** COUNT deliveries while idling; returns the latencies in ms. */
async function measure(imapPort: number, lmtpPort: number, user: string, rcpt: string): Promise<number[]> {
  const c = await BenchImap.open(imapPort);
  const login = await c.cmd(`LOGIN ${user} pass`);
  if (!login.tagged.includes(' OK')) throw new Error(`login: ${login.tagged}`);
  const sel = await c.cmd('SELECT INBOX', true);
  let exists = Number(/\* (\d+) EXISTS/.exec(sel.lines.join('\n'))?.[1] ?? 0);
  let seen: ((n: number) => void) | null = null;
  await c.idle((l) => {
    const m = /^\* (\d+) EXISTS/.exec(l);
    if (m) seen?.(Number(m[1]));
  });
  const lmtp = await LineClient.open(lmtpPort);
  await lmtp.reply();
  lmtp.write('LHLO bench.test\r\n');
  await lmtp.reply();
  const out: number[] = [];
  for (let i = 0; i < COUNT; i++) {
    const target = exists + 1;
    const heard = new Promise<number>((r) => {
      seen = (n) => {
        if (n >= target) r(performance.now());
      };
    });
    lmtp.write(`MAIL FROM:<a@remote.test>\r\nRCPT TO:<${rcpt}>\r\nDATA\r\n`);
    for (const want of ['250', '250', '354']) {
      const r = await lmtp.reply();
      if (!r.startsWith(want)) throw new Error(`LMTP: ${r}`);
    }
    const sent = performance.now();
    lmtp.write(dataBlock(message(i)));
    const r = await lmtp.reply();
    if (!r.startsWith('250')) throw new Error(`LMTP: ${r}`);
    out.push((await heard) - sent);
    exists = target;
  }
  lmtp.close();
  c.close();
  return out;
}

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

async function main() {
  const petrel = await startPetrel();
  const dovecot = await startDovecot({ users: 1 });
  try {
    const results = {
      Petrel: await measure(petrel.imap, petrel.lmtp, 'user1@bench.test', 'user1@bench.test'),
      Dovecot: await measure(dovecot.imapPort, dovecot.lmtpPort, 'user1', 'user1'),
    };
    console.log(`delivery (LMTP, end of DATA) to IDLE EXISTS, ${COUNT} messages one at a time:`);
    for (const [name, xs] of Object.entries(results))
      console.log(
        `${name.padEnd(8)} median ${pct(xs, 0.5).toFixed(2)} ms  p95 ${pct(xs, 0.95).toFixed(2)} ms  max ${Math.max(...xs).toFixed(2)} ms`,
      );
    console.log(
      `medians: Dovecot / Petrel = ${(pct(results.Dovecot, 0.5) / pct(results.Petrel, 0.5)).toFixed(1)}x (above 1 means Petrel is faster)`,
    );
  } finally {
    await petrel.stop();
    await dovecot.stop();
  }
}

await main();
