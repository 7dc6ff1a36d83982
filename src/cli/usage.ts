// What each `petrel` subcommand accepts: its options and how many arguments follow it. Checked before a
// command runs, so a mistyped option or a stray word is refused before anything is opened or changed
// (`--pasword x` once made the account with a generated password; `--quota 10 MB` a 10-octet quota).
import { suggest } from '../config/load.ts';
import { UsageError } from './context.ts';

/** Options taking no value; every other option needs one. */
export const BOOLEAN_FLAGS = new Set(['admin', 'force', 'group', 'help', 'all', 'refused']);

/** Options every command takes. */
const GLOBAL = ['config', 'help'];

const MANY = Number.POSITIVE_INFINITY;

/**
 * "command [subcommand]" -> [what follows those words, as the help shows it; the most arguments it takes;
 * what it does]. The options a subcommand accepts are the --names in its synopsis: the help and the check
 * read the same text, so they cannot disagree.
 */
export const ACCEPTS: Record<string, [synopsis: string, operands: number, description: string]> = {
  serve: ['', 0, 'run the server (what `npm start` does)'],
  init: [
    '--domain D --hostname H [--dir DIR] [--force]',
    0,
    'write a production petrel.toml and the DNS records to publish',
  ],
  'domain add': ['DOMAIN [--tenant T]', 1, 'host a domain (its DKIM key made now); prints the DNS records to publish'],
  'domain list': ['', 0, 'the hosted domains and their tenants'],
  'domain records': ['DOMAIN', 1, 'the DNS records to publish, again (after a key or certificate change)'],
  'domain check': ['DOMAIN', 1, 'each record looked up, our addresses in blocklists; exit 1 if any to fix'],
  'domain remove': ['DOMAIN', 1, 'stop hosting a domain (one without accounts)'],
  'account add': [
    'ADDRESS [--password P|-] [--admin] [--name N] [--quota SIZE]',
    1,
    'add an account; password "-": one line of stdin; none: asked on a terminal, else made and shown once',
  ],
  'account list': ['[--domain D]', 0, 'accounts with their role, usage and quota'],
  'account passwd': [
    'ADDRESS [--password P|-]',
    1,
    'change a password; "-": one line of stdin; none: asked twice on a terminal',
  ],
  'account remove': ['ADDRESS', 1, 'remove an account (its open IMAP and POP3 sessions end)'],
  'account disable': ['ADDRESS', 1, 'keep the mail, refuse sign-ins and new mail (its open sessions end)'],
  'account enable': ['ADDRESS', 1, 'undo account disable'],
  'account send-as': [
    'ADDRESS [own|domain|any]',
    2,
    'the addresses it may send as: its own and its aliases (own), its whole domain, or any; shown or set',
  ],
  'account quota': [
    'ADDRESS [SIZE|none]',
    2,
    'its quota and usage, shown; or set (SIZE as for --quota), applied to the next message delivered',
  ],
  'account 2fa': ['enable|disable|status ADDRESS', 2, 'TOTP second factor (enable prints secret, QR, recovery codes)'],
  'app-password add': [
    'ADDRESS --name N [--protocols imap,smtp,pop3]',
    1,
    'a per-device password, shown once (the only passwords with 2FA on)',
  ],
  'app-password list': ['ADDRESS', 1, "an account's app passwords and when each was last used"],
  'app-password revoke': ['ADDRESS ID', 2, 'revoke an app password (it fails at its next sign-in)'],
  'alias add': ['ADDRESS TARGET... [--group]', MANY, 'ADDRESS @domain makes a catch-all'],
  'alias list': ['', 0, 'every alias and its targets'],
  'alias remove': ['ADDRESS', 1, 'remove an alias'],
  'tenant add': ['NAME [--quota SIZE]', 1, 'a tenant: domains that share one quota'],
  'tenant list': ['', 0, 'tenants and their quotas'],
  'queue list': ['', 0, 'the outbound queue'],
  'queue show': ['ID', 1, 'one queued message: recipients, attempts, last replies'],
  'queue retry': ['ID|--all', 1, 'try again now'],
  'queue hold': ['ID|--all', 1, 'keep mail from being sent until released (postsuper -h)'],
  'queue release': ['ID|--all', 1, 'release held mail; it is due now (postsuper -H)'],
  'queue bounce': ['ID', 1, 'return a message to its sender now: a DSN for the recipients not yet done (postsuper -e)'],
  'queue delete': ['ID', 1, 'drop a queued message (sends no DSN)'],
  'mail reindex': [
    'ADDRESS...|--all [--batch N]',
    MANY,
    'rebuild the search index of mail an older version stored (beside a running server; resumable)',
  ],
  'reports list': [
    '[--kind dmarc|tls|failure|abuse] [--domain D] [--limit N]',
    0,
    'DMARC, TLS and failure reports and complaints about us',
  ],
  'reports show': ['ID', 1, 'one report in full'],
  'dkim generate': [
    'DOMAIN [--algorithm rsa|ed25519] [--selector S] [--force]',
    1,
    'a DKIM signing key, and the record to publish',
  ],
  'dkim show': ['DOMAIN', 1, "a domain's DKIM keys and the records to publish"],
  'dkim remove': ['DOMAIN SELECTOR', 2, 'remove a DKIM key'],
  'spam train': [
    '[--spam DIR] [--ham DIR] [--account ADDRESS]',
    0,
    'teach the Bayes classifier (Maildir, mbox, or .eml/.txt folder)',
  ],
  'spam check': ['FILE... [--account ADDRESS]', MANY, 'score messages (no network): one JSON line per file'],
  'spam allow': [
    'add|remove ENTRY... [--file F] [--account A | --domain D] [--note TEXT]',
    MANY,
    'the allow list: address, domain (and subdomains), IP or network',
  ],
  'spam block': [
    'add|remove ENTRY... [--file F] [--account A | --domain D] [--note TEXT]',
    MANY,
    'the block list: address, domain (and subdomains), IP or network',
  ],
  'spam lists': ['[--account A | --domain D]', 0, 'the allow and block lists'],
  'spam verdicts': [
    '[--account ADDRESS [--refused]] [--from SENDER] [--ip IP] [--limit N]',
    0,
    "stored verdicts: an account's mail, else refused/deferred/trapped; --from/--ip: one sender's",
  ],
  'spam reputation': [
    'show|forget SENDER...',
    MANY,
    "a sender's reputation (IP, /24 or /64 network, domain, address), or forget it",
  ],
  'spam digests': [
    'show|forget FILE...',
    MANY,
    "a message's reports in the own digest store (body, attachments, fuzzy), or forget them",
  ],
  'spam stats': ['[--hours N]', 0, 'what the filter did lately: actions, traps, outbound, top symbols'],
  'spam outbound-release': ['ADDRESS|IP', 1, 'lift an outbound suspension (mail refused as spam again and again)'],
  'spam settings': [
    'ADDRESS [--junk-score N|default] [--junk-report daily|never|default]',
    1,
    "a user's own spam settings (/account/spam), shown or set for them",
  ],
  config: ['', 0, 'the same as config check'],
  'config check': ['', 0, 'validate the config (keys, values, environment variables)'],
  'config reference': ['', 0, 'print the config reference (Markdown)'],
};

/** The options a subcommand takes: the --names its synopsis shows. */
const optionsOf = (synopsis: string) => [...synopsis.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]);

/** The table's key for these arguments ("account add", "serve"), if it has one. */
const keyOf = (args: string[]) => [`${args[0]} ${args[1]}`, args[0]].find((k) => k in ACCEPTS);

/** Usage lines, the description beside a short synopsis (from column 41) or under a long one. */
function render(keys: string[], prefix: string, column: number): string {
  return keys
    .map((k) => {
      const [synopsis, , description] = ACCEPTS[k];
      const usage = `  ${prefix}${k}${synopsis ? ` ${synopsis}` : ''}`;
      return usage.length < column - 1
        ? usage.padEnd(column) + description
        : `${usage}\n${' '.repeat(column)}${description}`;
    })
    .join('\n');
}

/** Every subcommand, for `petrel --help`. */
export function commandList(): string {
  return render(Object.keys(ACCEPTS), '', 41);
}

/**
 * `petrel CMD [SUB] --help`: the usage of that subcommand, or of every subcommand of CMD. An unknown
 * subcommand is a UsageError naming the nearest one (an unknown command is the caller's to report).
 */
export function commandHelp(args: string[]): string {
  const [cmd, sub] = args;
  const subs = Object.keys(ACCEPTS).filter((k) => k.startsWith(`${cmd} `));
  let keys = [cmd, ...subs].filter((k) => k in ACCEPTS);
  if (sub !== undefined && subs.length) {
    if (!subs.includes(`${cmd} ${sub}`))
      throw new UsageError(
        `unknown ${cmd} subcommand "${sub}"${suggest(
          sub,
          subs.map((k) => k.slice(cmd.length + 1)),
        )}`,
      );
    keys = [`${cmd} ${sub}`];
  }
  return `Usage:\n${render(keys, 'petrel ', 6)}\n\nOptions of every command: --config FILE, --help`;
}

/**
 * Throws a UsageError for an option the subcommand does not take, an option without its value, or more
 * arguments than it takes. An unknown subcommand is left to the command, which names the ones it has.
 */
export function checkUsage(args: string[], flags: Map<string, string | true>): void {
  const key = keyOf(args);
  if (key === undefined) return;
  const [synopsis, operands] = ACCEPTS[key];
  const allowed = [...optionsOf(synopsis), ...GLOBAL];
  for (const [name, value] of flags) {
    if (!allowed.includes(name))
      throw new UsageError(
        `unknown option --${name}${suggest(
          `--${name}`,
          allowed.map((o) => `--${o}`),
        )}`,
      );
    if (value === true && !BOOLEAN_FLAGS.has(name)) throw new UsageError(`--${name} needs a value`);
  }
  const extra = args.slice(key.split(' ').length + operands);
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}" (see petrel ${key} --help)`);
}
