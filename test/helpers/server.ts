// Starts a whole Petrel (in this process) on 127.0.0.1 with every port chosen by the OS, on a fresh
// SQLite or PostgreSQL store, for end-to-end tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { defaults } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { type App, openApp } from '../../src/server/app.ts';
import { type RunningServer, serve } from '../../src/server/serve.ts';
import { createLogger, silentLogger } from '../../src/telemetry/log.ts';
import { startDnsServer } from './dns-server.ts';
import { freshPgSchema } from './pg.ts';

export interface TestServer {
  app: App;
  server: RunningServer;
  ports: Record<string, number>;
  dataDir: string;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  backend?: 'sqlite' | 'postgres';
  pgUrl?: string;
  /** Adjust the config (ports are already 0). */
  configure?: (c: Config) => void;
  /** Log to stderr at this level (default: silent). */
  logLevel?: string;
  /** Log here instead (at logLevel, default info): for tests that read what the server logs. */
  logTo?: Writable;
  /** Runs after the app is open and before listeners and the queue runner start (e.g. queue mail first). */
  beforeServe?: (app: App) => Promise<void>;
}

/**
 * For tests that fail sign-ins on purpose from 127.0.0.1: the brute-force defence (tested on its own in
 * test/auth/brute-force.test.ts) must not lock their client out or slow them down.
 */
export function lenientSignIn(c: Config): void {
  c.security.max_failures_per_ip = 1000;
  c.security.max_failures_per_account = 1000;
  c.security.failure_delay_ms = 5;
  c.security.max_failure_delay_ms = 5; // the delay doubles per failure: without a cap, 5 s by the 11th
}

export function testConfig(dataDir: string): Config {
  const c = defaults();
  c.server.data_dir = dataDir;
  c.server.hostname = 'mx.test.petrel';
  c.server.shutdown_grace_ms = 2000;
  for (const l of Object.values(c.listeners)) l.port = 0;
  return c;
}

export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'petrel-e2e-'));
  const config = testConfig(dataDir);
  let dropSchema: (() => Promise<void>) | null = null;
  if (opts.backend === 'postgres') {
    const schema = await freshPgSchema(opts.pgUrl!);
    config.store.backend = 'postgres';
    config.store.postgres_url = schema.url;
    dropSchema = schema.drop;
  }
  opts.configure?.(config);
  // The internet stays out of tests: a test that set no DNS server gets one of its own that knows no
  // names (every lookup NXDOMAIN at once), never the system resolver.
  // Unref'd: a test that stops only the listeners (server.stop()) must not be kept alive by it.
  const dns = config.dns.nameservers.length === 0 ? await startDnsServer() : null;
  dns?.unref();
  if (dns) config.dns.nameservers = [dns.address];
  const log = opts.logTo
    ? createLogger({ level: opts.logLevel ?? 'info', destination: opts.logTo })
    : opts.logLevel
      ? createLogger({ level: opts.logLevel, destination: process.stderr })
      : silentLogger;
  const app = await openApp(config, log);
  await opts.beforeServe?.(app);
  const server = await serve(app);
  return {
    app,
    server,
    ports: server.ports,
    dataDir,
    async stop() {
      await server.stop();
      await dns?.stop();
      await dropSchema?.();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
