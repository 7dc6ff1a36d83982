// SMTP inbound benchmark, end to end: messages per second accepted AND stored in a mailbox, driven by
// `smtp-source -s 20 -m 5000 -l 10240` against (1) Petrel, (2) Postfix delivering over LMTP into Dovecot
// (counted until the last message is in Dovecot's Maildir), (3) smtp-sink (accept and discard: the upper
// bound). Also the p99 latency of the reply to the end of data (our own 20-connection client) and the
// peak memory (PSS summed over each server's processes). Needs root for Postfix and Dovecot.
//
//   node bench/smtp.ts [--messages 5000] [--sessions 20] [--size 10240] [--latency-messages 1000]
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const MESSAGES = arg('messages', 5000);
const SESSIONS = arg('sessions', 20);
const SIZE = arg('size', 10240);
const LATENCY_MESSAGES = arg('latency-messages', 1000);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

// ---- memory: PSS of a process and its descendants, sampled while a run lasts ----

function children(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {}
  }
  return out;
}

function treePssKb(roots: number[]): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [...roots];
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      total += m ? Number(m[1]) : 0;
    } catch {}
    stack.push(...children(pid));
  }
  return total;
}

function sampleMemory(roots: () => number[]): { stop: () => number } {
  let peak = 0;
  const tick = () => {
    peak = Math.max(peak, treePssKb(roots()));
  };
  tick();
  const timer = setInterval(tick, 250);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return peak;
    },
  };
}

// ---- the load: smtp-source, and our own client for reply latency ----

function smtpSource(port: number, to: string, count: number): Promise<void> {
  return new Promise((res, rej) => {
    const p = spawn(
      'smtp-source',
      [
        '-s',
        String(SESSIONS),
        '-m',
        String(count),
        '-l',
        String(SIZE),
        '-f',
        'bench@remote.test',
        '-t',
        to,
        `127.0.0.1:${port}`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`smtp-source exited ${code}: ${err}`))));
  });
}

/** 20 connections, each sending messages one after the other; the time from "." to the reply, in ms. */
async function latencies(port: number, to: string, count: number): Promise<number[]> {
  const body = `From: bench@remote.test\r\nTo: ${to}\r\nSubject: latency\r\n\r\n${'x'.repeat(76)}\r\n`.repeat(1);
  const fill = `${'y'.repeat(78)}\r\n`.repeat(Math.max(0, Math.floor((SIZE - body.length) / 80)));
  const message = `${body}${fill}.\r\n`;
  const out: number[] = [];
  let next = 0;
  const one = async () => {
    const sock = connect({ port, host: '127.0.0.1' });
    sock.setNoDelay(true);
    let buf = '';
    const waiters: (() => void)[] = [];
    sock.on('data', (d) => {
      buf += d;
      for (const w of waiters.splice(0)) w();
    });
    const reply = async (): Promise<string> => {
      for (;;) {
        const m = /^(?:\d{3}-[^\n]*\n)*\d{3} [^\n]*\n/.exec(buf);
        if (m) {
          buf = buf.slice(m[0].length);
          return m[0];
        }
        await new Promise<void>((r) => waiters.push(r));
      }
    };
    await reply();
    sock.write('EHLO latency.test\r\n');
    await reply();
    while (next < count) {
      next++;
      sock.write(`MAIL FROM:<bench@remote.test>\r\n`);
      await reply();
      sock.write(`RCPT TO:<${to}>\r\n`);
      await reply();
      sock.write('DATA\r\n');
      await reply();
      const t0 = performance.now();
      sock.write(message);
      const r = await reply();
      out.push(performance.now() - t0);
      if (!r.startsWith('250')) throw new Error(`latency run: ${r}`);
    }
    sock.end('QUIT\r\n');
  };
  await Promise.all(Array.from({ length: SESSIONS }, one));
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];

// ---- the servers ----

interface Target {
  name: string;
  port: number;
  to: string;
  pids: () => number[];
  /** Resolves when `n` messages (in total so far) are stored; sinks store nothing. */
  stored: (n: number) => Promise<void>;
}

async function startPetrel(dir: string): Promise<{ target: Target; child: ChildProcess }> {
  const port = await freePort();
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  for (const l of ['SUBMISSION', 'SUBMISSIONS', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'HTTP'])
    env[`PETREL_LISTENERS_${l}_ENABLED`] = 'false';
  Object.assign(env, {
    PETREL_LISTENERS_SMTP_PORT: String(port),
    PETREL_BOOTSTRAP_DOMAIN: 'example.test',
    PETREL_SERVER_HOSTNAME: 'petrel.bench',
    PETREL_SMTP_MAX_CONNECTIONS_PER_IP: '1000',
    // smtp-source opens a connection per message, thousands a second from one IP: no rate limit here.
    PETREL_SECURITY_CONNECTION_RATE_PER_IP: '0',
    // Equal work: the Postfix + Dovecot pipeline beside it runs no spam filter either.
    PETREL_SPAM_ENABLED: 'false',
  });
  const child = spawn(process.execPath, [join(here, '..', 'bin', 'petrel.js'), 'serve'], {
    cwd: dir,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.resume();
  for (let i = 0; !out.includes('"petrel started"'); i++) {
    if (i > 300 || child.exitCode !== null) throw new Error(`petrel did not start:\n${out}`);
    await sleep(100);
  }
  const db = join(dir, 'data', 'petrel.db');
  return {
    child,
    target: {
      name: 'Petrel',
      port,
      to: 'admin@example.test',
      pids: () => [child.pid!],
      async stored(n) {
        // A 250 from Petrel means committed; this only confirms the count.
        const d = new Database(db, { readonly: true, fileMustExist: true });
        try {
          const got = (
            d
              .prepare('SELECT count(*) AS n FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.name = ?')
              .get('INBOX') as { n: number }
          ).n;
          if (got < n) throw new Error(`Petrel stored ${got} of ${n}`);
        } finally {
          d.close();
        }
      },
    },
  };
}

function maildirCount(dir: string): number {
  let n = 0;
  for (const sub of ['new', 'cur']) {
    const p = join(dir, sub);
    if (existsSync(p)) n += readdirSync(p).length;
  }
  return n;
}

async function main() {
  const scratch = mkdtempSync(join(tmpdir(), 'petrel-bench-smtp-'));
  const peers = join(here, 'peers');
  const sh = (script: string, env: Record<string, string>) =>
    execFileSync('bash', [join(peers, script), scratch, ...(script.startsWith('dovecot-start') ? ['5'] : [])], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    })
      .toString()
      .trim();
  const ports = {
    imap: await freePort(),
    pop3: await freePort(),
    lmtp: await freePort(),
    postfix: await freePort(),
    sink: await freePort(),
  };
  const env = {
    IMAP_PORT: String(ports.imap),
    POP3_PORT: String(ports.pop3),
    LMTP_PORT: String(ports.lmtp),
    SMTP_PORT: String(ports.postfix),
    SINK_PORT: String(ports.sink),
  };
  let petrel: ChildProcess | null = null;
  try {
    console.log(sh('dovecot-start.sh', env));
    console.log(sh('postfix-start.sh', env));
    console.log(sh('smtp-sink-start.sh', env));
    const p = await startPetrel(mkdtempSync(join(scratch, 'petrel-')));
    petrel = p.child;
    const pidOf = (f: string) => () => {
      try {
        return [Number(readFileSync(join(scratch, f), 'utf8').trim())];
      } catch {
        return [];
      }
    };
    const maildir = join(scratch, 'mail', 'user1', 'Maildir');
    const targets: Target[] = [
      {
        name: 'smtp-sink',
        port: ports.sink,
        to: 'user1@example.test',
        pids: pidOf('smtp-sink/started.pid'),
        stored: async () => {},
      },
      {
        name: 'Postfix+Dovecot',
        port: ports.postfix,
        to: 'user1@example.test',
        pids: () => [...pidOf('postfix/started.pid')(), ...pidOf('dovecot/started.pid')()],
        async stored(n) {
          for (let i = 0; maildirCount(maildir) < n; i++) {
            if (i > 6000) throw new Error(`Dovecot has ${maildirCount(maildir)} of ${n} after 5 minutes`);
            await sleep(50);
          }
        },
      },
      p.target,
    ];
    const results: Record<string, { rate: number; accepted: number; p50: number; p99: number; pssMb: number }> = {};
    for (const t of targets) {
      const mem = sampleMemory(t.pids);
      const t0 = performance.now();
      await smtpSource(t.port, t.to, MESSAGES);
      const accepted = (MESSAGES / (performance.now() - t0)) * 1000;
      await t.stored(MESSAGES);
      const rate = (MESSAGES / (performance.now() - t0)) * 1000;
      const lat = await latencies(t.port, t.to, LATENCY_MESSAGES);
      await t.stored(MESSAGES + LATENCY_MESSAGES);
      const pssMb = mem.stop() / 1024;
      results[t.name] = { rate, accepted, p50: pct(lat, 50), p99: pct(lat, 99), pssMb };
      console.log(
        `${t.name.padEnd(16)} ${rate.toFixed(0).padStart(6)} msg/s end to end (${accepted.toFixed(0)} msg/s accepted), ` +
          `reply to end of data p50 ${pct(lat, 50).toFixed(1)} ms p99 ${pct(lat, 99).toFixed(1)} ms, peak PSS ${pssMb.toFixed(0)} MB`,
      );
    }
    const pr = results.Petrel;
    const pd = results['Postfix+Dovecot'];
    const sk = results['smtp-sink'];
    console.log(
      `\n${MESSAGES} messages of ${SIZE} octets, ${SESSIONS} sessions (smtp-source), latency over ${LATENCY_MESSAGES} messages\n` +
        `Petrel / Postfix+Dovecot: ${(pr.rate / pd.rate).toFixed(2)}x end to end; Petrel / smtp-sink: ${(pr.rate / sk.rate).toFixed(2)}x\n` +
        `Petrel p99 ${pr.p99.toFixed(1)} ms (target < 100 ms); Postfix p99 is its queue acknowledgement, not delivery.\n` +
        `Peak PSS: Petrel ${pr.pssMb.toFixed(0)} MB, Postfix+Dovecot ${pd.pssMb.toFixed(0)} MB, smtp-sink ${sk.pssMb.toFixed(0)} MB`,
    );
  } finally {
    if (petrel && petrel.exitCode === null) {
      petrel.kill('SIGTERM');
      await new Promise((r) => petrel!.once('exit', r));
    }
    for (const s of ['smtp-sink-stop.sh', 'postfix-stop.sh', 'dovecot-stop.sh'])
      try {
        sh(s, env);
      } catch (e) {
        console.error(`${s}: ${e}`);
      }
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
