// rspamd (Debian's 3.4) as the spam benchmark's second peer: a private instance on free loopback ports,
// Debian's stock rules from /etc/rspamd, our overrides in a scratch directory (LOCAL_CONFDIR), Bayes in
// Redis database 9 of the machine's Redis (flushed first), and every module that asks the network turned
// off, as for SpamAssassin's "local tests only" (no internet here; a DNS server that never answers would
// only add timeouts). Messages are learned through the controller (/learnspam, /learnham) and scored by
// the normal workers (/checkv2), as rspamc and the milter proxy do.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitPort } from '../../test/helpers/peers.ts';

const run = promisify(execFile);

/** Modules that query DNS, HTTP or Redis history: off, as no network answers here. */
const NETWORK_MODULES = [
  'rbl',
  'asn',
  'dkim',
  'spf',
  'dmarc',
  'arc',
  'mx_check',
  'fuzzy_check',
  'emails',
  'url_redirector',
  'neural',
  'reputation',
  'greylist',
  'ratelimit',
  'history_redis',
  'replies',
  'dcc',
  'antivirus',
  'external_services',
  'bimi',
  'clickhouse',
  'elastic',
  'metadata_exporter',
  'p0f',
  'rspamd_update',
  'spamtrap',
  'hfilter', // resolves HELO and host names
];

export interface Rspamd {
  /** The verdict for one message: its score and whether rspamd would mark or refuse it. */
  check(raw: Buffer): Promise<{ score: number; spam: boolean }>;
  /** Learns one message; the HTTP status (2xx; 204/208: not learned, e.g. a duplicate or already in class). */
  learn(raw: Buffer, cls: 'spam' | 'ham'): Promise<number>;
  workers: number;
  stop(): void;
}

export async function startRspamd(work: string, workers: number, redisDb = 9): Promise<Rspamd> {
  const conf = join(work, 'rspamd');
  for (const d of ['local.d', 'override.d', 'run', 'db', 'log']) mkdirSync(join(conf, d), { recursive: true });
  const [normal, controller, proxy] = [await freePort(), await freePort(), await freePort()];
  const files: Record<string, string> = {
    'override.d/worker-normal.inc': `bind_socket = "127.0.0.1:${normal}";\ncount = ${workers};\n`,
    'override.d/worker-controller.inc': `bind_socket = "127.0.0.1:${controller}";\nsecure_ip = "127.0.0.1";\ncount = 1;\n`,
    'override.d/worker-proxy.inc': `bind_socket = "127.0.0.1:${proxy}";\ncount = 1;\n`,
    'override.d/logging.inc': `type = "file";\nfilename = "${join(conf, 'log', 'rspamd.log')}";\nlevel = "error";\n`,
    'local.d/redis.conf': `servers = "127.0.0.1:6379";\ndb = "${redisDb}";\n`,
    // Anything still asking DNS gets no answer at once instead of waiting on a resolver.
    'local.d/options.inc': 'dns {\n  nameserver = ["127.0.0.1:1"];\n  timeout = 0.1s;\n  retransmits = 0;\n}\n',
  };
  for (const m of NETWORK_MODULES) files[`override.d/${m}.conf`] = 'enabled = false;\n';
  for (const [f, text] of Object.entries(files)) writeFileSync(join(conf, f), text);
  await run('redis-cli', ['-n', String(redisDb), 'flushdb']);
  const vars = [
    'LOCAL_CONFDIR',
    conf,
    'RUNDIR',
    join(conf, 'run'),
    'DBDIR',
    join(conf, 'db'),
    'LOGDIR',
    join(conf, 'log'),
  ];
  const args = ['-f', '-i', '-c', '/etc/rspamd/rspamd.conf'];
  for (let i = 0; i < vars.length; i += 2) args.push('--var', `${vars[i]}=${vars[i + 1]}`);
  const child: ChildProcess = spawn('rspamd', args, { stdio: 'ignore' });
  // Starting compiles the stock regular expressions (hyperscan): tens of seconds on a small machine.
  await waitPort(normal, '127.0.0.1', 180_000);
  await waitPort(controller, '127.0.0.1', 60_000);
  const post = async (url: string, raw: Buffer) => {
    const r = await fetch(url, { method: 'POST', body: new Uint8Array(raw) });
    const text = await r.text();
    return { status: r.status, text };
  };
  return {
    workers,
    async check(raw) {
      const r = await post(`http://127.0.0.1:${normal}/checkv2`, raw);
      const v = JSON.parse(r.text) as { score?: number; action?: string };
      if (r.status !== 200 || typeof v.score !== 'number') throw new Error(`rspamd answered ${r.status}: ${r.text}`);
      // Marked (add header, rewrite subject) or refused: what the other filters call spam. Greylisting is not.
      return {
        score: v.score,
        spam: v.action === 'add header' || v.action === 'rewrite subject' || v.action === 'reject',
      };
    },
    async learn(raw, cls) {
      const r = await post(`http://127.0.0.1:${controller}/learn${cls}`, raw);
      if (r.status < 200 || r.status > 299) throw new Error(`rspamd learn ${cls} answered ${r.status}: ${r.text}`);
      return r.status;
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
