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
import { BOOLEAN_FLAGS, checkUsage } from './usage.ts';

const HELP = `petrel - an all-in-one mail server

Usage: petrel [--config FILE] COMMAND ...

  serve                                  run the server (what \`npm start\` does)
  init --domain D --hostname H [--dir DIR] [--force]
                                         write a production petrel.toml and the DNS records to publish
  domain add DOMAIN [--tenant T] | list | records DOMAIN | check DOMAIN | remove DOMAIN
  account add ADDRESS [--password P] [--admin] [--name N] [--quota SIZE]
  account list [--domain D] | passwd ADDRESS --password P | remove ADDRESS
  account 2fa enable|disable|status ADDRESS
                                         TOTP second factor (enable prints secret, QR, recovery codes)
  app-password add ADDRESS --name N [--protocols imap,smtp,pop3] | list ADDRESS | revoke ADDRESS ID
                                         per-device passwords (the only passwords with 2FA on)
  alias add ADDRESS TARGET... [--group] | list | remove ADDRESS
                                         ADDRESS @domain makes a catch-all
  tenant add NAME [--quota SIZE] | list
  queue list | show ID | retry ID|--all | delete ID
                                         the outbound queue (delete sends no DSN)
  mail reindex ADDRESS...|--all [--batch N]
                                         rebuild the search index of mail stored by an older version
                                         (beside a running server; resumable; a copy counts once)
  reports list [--kind dmarc|tls|failure|abuse] [--domain D] [--limit N] | show ID
                                         DMARC, TLS and failure reports and complaints about us
  dkim generate DOMAIN [--algorithm rsa|ed25519] [--selector S] [--force] | show DOMAIN
  dkim remove DOMAIN SELECTOR            DKIM signing keys and the records to publish
  spam train [--spam DIR] [--ham DIR] [--account ADDRESS]
                                         teach the Bayes classifier (Maildir, mbox, or .eml/.txt folder)
  spam check FILE... [--account ADDRESS] score messages (no network): one JSON line per file
  spam allow|block add|remove ENTRY... [--file F] [--account A | --domain D] [--note TEXT]
  spam lists [--account A | --domain D]  allow and block lists: address, domain (and subdomains), IP or network
  spam verdicts [--account ADDRESS [--refused]] [--from SENDER] [--ip IP] [--limit N]
                                         stored verdicts: an account's delivered mail, else refused/deferred/trapped;
                                         --from (address or domain) / --ip: that sender's, delivered or not
  spam reputation show|forget SENDER...  a sender's reputation (IP, /24 or /64 network, domain, address), or forget it
  spam digests show|forget FILE...       a message's reports in the own digest store (body, attachments, fuzzy), or forget them
  spam stats [--hours N]                 what the filter did lately: actions, traps, outbound, top symbols
  spam outbound-release ADDRESS|IP       lift an outbound suspension (mail refused as spam again and again)
  spam settings ADDRESS [--junk-score N|default] [--junk-report daily|never|default]
                                         a user's own spam settings (/account/spam), shown or set for them
  config check | reference              validate the config | print the config reference (Markdown)

The config file is --config, else $PETREL_CONFIG, else ./petrel.toml if present, else built-in defaults
(data in ./data). PETREL_<SECTION>_<KEY> environment variables override any key.`;

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
  const name = cli.args[0];
  if (!name || name === 'help' || cli.flags.has('help')) {
    (name ? cli.out : cli.err)(HELP);
    return name || cli.flags.has('help') ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    cli.err(`petrel: unknown command "${name}"${suggest(name, Object.keys(COMMANDS))}\n\n${HELP}`);
    return 2;
  }
  try {
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
