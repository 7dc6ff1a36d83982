// What every CLI command gets: parsed options, config, output streams, and a way to open the app.
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { type App, openApp } from '../server/app.ts';
import { bootstrap } from '../server/bootstrap.ts';
import { createLogger, type Logger } from '../telemetry/log.ts';
import { giveFirstPassword } from './first-password.ts';

export class UsageError extends Error {}

export interface Cli {
  args: string[];
  flags: Map<string, string | true>;
  out: (line: string) => void;
  err: (line: string) => void;
  configPath?: string;
  config(): Config;
  /**
   * Opens store and services (no listeners); the caller closes it. With `bootstrap`, a store without any
   * domain gets the first domain and administrator, whose password is given once (server/bootstrap.ts,
   * cli/first-password.ts).
   */
  open(log?: Logger, opts?: { bootstrap?: boolean }): Promise<App>;
}

/** Splits argv into positional args and --flags (`--flag value`, `--flag=value`, or boolean `--flag`). */
export function parseArgv(
  argv: string[],
  booleans: Set<string>,
): { args: string[]; flags: Map<string, string | true> } {
  const args: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = a.slice(2, eq > 0 ? eq : undefined);
      if (eq > 0) flags.set(name, a.slice(eq + 1));
      else if (booleans.has(name) || i + 1 >= argv.length || argv[i + 1].startsWith('--')) flags.set(name, true);
      else flags.set(name, argv[++i]);
    } else args.push(a);
  }
  return { args, flags };
}

export function makeCli(argv: string[], booleans: Set<string>): Cli {
  const { args, flags } = parseArgv(argv, booleans);
  const configPath = typeof flags.get('config') === 'string' ? (flags.get('config') as string) : undefined;
  let config: Config | null = null;
  return {
    args,
    flags,
    out: (l) => process.stdout.write(l + '\n'),
    err: (l) => process.stderr.write(l + '\n'),
    configPath,
    config() {
      config ??= loadConfig({ path: configPath }).config;
      return config;
    },
    async open(log, opts) {
      const app = await openApp(this.config(), log ?? createLogger({ level: 'warn', destination: process.stderr }));
      // Only where asked: `serve` (the quick start's `npm start`), and `account add` / `alias add`, which on a
      // fresh ./data need the first domain. Any other command bootstrapping would make the administrator as
      // a side effect and show its one-time password there: `domain check`, step 2 of "Going to production"
      // and run before the first start (from cron too), did, and `serve` then had nothing to show.
      if (!opts?.bootstrap) return app;
      const created = await bootstrap(app).catch(async (e) => {
        await app.close();
        throw e;
      });
      if (created) giveFirstPassword(created, app.config.bootstrap.domain, app.dataDir, explicitConfig(configPath));
      return app;
    },
  };
}

/**
 * The config file named by --config or PETREL_CONFIG, absolute: the commands the first start suggests must
 * name it, or run from the administrator's shell they would open ./data there (a store of their own).
 */
function explicitConfig(configPath: string | undefined): string | undefined {
  const file = configPath ?? process.env.PETREL_CONFIG;
  if (!file) return undefined;
  const path = resolve(file);
  // Quoted for a shell when it holds anything but the usual path characters (a space, say).
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`;
}

export function flag(cli: Cli, name: string): string | undefined {
  const v = cli.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function requireArg(cli: Cli, index: number, what: string): string {
  const v = cli.args[index];
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

export { ConfigError };
