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

/** "command [subcommand]" -> [its options, the most arguments after those words]. */
const ACCEPTS: Record<string, [options: string[], operands: number]> = {
  serve: [[], 0],
  init: [['domain', 'hostname', 'dir', 'force'], 0],
  'domain add': [['tenant'], 1],
  'domain list': [[], 0],
  'domain records': [[], 1],
  'domain check': [[], 1],
  'domain remove': [[], 1],
  'account add': [['password', 'admin', 'name', 'quota'], 1],
  'account list': [['domain'], 0],
  'account passwd': [['password'], 1],
  'account remove': [[], 1],
  'account 2fa': [[], 2],
  'app-password add': [['name', 'protocols'], 1],
  'app-password list': [[], 1],
  'app-password revoke': [[], 2],
  'alias add': [['group'], MANY],
  'alias list': [[], 0],
  'alias remove': [[], 1],
  'tenant add': [['quota'], 1],
  'tenant list': [[], 0],
  'queue list': [[], 0],
  'queue show': [[], 1],
  'queue retry': [['all'], 1],
  'queue delete': [[], 1],
  'mail reindex': [['all', 'batch'], MANY],
  'reports list': [['kind', 'domain', 'limit'], 0],
  'reports show': [[], 1],
  'dkim generate': [['algorithm', 'selector', 'force'], 1],
  'dkim show': [[], 1],
  'dkim remove': [[], 2],
  'spam train': [['spam', 'ham', 'account'], 0],
  'spam check': [['account'], MANY],
  'spam allow': [['file', 'account', 'domain', 'note'], MANY],
  'spam block': [['file', 'account', 'domain', 'note'], MANY],
  'spam lists': [['account', 'domain'], 0],
  'spam verdicts': [['account', 'refused', 'from', 'ip', 'limit'], 0],
  'spam reputation': [[], MANY],
  'spam digests': [[], MANY],
  'spam stats': [['hours'], 0],
  'spam outbound-release': [[], 1],
  'spam settings': [['junk-score', 'junk-report'], 1],
  config: [[], 0],
  'config check': [[], 0],
  'config reference': [[], 0],
};

/**
 * Throws a UsageError for an option the subcommand does not take, an option without its value, or more
 * arguments than it takes. An unknown subcommand is left to the command, which names the ones it has.
 */
export function checkUsage(args: string[], flags: Map<string, string | true>): void {
  const key = [`${args[0]} ${args[1]}`, args[0]].find((k) => k in ACCEPTS);
  if (key === undefined) return;
  const [options, operands] = ACCEPTS[key];
  const allowed = [...options, ...GLOBAL];
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
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}" (see petrel --help)`);
}
