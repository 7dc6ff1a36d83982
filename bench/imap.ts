// IMAP benchmark, Petrel against Dovecot in the same run on the same machine:
//  (a) a large mailbox: SELECT, UID FETCH 1:* (FLAGS), FETCH 1:* (ENVELOPE), UID SEARCH BODY <word>
//      (warm, median of several runs);
//  (b) concurrent clients running a mixed load (FETCH, STORE, SEARCH, APPEND, EXPUNGE): operations/s;
//  (c) memory per idle connection in IDLE: PSS summed over the server's processes (smaps_rollup).
// Usage: node bench/imap.ts [--messages=100000] [--runs=5] [--clients=50] [--duration=60]
//          [--idle-petrel=10000] [--idle-dovecot=1000] [--word=Linux] [--parts=abc]
// Petrel runs in a child process (bench/imap-petrel.ts) so its memory is measured alone.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startDovecot } from '../test/helpers/peers.ts';
import { loadCorpus } from './corpus.ts';
import { BenchImap } from './imap-client.ts';

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? '1'];
  }),
);
const opt = {
  messages: Number(args.messages ?? 100000),
  runs: Number(args.runs ?? 5),
  clients: Number(args.clients ?? 50),
  duration: Number(args.duration ?? 60),
  idlePetrel: Number(args['idle-petrel'] ?? 10000),
  idleDovecot: Number(args['idle-dovecot'] ?? 1000),
  word: args.word ?? 'Linux',
  parts: args.parts ?? 'abc',
  small: 200,
};
const here = dirname(fileURLToPath(import.meta.url));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x: number) => `${x.toFixed(1)} ms`;

interface Server {
  name: string;
  port: number;
  user: (n: number) => string;
  pids: () => number[];
}

function pss(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
      if (m) kb += Number(m[1]);
    } catch {}
  }
  return kb * 1024;
}

/** Every process descending from root (Dovecot: master, login and imap processes). */
function tree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(p)]);
    } catch {}
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

async function login(s: Server, n: number): Promise<BenchImap> {
  const c = await BenchImap.open(s.port);
  const r = await c.cmd(`LOGIN ${s.user(n)} pass`);
  if (!r.tagged.includes(' OK')) throw new Error(`${s.name} login: ${r.tagged}`);
  return c;
}

async function partA(s: Server): Promise<Record<string, number | string>> {
  const c = await login(s, 1);
  const first = await c.cmd('SELECT INBOX', true);
  const exists = first.lines.find((l) => / EXISTS$/.test(l));
  console.error(`${s.name}: ${exists}`);
  await c.cmd('UID FETCH 1:* (FLAGS)');
  await c.cmd('FETCH 1:* (ENVELOPE)');
  const out: Record<string, number | string> = {};
  const ops: [string, string][] = [
    ['SELECT', 'SELECT INBOX'],
    ['UID FETCH 1:* (FLAGS)', 'UID FETCH 1:* (FLAGS)'],
    ['FETCH 1:* (ENVELOPE)', 'FETCH 1:* (ENVELOPE)'],
    [`UID SEARCH BODY ${opt.word}`, `UID SEARCH BODY ${opt.word}`],
  ];
  for (const [name, command] of ops) {
    const times: number[] = [];
    let failed = '';
    for (let i = 0; i < opt.runs + 1; i++) {
      const t = performance.now();
      const r = await c.cmd(command);
      const dt = performance.now() - t;
      if (!/ OK/.test(r.tagged)) failed = r.tagged;
      if (i > 0) times.push(dt); // the first run warms caches
    }
    out[name] = failed ? `failed: ${failed.slice(0, 60)}` : median(times);
  }
  c.close();
  return out;
}

async function partB(s: Server): Promise<number> {
  const clients = await Promise.all(Array.from({ length: opt.clients }, (_, i) => login(s, i + 2)));
  for (const c of clients) await c.cmd('SELECT INBOX');
  const small = Buffer.from('From: a@bench.test\r\nTo: b@bench.test\r\nSubject: mixed load\r\n\r\nhello there\r\n');
  const append = Buffer.concat([Buffer.from(`APPEND INBOX {${small.length}+}\r\n`), small]);
  let ops = 0;
  const deadline = Date.now() + opt.duration * 1000;
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k; Date.now() < deadline; i++) {
        switch (i % 10) {
          case 0:
          case 1:
          case 2:
            await c.cmd('FETCH 1:10 (UID FLAGS ENVELOPE)');
            break;
          case 3:
          case 4:
            await c.cmd(`STORE ${1 + (i % 7)}:${3 + (i % 7)} ${i % 2 ? '+' : '-'}FLAGS (\\Flagged)`);
            break;
          case 5:
          case 9:
            await c.cmd('UID SEARCH UNSEEN');
            break;
          case 6:
          case 7:
            await c.cmd(append);
            break;
          case 8:
            await c.cmd('STORE 1 +FLAGS.SILENT (\\Deleted)');
            await c.cmd('EXPUNGE');
            ops++;
            break;
        }
        ops++;
      }
    }),
  );
  for (const c of clients) c.close();
  return ops / opt.duration;
}

async function partC(s: Server, n: number): Promise<{ perConnection: number; n: number }> {
  const before = pss(s.pids());
  const conns: BenchImap[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async (_, j) => {
        const c = await login(s, 2 + ((i + j) % opt.clients));
        await c.cmd('SELECT INBOX');
        await c.idle();
        return c;
      }),
    );
    conns.push(...batch);
  }
  await new Promise((r) => setTimeout(r, 3000));
  const after = pss(s.pids());
  for (const c of conns) c.close();
  await new Promise((r) => setTimeout(r, 2000));
  return { perConnection: (after - before) / n, n };
}

function spawnPetrel(argv: string[]): ChildProcess {
  // PETREL_BENCH_CPU_PROF=dir writes a V8 CPU profile of the Petrel process there.
  const prof = process.env.PETREL_BENCH_CPU_PROF;
  const flags = prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [];
  return spawn(process.execPath, [...flags, join(here, 'imap-petrel.ts'), ...argv], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

function readyOf(child: ChildProcess): Promise<{ port: number; pid: number }> {
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (l) => resolve(JSON.parse(l)));
    child.once('exit', (c) => reject(new Error(`petrel exited ${c}`)));
  });
}

function writeMaildir(dir: string, user: number, messages: Buffer[], n: number) {
  const base = join(dir, 'mail', `user${user}`, 'Maildir');
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(base, sub), { recursive: true });
  for (let i = 0; i < n; i++) {
    const m = messages[i % messages.length];
    writeFileSync(join(base, 'cur', `${1700000000 + i}.M${i}P1.bench,S=${m.length}:2,${i % 3 ? 'S' : ''}`), m);
  }
}

async function main() {
  const corpus = loadCorpus();
  const users = opt.clients + 1;
  console.error(
    `loading ${opt.messages} messages into each server (plus ${opt.small} for each of ${opt.clients} users)...`,
  );
  const dv = await startDovecot({ users });
  const petrelDir = mkdtempSync(join(tmpdir(), 'petrel-bench-'));
  let child = spawnPetrel([petrelDir, String(users), String(opt.messages), String(opt.small)]);
  try {
    for (let u = 1; u <= users; u++) writeMaildir(dv.dir, u, corpus, u === 1 ? opt.messages : opt.small);
    execFileSync('chown', ['-R', '65534:65534', join(dv.dir, 'mail')]);
    const ready = await readyOf(child);
    const masterPid = Number(readFileSync(join(dv.dir, 'dovecot', 'run', 'master.pid'), 'utf8'));
    const servers: Server[] = [
      { name: 'petrel', port: ready.port, user: (n) => `user${n}@bench.test`, pids: () => [ready.pid] },
      { name: 'dovecot', port: dv.imapPort, user: (n) => `user${n}`, pids: () => tree(masterPid) },
    ];
    const results: Record<string, Record<string, number | string>> = { petrel: {}, dovecot: {} };
    if (opt.parts.includes('a')) for (const s of servers) Object.assign(results[s.name], await partA(s));
    if (opt.parts.includes('b'))
      for (const s of servers) results[s.name][`mixed load ops/s (${opt.clients} clients)`] = await partB(s);
    if (opt.parts.includes('c')) {
      // A fresh Petrel process on the same data: loading 100,000 messages leaves heap behind that would
      // hide the cost of connections (Dovecot's imap processes start fresh per connection anyway).
      child.stdin?.end();
      await new Promise((r) => child.once('exit', r));
      child = spawnPetrel([petrelDir, 'serve']);
      const again = await readyOf(child);
      servers[0].port = again.port;
      servers[0].pids = () => [again.pid];
      const warm = await login(servers[0], 2);
      await warm.cmd('SELECT INBOX');
      warm.close();
      const p = await partC(servers[0], opt.idlePetrel);
      results.petrel['memory per IDLE connection (bytes)'] = p.perConnection;
      const d = await partC(servers[1], opt.idleDovecot);
      results.dovecot['memory per IDLE connection (bytes)'] = d.perConnection;
    }
    console.log(
      `\nIMAP benchmark: ${opt.messages} messages, ${opt.runs} runs (median), ${opt.clients} clients for ${opt.duration} s, IDLE ${opt.idlePetrel}/${opt.idleDovecot} connections`,
    );
    console.log(`${'measure'.padEnd(44)}${'petrel'.padStart(14)}${'dovecot'.padStart(14)}${'ratio'.padStart(10)}`);
    for (const k of Object.keys(results.petrel)) {
      const a = results.petrel[k];
      const b = results.dovecot[k];
      const fmt = (v: number | string | undefined) =>
        typeof v === 'number' ? (k.includes('ops/s') || k.includes('bytes') ? v.toFixed(0) : ms(v)) : String(v ?? '-');
      // ratio: how many times better Petrel is (time and memory: lower is better; ops/s: higher is better).
      const ratio =
        typeof a === 'number' && typeof b === 'number' && a > 0
          ? (k.includes('ops/s') ? a / b : b / a).toFixed(2) + 'x'
          : '-';
      console.log(`${k.padEnd(44)}${fmt(a).padStart(14)}${fmt(b).padStart(14)}${ratio.padStart(10)}`);
    }
  } finally {
    child.stdin?.end();
    await new Promise((r) => setTimeout(r, 500));
    child.kill();
    await dv.stop();
    rmSync(petrelDir, { recursive: true, force: true });
  }
}

if (!existsSync('/proc/self/smaps_rollup')) console.error('no /proc smaps_rollup: memory figures will be 0');
await main();
