// `petrel spam train --spam DIR --ham DIR [--account ADDRESS]` (bulk Bayes training) and
// `petrel spam check FILE... [--account ADDRESS]` (the content pipeline on files, one JSON line each),
// `petrel spam allow|block add|remove ENTRY... [--account ADDRESS | --domain DOMAIN] [--note TEXT]` and
// `petrel spam lists [--account ADDRESS | --domain DOMAIN]` (the allow and block lists,
// spam/checks/sender-lists.ts), `petrel spam verdicts` (the stored verdicts), `petrel spam reputation`
// (spam-reputation.ts) and `petrel spam stats` (spam-stats.ts).

import { readFileSync, statSync } from 'node:fs';
import { isIP } from 'node:net';
import { GLOBAL_SCOPE } from '../core/bayes-port.ts';
import { normaliseDomain } from '../directory/address.ts';
import { parseMessage } from '../mime/parse.ts';
import { canonicalAddress } from '../net/connection.ts';
import type { App } from '../server/app.ts';
import { bayesFromConfig } from '../spam/bayes/index.ts';
import { buildChecks } from '../spam/checks/index.ts';
import { thresholdsLookup, withOwnJunkScore } from '../spam/inbound.ts';
import { parseEntry } from '../spam/lists/entry.ts';
import { checkLocal } from '../spam/local-check.ts';
import { firstMessage, readMessages } from '../spam/message-files.ts';
import { refusalKey } from '../spam/outbound.ts';
import type { Thresholds } from '../spam/pipeline.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';
import { digestsCommand } from './spam-digests.ts';
import { reputationCommand } from './spam-reputation.ts';
import { settingsCommand } from './spam-settings.ts';
import { statsCommand } from './spam-stats.ts';

/**
 * Messages per learning transaction. A batch holds each message's digest and tokens (bounded by the
 * tokenizer's caps), not the message: one message at a time is in memory, whatever the mbox's size.
 */
const BATCH = 200;

async function accountScope(app: App, address: string | undefined): Promise<number | null> {
  if (address === undefined) return null;
  return (await app.directory.requireAccount(address)).id;
}

/** The largest message read from files: the largest the server accepts (SMTP or IMAP APPEND). */
export const maxMessageSize = (app: App) =>
  Math.max(app.config.smtp.max_message_size, app.config.imap.max_message_size);

/** Exit status 1 when no message at all could be read (every file skipped or empty), else 0. */
async function train(cli: Cli, app: App): Promise<number> {
  const dirs = { spam: flag(cli, 'spam'), ham: flag(cli, 'ham') };
  if (!dirs.spam && !dirs.ham) throw new UsageError('give --spam DIR and/or --ham DIR');
  // A mistyped path is refused before anything is learned.
  for (const dir of [dirs.spam, dirs.ham])
    if (dir)
      try {
        statSync(dir);
      } catch (e) {
        throw new UsageError(`${dir}: ${(e as Error).message}`);
      }
  const account = await accountScope(app, flag(cli, 'account'));
  const scope = account ?? GLOBAL_SCOPE;
  const bayes = bayesFromConfig(app.store, app.config);
  const maxSize = maxMessageSize(app);
  let read = 0;
  for (const cls of ['spam', 'ham'] as const) {
    const dir = dirs[cls];
    if (!dir) continue;
    const tally = { learned: 0, relearned: 0, unchanged: 0 };
    let skipped = 0;
    let batch: Parameters<typeof bayes.learnMany>[1] = [];
    const flush = async () => {
      for (const o of await bayes.learnMany(scope, batch)) tally[o]++;
      batch = [];
    };
    // What is not a readable regular file (a sub-directory, a dangling link) or a message over the size
    // limit is named on stderr and skipped: the rest is still learned.
    for await (const m of readMessages(dir, { maxSize })) {
      if ('skipped' in m) {
        cli.err(`warning: ${m.file}: ${m.skipped}; skipped`);
        skipped++;
        continue;
      }
      batch.push(bayes.learnItem(m.raw, parseMessage(m.raw), cls));
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    read += tally.learned + tally.relearned + tally.unchanged;
    cli.out(
      `${cls}: ${tally.learned} learned, ${tally.relearned} moved from ${cls === 'spam' ? 'ham' : 'spam'}, ${tally.unchanged} already known, ${skipped} skipped`,
    );
  }
  const t = await app.store.bayes.totals(scope);
  cli.out(`${account === null ? 'global' : `account ${flag(cli, 'account')}`} table: ${t.spam} spam, ${t.ham} ham`);
  if (read > 0) return 0;
  cli.err('nothing learned: no message could be read from the files given');
  return 1;
}

/** One JSON line per file; a file that cannot be read gets {"file","error"} and the exit status 1 at the end. */
async function check(cli: Cli, app: App): Promise<number> {
  const files = cli.args.slice(2);
  if (files.length === 0) throw new UsageError('missing FILE');
  const address = flag(cli, 'account');
  const account = await accountScope(app, address);
  // With --account, that account's thresholds: the admin's for its address or domain, then its own junk
  // threshold if the user chose one (/account/spam), as the server decides its copy.
  let thresholds: Thresholds | undefined;
  if (address !== undefined && account !== null) {
    const admin = thresholdsLookup(app.config.spam)(address);
    const own = app.config.spam.user_junk_score
      ? (await app.store.spam.userJunkScores([account])).get(account)
      : undefined;
    thresholds = withOwnJunkScore(admin, own);
  }
  // The content scan on the server's worker threads, under the same time limit (spam.scan.timeout_ms): a
  // local rule that backtracks without end costs that file a CONTENT_SCAN_TIMEOUT, not the command.
  const checks = buildChecks({
    store: app.store,
    resolver: app.resolver,
    config: app.config,
    log: app.log,
    scanner: app.spamScanner,
  });
  const VERDICT = { accept: 'ham', junk: 'spam', greylist: 'ham', reject: 'reject' } as const;
  const maxSize = maxMessageSize(app);
  let failed = 0;
  for (const file of files) {
    const m = await firstMessage(file, { maxSize });
    if ('skipped' in m) {
      cli.out(JSON.stringify({ file, error: m.skipped }));
      failed++;
      continue;
    }
    const v = await checkLocal(m.raw, {
      checks,
      config: app.config,
      accountIds: account === null ? [] : [account],
      thresholds,
    });
    cli.out(
      JSON.stringify({
        file,
        verdict: VERDICT[v.action],
        score: v.score,
        symbols: v.symbols.map((s) => ({ name: s.name, score: s.score, ...(s.detail ? { detail: s.detail } : {}) })),
      }),
    );
  }
  return failed ? 1 : 0;
}

/**
 * The entries of `spam allow|block add|remove ENTRY... [--file F]`: the arguments, then the file's lines (the
 * first field of each, so a Postfix access table or a plain list both read; # starts a comment). Every
 * entry is checked before any is used.
 */
/** A list file's text; one that cannot be read is a usage error naming it (not a stack trace). */
function readListFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : (e as Error).message;
    throw new UsageError(`--file ${file}: ${why}`);
  }
}

function entriesOf(cli: Cli): string[] {
  const given: { text: string; where: string }[] = cli.args.slice(3).map((text) => ({ text, where: text }));
  const file = flag(cli, 'file');
  if (file)
    readListFile(file)
      .split(/\r?\n/)
      .forEach((line, i) => {
        const text = line.replace(/#.*/, '').trim().split(/\s+/)[0];
        if (text) given.push({ text, where: `${file}:${i + 1}` });
      });
  if (given.length === 0) throw new UsageError('missing ENTRY (address, domain, IP address or network) or --file F');
  const out: string[] = [];
  const bad: string[] = [];
  for (const g of given) {
    const p = parseEntry(g.text);
    if ('error' in p) bad.push(g.where === g.text ? p.error : `${g.where}: ${p.error}`);
    else out.push(p.value);
  }
  if (bad.length) throw new UsageError(`nothing changed: ${bad.slice(0, 10).join('; ')}`);
  return [...new Set(out)];
}

/** The scope `--account ADDRESS` or `--domain DOMAIN` names (neither: every recipient), and how to say it. */
async function listScope(
  cli: Cli,
  app: App,
): Promise<{ accountId: number | null; domainId?: number; label: string; given: boolean }> {
  const address = flag(cli, 'account');
  const domain = flag(cli, 'domain');
  if (address && domain) throw new UsageError('give --account or --domain, not both');
  if (domain) {
    // Domains are kept under their A-label: "bücher.example" names xn--bcher-kva.example.
    let name: string;
    try {
      name = normaliseDomain(domain);
    } catch {
      throw new UsageError(`--domain: not a domain name: ${domain}`);
    }
    const d = await app.store.getDomain(name);
    if (!d) throw new UsageError(`domain ${domain} is not hosted here`);
    return { accountId: null, domainId: d.id, label: `for @${d.name}`, given: true };
  }
  const accountId = await accountScope(app, address);
  return { accountId, label: address ? `for ${address}` : 'for every recipient', given: !!address };
}

/** `spam allow|block add|remove ENTRY...`: for every recipient, one domain's accounts, or one account. */
async function editList(cli: Cli, app: App, kind: 'allow' | 'block'): Promise<void> {
  const op = requireArg(cli, 2, `spam ${kind} add|remove`);
  if (op !== 'add' && op !== 'remove') throw new UsageError(`unknown spam ${kind} operation: ${op}`);
  const entries = entriesOf(cli);
  const { accountId, domainId, label } = await listScope(cli, app);
  const missing: string[] = [];
  for (const entry of entries) {
    if (op === 'add') {
      const added = await app.store.spam.addListEntry({
        kind,
        accountId,
        domainId: domainId ?? null,
        entry,
        note: flag(cli, 'note') ?? '',
        createdAt: Date.now(),
      });
      cli.out(added ? `${kind} ${entry} ${label}` : `${entry} is already on the ${kind} list ${label}`);
    } else if (await app.store.spam.removeListEntry(kind, accountId, entry, domainId))
      cli.out(`removed ${entry} from the ${kind} list ${label}`);
    else {
      // An entry kept before its normal form changed ("192.0.2.7/24", now 192.0.2.0/24) goes by the
      // spelling `spam lists` shows.
      const typed = cli.args
        .slice(3)
        .map((a) => a.trim().toLowerCase())
        .find(
          (a) => a !== entry && !('error' in parseEntry(a)) && (parseEntry(a) as { value: string }).value === entry,
        );
      if (typed && (await app.store.spam.removeListEntry(kind, accountId, typed, domainId)))
        cli.out(`removed ${typed} from the ${kind} list ${label}`);
      else missing.push(entry);
    }
  }
  if (missing.length) throw new UsageError(`not on the ${kind} list ${label}: ${missing.join(', ')}`);
}

async function showLists(cli: Cli, app: App): Promise<void> {
  const scope = await listScope(cli, app);
  const entries = scope.given
    ? await app.store.spam.listEntries(scope.accountId, scope.domainId)
    : await app.store.spam.listEntries();
  const names = new Map<string, string>();
  const nameOf = async (e: (typeof entries)[number]) => {
    if (e.domainId) {
      const k = `d${e.domainId}`;
      if (!names.has(k)) names.set(k, `@${(await app.store.getDomain(e.domainId))?.name ?? `#${e.domainId}`}`);
      return names.get(k)!;
    }
    if (e.accountId === null) return '*';
    const k = `a${e.accountId}`;
    if (!names.has(k)) names.set(k, (await app.store.getAccount(e.accountId))?.address ?? `#${e.accountId}`);
    return names.get(k)!;
  };
  if (entries.length === 0) cli.out('no entries');
  for (const e of entries)
    cli.out([e.kind, e.entry, await nameOf(e), new Date(e.createdAt).toISOString(), e.note].join('\t').trimEnd());
}

/**
 * `spam verdicts [--account A [--refused]] [--from SENDER] [--ip IP] [--limit N]`: the stored verdicts,
 * newest first: an account's delivered copies (with --refused, the refused messages addressed to it, by
 * its own verdict: what its user sees at /account/spam), or without --account the refused and deferred
 * messages; with --from (an address, or a domain for the addresses at it) or --ip, every verdict of that
 * sender, delivered or not (the admin's answer to "mail from X never arrived"). What the admin UI will show.
 */
async function showVerdicts(cli: Cli, app: App): Promise<void> {
  const address = flag(cli, 'account');
  const limit = Number(flag(cli, 'limit') ?? 20);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError('--limit: 1 to 10000');
  const account = await accountScope(app, address);
  const sender = flag(cli, 'from');
  const typed = flag(cli, 'ip');
  if (typed !== undefined && !isIP(typed)) throw new UsageError(`--ip: not an IP address: ${typed}`);
  // Stored as the server saw it (RFC 5952 form): "2001:DB8::0001" finds "2001:db8::1".
  const ip = typed === undefined ? undefined : canonicalAddress(typed);
  const search = sender !== undefined || ip !== undefined;
  const refused = cli.flags.get('refused') === true;
  if (refused && (account === null || search))
    throw new UsageError('--refused goes with --account (and no --from, --ip)');
  const rows = refused
    ? await app.store.spam.refusalsFor(account!, limit)
    : search
      ? await app.store.spam.findVerdicts(
          { sender, clientIp: ip, ...(account !== null && { accountId: account }) },
          limit,
        )
      : account === null
        ? await app.store.spam.recentRefusals(limit)
        : await app.store.spam.recentVerdicts(account, limit);
  // A search mixes accounts: each delivered copy names its account.
  const owners = new Map<number, string>();
  const owner = async (id: number) => {
    if (!owners.has(id)) owners.set(id, (await app.store.getAccount(id))?.address ?? `#${id}`);
    return owners.get(id)!;
  };
  if (rows.length === 0) cli.out('no verdicts');
  for (const v of rows) {
    const symbols = (JSON.parse(v.symbols) as { name: string; score: number; force?: string }[])
      .filter((x) => x.score !== 0 || x.force)
      .map((x) => `${x.name}=${x.score}`)
      .join(' ');
    cli.out(
      [
        new Date(v.createdAt).toISOString(),
        v.action,
        v.score,
        v.clientIp ?? '-',
        `<${v.mailFrom ?? ''}>`,
        v.messageId === null
          ? ''
          : `message ${v.messageId}${search && v.accountId !== null ? ` ${await owner(v.accountId)}` : ''}`,
        symbols,
      ].join('\t'),
    );
  }
}

const SUBCOMMANDS = [
  'train',
  'check',
  'allow',
  'block',
  'lists',
  'verdicts',
  'reputation',
  'digests',
  'stats',
  'outbound-release',
  'settings',
] as const;

/**
 * `spam outbound-release ADDRESS|IP`: lifts an outbound suspension (spam.outbound.suspend_after) of an
 * account or a trusted network's client IP now, e.g. once the stolen password is changed.
 */
async function outboundRelease(cli: Cli, app: App): Promise<void> {
  const who = requireArg(cli, 2, 'ADDRESS or IP');
  const sender = isIP(who) ? { account: null, clientIp: who } : { account: who, clientIp: '' };
  if (sender.account) await app.directory.requireAccount(who);
  await app.store.spam.clearRate(refusalKey(sender));
  cli.out(`${who} may send again; its outbound refusals are forgotten`);
}

export async function spamCommand(cli: Cli): Promise<number | undefined> {
  const sub = requireArg(cli, 1, `spam subcommand (${SUBCOMMANDS.join('|')})`);
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) throw new UsageError(`unknown spam subcommand: ${sub}`);
  const app = await cli.open();
  try {
    if (sub === 'train') return await train(cli, app);
    else if (sub === 'check') return await check(cli, app);
    else if (sub === 'allow' || sub === 'block') await editList(cli, app, sub);
    else if (sub === 'verdicts') await showVerdicts(cli, app);
    else if (sub === 'reputation') await reputationCommand(cli, app);
    else if (sub === 'digests') await digestsCommand(cli, app);
    else if (sub === 'stats') await statsCommand(cli, app);
    else if (sub === 'outbound-release') await outboundRelease(cli, app);
    else if (sub === 'settings') await settingsCommand(cli, app);
    else await showLists(cli, app);
  } finally {
    await app.close();
  }
}
