// Runs `bin/petrel.js serve` as a child process in a directory, with every port chosen by the OS, and
// reads back what it stored (opening the same data directory in this process once it has stopped).
import { type ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { applyEnv, defaults } from '../../src/config/load.ts';
import { type App, openApp } from '../../src/server/app.ts';
import { silentLogger } from '../../src/telemetry/log.ts';
import { type DnsServer, startDnsServer } from '../helpers/dns-server.ts';

const BIN = resolve('bin/petrel.js');

export interface PetrelProcess {
  child: ChildProcess;
  ports: Record<string, number>;
  stderr: () => string;
  stdout: () => string;
}

// One DNS server of the test file's own, knowing no names, for every server it starts: the spam filter's
// lookups get NXDOMAIN at once and never leave 127.0.0.0/8 for the system resolver.
let dns: Promise<DnsServer> | null = null;
function localDns(): Promise<DnsServer> {
  dns ??= startDnsServer().then((d) => {
    d.unref();
    return d;
  });
  return dns;
}

/** Starts `petrel serve [args]` in cwd; resolves with the ports from its "petrel started" log line. */
export async function startPetrel(
  cwd: string,
  env: Record<string, string> = {},
  args: string[] = [],
): Promise<PetrelProcess> {
  const e: Record<string, string> = { ...(process.env as Record<string, string>), ...env };
  e.PETREL_DNS_NAMESERVERS ??= (await localDns()).address;
  // Every port the OS's choice, unless the test names one (a port an ACME CA validates on).
  for (const l of ['SMTP', 'SUBMISSION', 'SUBMISSIONS', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'HTTP', 'LMTP'])
    e[`PETREL_LISTENERS_${l}_PORT`] = env[`PETREL_LISTENERS_${l}_PORT`] ?? '0';
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd, env: e });
  let out = '';
  let err = '';
  child.stderr!.on('data', (b) => (err += b));
  return new Promise((resolvePorts, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`not started within 30 s:\n${out}\n${err}`));
    }, 30000);
    child.stdout!.on('data', (b) => {
      out += b;
      for (const line of out.split('\n')) {
        if (!line.includes('"petrel started"')) continue;
        clearTimeout(timer);
        resolvePorts({ child, ports: JSON.parse(line).ports, stderr: () => err, stdout: () => out });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}:\n${out}\n${err}`));
    });
  });
}

export function stopPetrel(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => {
    child.once('exit', (code) => r(code));
    child.kill(signal);
  });
}

/**
 * Opens the stopped server's data (cwd/data) to read what it stored; `env` as given to startPetrel (a
 * PostgreSQL store named by PETREL_STORE_* is opened too).
 */
export function openStoppedPetrel(cwd: string, env: Record<string, string> = {}): Promise<App> {
  const c = applyEnv(defaults(), env);
  c.server.data_dir = join(cwd, 'data');
  return openApp(c, silentLogger);
}

/** Every message in an account's INBOX, raw. */
export async function inboxOf(app: App, address: string): Promise<Buffer[]> {
  const acc = await app.store.getAccount(address);
  if (!acc) throw new Error(`no account ${address}`);
  const mb = await app.store.getMailbox(acc.id, 'INBOX');
  const out: Buffer[] = [];
  for (const m of await app.store.listMessages(mb!.id)) out.push(await (await app.mail.source(m)).read());
  return out;
}

/**
 * The environment of a Petrel process delivering to a test's own DNS server (`dns`) and MTA (`port`): retries
 * each second, the queue looked at five times a second, loopback clients may relay, no MTA-STS or DANE
 * lookups; `spam: false` turns the filter off, `pgUrl` runs it on PostgreSQL.
 */
export function outboundEnv(o: { dns: string; port: number; spam?: false; pgUrl?: string }): Record<string, string> {
  return {
    PETREL_DNS_NAMESERVERS: o.dns,
    PETREL_QUEUE_REMOTE_PORT: String(o.port),
    PETREL_QUEUE_RETRY_SCHEDULE: '1s',
    PETREL_QUEUE_POLL_INTERVAL: '200ms',
    PETREL_SMTP_TRUSTED_NETWORKS: '127.0.0.0/8',
    PETREL_QUEUE_MTA_STS: 'false',
    PETREL_QUEUE_DANE: 'false',
    ...(o.spam === false ? { PETREL_SPAM_ENABLED: 'false' } : {}),
    ...(o.pgUrl ? { PETREL_STORE_BACKEND: 'postgres', PETREL_STORE_POSTGRES_URL: o.pgUrl } : {}),
  };
}
