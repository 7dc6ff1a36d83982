// Admin commands: tenants, domains, accounts, aliases (the operations the web admin will expose too).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { clientSetupRecords } from '../client-setup/dns-records.ts';
import { clientSetup } from '../client-setup/endpoints.ts';
import { octets } from '../config/size.ts';
import type { Domain } from '../core/model.ts';
import { normaliseDomain } from '../directory/address.ts';
import { checkBlocklists, checkRecords, hostAddresses, isProblem } from '../directory/dns-check.ts';
import { type DnsRecord, domainRecords, formatRecords } from '../directory/dns-records.ts';
import { dkimRecordSource } from '../dkim/records.ts';
import { createSecureLookup } from '../dns/secure.ts';
import type { App } from '../server/app.ts';
import { daneRecords } from '../smtp/dane-records.ts';
import { mtaStsRecords } from '../smtp/mta-sts-policy.ts';
import { parseZone } from '../spam/checks/dnsbl.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';
import { forgetFirstPassword, PASSWORD_FILE } from './first-password.ts';
import { passwordFrom } from './password.ts';
import { twoFactorCommand } from './two-factor.ts';

/** A --quota: a size as the config writes one (config/size.ts), or none/unlimited. */
function parseSize(v: string | undefined): number | null | undefined {
  if (v === undefined) return undefined;
  if (v === 'none' || v === 'unlimited') return null;
  const n = octets(v);
  if (n === null) throw new UsageError(`not a size: ${v} (e.g. 500M, 2G, none)`);
  return n;
}

const fmtSize = (n: number | null) => (n === null ? 'unlimited' : `${n}`);

/**
 * A hosted domain named on the command line in any form `domain add` takes (case, U-label or A-label,
 * trailing dot): the form it is stored in, or a usage error when it is not one of ours.
 */
async function hostedDomain(app: App, input: string): Promise<Domain> {
  let name: string;
  try {
    name = normaliseDomain(input);
  } catch {
    throw new UsageError(`no such domain: ${input}`);
  }
  const d = await app.store.getDomain(name);
  if (!d) throw new UsageError(`no such domain: ${input}`);
  return d;
}

export async function tenantCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'tenant subcommand (add|list)');
  const app = await cli.open();
  try {
    if (sub === 'add') {
      const t = await app.directory.addTenant(requireArg(cli, 2, 'tenant name'), parseSize(flag(cli, 'quota')));
      cli.out(`tenant ${t.name} added`);
    } else if (sub === 'list') {
      for (const t of await app.store.listTenants()) cli.out(`${t.name}\tquota=${fmtSize(t.quotaBytes)}`);
    } else throw new UsageError(`unknown tenant subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}

/** Everything a hosted domain publishes: base, DKIM, client discovery, MTA-STS, and the server's TLSA. */
async function recordList(app: App, domain: string): Promise<DnsRecord[]> {
  const sources = [
    dkimRecordSource((d) => app.dkim.list(d)),
    clientSetupRecords(clientSetup(app.config)),
    mtaStsRecords(app.config),
    daneRecords(app.config.server.hostname, await app.tls(), { sharedStore: app.config.store.backend === 'postgres' }),
  ];
  return domainRecords(domain, app.config.server.hostname, sources);
}

const recordsOf = async (app: App, domain: string) => formatRecords(await recordList(app, domain));

/** `domain check`: each record as the DNS has it; true when nothing is missing or wrong. */
async function checkDomain(cli: Cli, app: App, domain: string): Promise<boolean> {
  const lookup = createSecureLookup({
    nameservers: app.config.dns.nameservers,
    timeoutMs: app.config.dns.timeout_ms,
    tries: app.config.dns.tries,
    trustAd: app.config.dns.trust_ad,
  });
  const checks = await checkRecords(lookup, await recordList(app, domain), app.config.server.hostname);
  for (const c of checks)
    cli.out(
      `${c.status.padEnd(9)} ${c.record.type.padEnd(5)} ${c.record.name}${c.found ? `  (${c.status === 'failed' ? 'error' : 'found'}: ${c.found.slice(0, 120)})` : ''}`,
    );
  const problems = checks.filter((c) => isProblem(c.status)).length;
  cli.out(problems ? `${problems} record(s) to fix` : 'every required record is in place');
  // This host's addresses in the blocklists other servers consult (those we use ourselves, and monitor).
  // A zone whose every answer scores zero or less is an allow list (DNSWL): being on it is no problem.
  const dnsbl = app.config.spam.dnsbl;
  const blocking = dnsbl.zones
    .map(parseZone)
    .filter((z) =>
      z.codes.length === 0 ? dnsbl.default_score > 0 : z.codes.some((c) => c.score === 'reject' || c.score > 0),
    )
    .map((z) => z.zone);
  const zones = [...new Set([...blocking, ...dnsbl.monitor])].filter(Boolean);
  const addrs = await hostAddresses(lookup, app.config.server.hostname);
  const listings = await checkBlocklists(lookup, addrs, zones);
  for (const b of listings)
    cli.out(`${b.status.padEnd(9)} DNSBL ${b.ip} in ${b.zone}${b.found ? `  (${b.found.slice(0, 120)})` : ''}`);
  const listed = listings.filter((b) => b.status === 'listed').length;
  if (zones.length && addrs.size)
    cli.out(
      listed ? `listed in ${listed} blocklist(s): ask each to delist the address` : 'not on any blocklist checked',
    );
  return problems === 0 && listed === 0;
}

export async function domainCommand(cli: Cli): Promise<number | undefined> {
  const sub = requireArg(cli, 1, 'domain subcommand (add|list|records|check|remove)');
  const app = await cli.open();
  try {
    if (sub === 'add') {
      const d = await app.directory.addDomain(requireArg(cli, 2, 'domain name'), flag(cli, 'tenant'));
      // The domain's DKIM key (RFC 6376) is made now so its record is published with the others.
      if (app.config.dkim.sign)
        await app.dkim.ensure(d.name, { algorithm: app.config.dkim.algorithm, selector: app.config.dkim.selector });
      cli.out(`domain ${d.name} added; publish these DNS records:`);
      cli.out(await recordsOf(app, d.name));
    } else if (sub === 'check') {
      const d = await hostedDomain(app, requireArg(cli, 2, 'domain name'));
      if (!(await checkDomain(cli, app, d.name))) return 1;
    } else if (sub === 'records') {
      const d = await hostedDomain(app, requireArg(cli, 2, 'domain name'));
      cli.out(await recordsOf(app, d.name));
    } else if (sub === 'list') {
      const tenants = new Map((await app.store.listTenants()).map((t) => [t.id, t.name]));
      for (const d of await app.store.listDomains()) cli.out(`${d.name}\ttenant=${tenants.get(d.tenantId)}`);
    } else if (sub === 'remove') {
      await app.directory.removeDomain(requireArg(cli, 2, 'domain name'));
      cli.out('domain removed');
    } else throw new UsageError(`unknown domain subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}

export async function accountCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'account subcommand (add|list|passwd|remove|disable|enable|send-as|quota|2fa)');
  const asks = (sub === 'add' || sub === 'passwd') && (flag(cli, 'password') ?? '-') === '-';
  // A password to be typed or piped is asked for only once the address is known to be right (as passwd(1)
  // says "user does not exist" first), with the store closed again: no database held open while a prompt
  // waits, and the first start's banner printed before the prompts, not between them.
  if (asks) {
    const address = requireArg(cli, 2, 'address');
    const check = await cli.open(undefined, { bootstrap: sub === 'add' });
    try {
      if (sub === 'add') await check.directory.newAccountAddress(address);
      else await check.directory.requireAccount(address);
    } finally {
      await check.close();
    }
  }
  const secret =
    sub === 'add' || sub === 'passwd'
      ? await passwordFrom(cli, { address: requireArg(cli, 2, 'address'), emptyGenerates: sub === 'add' })
      : undefined;
  if (sub === 'passwd' && !secret)
    throw new UsageError('passwd needs --password P, or --password - to read it from standard input');
  // A first account on a fresh data directory: in the first domain, made then as by the first start.
  const app = await cli.open(undefined, { bootstrap: sub === 'add' });
  try {
    if (sub === 'add') {
      const address = requireArg(cli, 2, 'address');
      // No password given, none typed (or no terminal to type it on): one is made and shown once.
      const generated = secret === undefined;
      const password = secret ?? randomBytes(12).toString('base64url');
      const acc = await app.directory.addAccount(address, password, {
        role: cli.flags.has('admin') ? 'admin' : 'user',
        displayName: flag(cli, 'name'),
        quotaBytes: parseSize(flag(cli, 'quota')),
      });
      cli.out(`account ${acc.address} added` + (generated ? `; password: ${password}` : ''));
    } else if (sub === 'list') {
      const domain = flag(cli, 'domain');
      const d = domain ? await hostedDomain(app, domain) : undefined;
      for (const a of await app.store.listAccounts(d ? { domainId: d.id } : undefined))
        cli.out(
          `${a.address}\t${a.role}\tused=${a.usedBytes}/${fmtSize(a.quotaBytes)}\tmessages=${a.usedMessages}${a.disabled ? '\tdisabled' : ''}`,
        );
    } else if (sub === 'passwd') {
      const address = requireArg(cli, 2, 'address');
      const before = await app.store.getAccount(address);
      await app.directory.setPassword(address, secret!);
      cli.out('password changed');
      // The first administrator's password file, when it held this account's old password, is stale now.
      if (await forgetFirstPassword(app.dataDir, before?.passwordHash ?? null))
        cli.out(`${join(app.dataDir, PASSWORD_FILE)} removed`);
    } else if (sub === 'remove') {
      await app.directory.removeAccount(requireArg(cli, 2, 'address'));
      cli.out('account removed');
    } else if (sub === 'disable' || sub === 'enable') {
      await app.directory.setDisabled(requireArg(cli, 2, 'address'), sub === 'disable');
      cli.out(`account ${sub}d`);
    } else if (sub === 'send-as') {
      const address = requireArg(cli, 2, 'address');
      const policy = cli.args[3];
      if (policy !== undefined) {
        if (policy !== 'own' && policy !== 'domain' && policy !== 'any')
          throw new UsageError(`send-as is own, domain or any, not "${policy}"`);
        await app.directory.setSendAs(address, policy);
      }
      const acc = await app.directory.requireAccount(address);
      cli.out(`${acc.address}\tsend-as=${acc.sendAs}`);
    } else if (sub === 'quota') {
      // `account quota ADDRESS [SIZE|none]`: shown, or set and shown (as send-as); a size as --quota takes.
      const address = requireArg(cli, 2, 'address');
      const size = parseSize(cli.args[3]);
      const acc =
        size === undefined ? await app.directory.requireAccount(address) : await app.directory.setQuota(address, size);
      cli.out(`${acc.address}\tquota=${fmtSize(acc.quotaBytes)}\tused=${acc.usedBytes}\tmessages=${acc.usedMessages}`);
    } else if (sub === '2fa') await twoFactorCommand(cli, app);
    else throw new UsageError(`unknown account subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}

export async function aliasCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'alias subcommand (add|list|remove)');
  const app = await cli.open(undefined, { bootstrap: sub === 'add' });
  try {
    if (sub === 'add') {
      const address = requireArg(cli, 2, 'alias address (or @domain for a catch-all)');
      const targets = cli.args.slice(3);
      if (targets.length === 0) throw new UsageError('alias add needs at least one target address');
      await app.directory.addAlias(address, targets, cli.flags.has('group') ? 'group' : undefined);
      cli.out(`alias ${address} -> ${targets.join(', ')} added`);
    } else if (sub === 'list') {
      for (const a of await app.store.listAliases()) cli.out(`${a.address}\t${a.kind}\t${a.targets.join(',')}`);
    } else if (sub === 'remove') {
      await app.directory.removeAlias(requireArg(cli, 2, 'alias address'));
      cli.out('alias removed');
    } else throw new UsageError(`unknown alias subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}
