// Outbound throughput: N messages of ~10 KB to one remote domain, delivered to smtp-sink on 127.0.0.2.
// Petrel: queued through app.outbound (durable, DKIM-signed) and delivered by its queue runner (MX from a
// DNS server of our own). Postfix: the same messages injected with smtp-source and relayed by a private
// Postfix to the same sink. Prints messages/second for both and the ratio. Needs root (Postfix).
// Usage: node bench/outbound.ts [N=2000]
// Note: Postfix's figure includes receiving the mail over SMTP; Petrel's starts at its queue (the SMTP
// server is separate), so the comparison slightly favours Petrel's pipeline length.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openApp } from '../src/server/app.ts';
import { serve } from '../src/server/serve.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { commonPort } from '../test/helpers/fake-mta.ts';
import { waitPort } from '../test/helpers/peers.ts';
import { startPostfix } from '../test/helpers/postfix.ts';
import { testConfig } from '../test/helpers/server.ts';

const N = Number(process.argv[2] ?? 2000);
const BODY = `${'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(17)}\r\n`.repeat(10);

/** smtp-sink with running counters; resolves its message count on demand. */
async function startSink(port: number): Promise<{ count(): number; stop(): void; proc: ChildProcess }> {
  const proc = spawn('smtp-sink', ['-c', '-u', 'nobody', `127.0.0.2:${port}`, '1024'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let count = 0;
  proc.stdout!.on('data', (d: Buffer) => {
    const all = [...d.toString().matchAll(/mesg=(\d+)/g)];
    if (all.length) count = Number(all[all.length - 1][1]);
  });
  await waitPort(port, '127.0.0.2');
  return { count: () => count, stop: () => proc.kill('SIGTERM'), proc };
}

async function until(fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** preQueue: queue everything first, then start the runner (delivery alone is measured). */
async function petrel(sinkPort: number, sink: { count(): number }, preQueue = false): Promise<number> {
  const dns = await startDnsServer({
    'sink.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
    'mx.sink.test': { A: ['127.0.0.2'] },
  });
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-out-'));
  const c = testConfig(dir);
  for (const l of Object.values(c.listeners)) l.enabled = false;
  c.dns.nameservers = [dns.address];
  c.queue.remote_port = sinkPort;
  c.queue.concurrency = 20;
  c.queue.destination_concurrency = 20;
  const app = await openApp(c, silentLogger);
  await app.directory.addDomain('example.com');
  app.dkim.generate('example.com', { algorithm: 'ed25519', selector: 'b' });
  let server = preQueue ? null : await serve(app);
  const before = sink.count();
  let t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < N) {
      const i = next++;
      await app.outbound.enqueue({
        from: 'alice@example.com',
        recipients: [{ address: `user${i % 50}@sink.test` }],
        raw: Buffer.from(`From: alice@example.com\r\nTo: user@sink.test\r\nSubject: bench ${i}\r\n\r\n${BODY}`),
      });
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  const queued = performance.now() - t0;
  if (preQueue) {
    t0 = performance.now();
    server = await serve(app);
  }
  await until(() => sink.count() - before >= N, 600_000);
  const ms = performance.now() - t0;
  await server!.stop();
  await dns.stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(
    preQueue
      ? `petrel: ${N} queued in ${queued.toFixed(0)} ms, then delivered from the queue in ${ms.toFixed(0)} ms`
      : `petrel: ${N} queued in ${queued.toFixed(0)} ms while delivering, all delivered in ${ms.toFixed(0)} ms`,
  );
  return (N * 1000) / ms;
}

async function postfix(sinkPort: number, sink: { count(): number }): Promise<number> {
  const port = await commonPort(['127.0.0.3']);
  const pf = await startPostfix({ host: '127.0.0.3', port, users: [], relayTo: `[127.0.0.2]:${sinkPort}` });
  const before = sink.count();
  const t0 = performance.now();
  execFileSync(
    'smtp-source',
    [
      '-s',
      '20',
      '-m',
      String(N),
      '-l',
      '10240',
      '-f',
      'alice@example.com',
      '-t',
      'user@sink.test',
      `127.0.0.3:${port}`,
    ],
    { stdio: 'ignore' },
  );
  const received = performance.now() - t0;
  await until(() => sink.count() - before >= N, 600_000);
  const ms = performance.now() - t0;
  await pf.stop();
  console.log(`postfix: ${N} received in ${received.toFixed(0)} ms, all delivered in ${ms.toFixed(0)} ms`);
  return (N * 1000) / ms;
}

const sinkPort = await commonPort(['127.0.0.2']);
const sink = await startSink(sinkPort);
try {
  const p = await petrel(sinkPort, sink);
  const d = await petrel(sinkPort, sink, true);
  const q = await postfix(sinkPort, sink);
  console.log(
    `outbound, ${N} x 10 KB to one domain: petrel ${p.toFixed(0)} msg/s (queue to sink alone ${d.toFixed(0)} msg/s), ` +
      `postfix ${q.toFixed(0)} msg/s, ratio ${(p / q).toFixed(2)}`,
  );
} finally {
  sink.stop();
}
