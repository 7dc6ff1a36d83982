// The `petrel` command: one table of subcommands.
import { ConfigError, suggest, unknownEnv } from '../config/load.ts';
import { markdownReference } from '../config/reference.ts';
import { PetrelError } from '../core/errors.ts';
import { configProblems } from '../server/config-check.ts';
import { accountCommand, aliasCommand, domainCommand, tenantCommand } from './admin.ts';
import { appPasswordCommand } from './app-password.ts';
import { type Cli, makeCli, UsageError } from './context.ts';
import { dkimCommand } from './dkim.ts';
import { initCommand } from './init.ts';
import { mailCommand } from './mail.ts';
import { queueCommand } from './queue.ts';
import { reportsCommand } from './reports.ts';
import { serveCommand } from './serve.ts';
import { spamCommand } from './spam.ts';
import { BOOLEAN_FLAGS, checkUsage, commandHelp, commandList } from './usage.ts';

/** The general help: every subcommand's usage line comes from the table in usage.ts. */
const HELP = `petrel - an all-in-one mail server

Usage: petrel [--config FILE] COMMAND ...    (petrel COMMAND [SUBCOMMAND] --help: that command's usage)

${commandList()}

The config file is --config, else $PETREL_CONFIG, else ./petrel.toml if present, else built-in defaults
(data in ./data). PETREL_<SECTION>_<KEY> environment variables override any key. Sizes (--quota, config) are
binary: K, M, G and T (with or without B or iB) are powers of 1024; a --quota of "none" is unlimited.`;

const COMMANDS: Record<string, (cli: Cli) => Promise<unknown>> = {
  serve: serveCommand,
  init: initCommand,
  domain: domainCommand,
  account: accountCommand,
  alias: aliasCommand,
  'app-password': appPasswordCommand,
  tenant: tenantCommand,
  queue: queueCommand,
  mail: mailCommand,
  reports: reportsCommand,
  dkim: dkimCommand,
  spam: spamCommand,
  async config(cli): Promise<number | undefined> {
    const sub = cli.args[1] ?? 'check';
    if (sub === 'reference') cli.out(markdownReference());
    else if (sub === 'check') {
      const problems = [...configProblems(cli.config()), ...unknownEnv(process.env)];
      for (const p of problems) cli.err(p);
      if (problems.length) return 1;
      cli.out('configuration is valid');
    } else throw new UsageError(`unknown config subcommand: ${sub}`);
  },
};

export async function main(argv: string[]): Promise<number> {
  const cli = makeCli(argv, BOOLEAN_FLAGS);
  // `petrel help CMD [SUB]` is `petrel CMD [SUB] --help`.
  const helping = cli.flags.has('help') || cli.args[0] === 'help';
  const args = cli.args[0] === 'help' ? cli.args.slice(1) : cli.args;
  const name = args[0];
  if (!name) {
    (helping ? cli.out : cli.err)(HELP);
    return helping ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    cli.err(`petrel: unknown command "${name}"${suggest(name, Object.keys(COMMANDS))}\n\n${HELP}`);
    return 2;
  }
  try {
    if (helping) {
      cli.out(commandHelp(args));
      return 0;
    }
    checkUsage(cli.args, cli.flags);
    // A command may return its exit status (e.g. `domain check`: 1 when records need fixing).
    const code = await cmd(cli);
    return typeof code === 'number' ? code : 0;
  } catch (e) {
    if (e instanceof UsageError) {
      cli.err(`petrel ${name}: ${e.message}`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof PetrelError) {
      cli.err(`petrel ${name}: ${e.message}`);
      return 1;
    }
    cli.err(`petrel ${name}: unexpected error: ${(e as Error).stack ?? e}`);
    return 1;
  }
}
