// `petrel init`: writes a commented production config and the DNS records to publish.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { clientSetupRecords } from '../client-setup/dns-records.ts';
import { clientSetup } from '../client-setup/endpoints.ts';
import { defaults } from '../config/load.ts';
import { commentedConfig } from '../config/reference.ts';
import { normaliseDomain } from '../directory/address.ts';
import { domainRecords, formatRecords } from '../directory/dns-records.ts';
import { writeKeyFile } from '../dkim/keys.ts';
import { dkimRecordSource } from '../dkim/records.ts';
import { mtaStsRecords } from '../smtp/mta-sts-policy.ts';
import { type Cli, flag, UsageError } from './context.ts';

export async function initCommand(cli: Cli): Promise<void> {
  const domainArg = flag(cli, 'domain');
  const hostArg = flag(cli, 'hostname');
  if (!domainArg || !hostArg) throw new UsageError('init needs --domain DOMAIN and --hostname HOSTNAME');
  const domain = normaliseDomain(domainArg);
  const hostname = normaliseDomain(hostArg);
  const dir = resolve(flag(cli, 'dir') ?? '.');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'petrel.toml');
  if (existsSync(configFile) && !cli.flags.has('force'))
    throw new UsageError(`${configFile} exists; use --force to overwrite`);
  const text = commentedConfig(
    {
      'server.hostname': hostname,
      'server.data_dir': join(dir, 'data'),
      'bootstrap.domain': domain,
      // The OpenID Provider's issuer: the HTTPS listener (port 443 in production) under the host name.
      'oauth.issuer': `https://${hostname}`,
      // DMARC reports must pass DMARC themselves (RFC 9990 section 3.5.2): from the domain we sign for.
      'spam.dmarc_reports.from': `noreply-dmarc@${domain}`,
      // TLS reports too: receivers ignore them without the reporting domain's DKIM signature (RFC 8460).
      'queue.tls_reports.from': `noreply-tlsrpt@${domain}`,
    },
    [
      `Petrel configuration for ${domain}, written by \`petrel init\`.`,
      'Every key is shown with its meaning and default; delete what you do not change.',
      'Environment variables PETREL_<SECTION>_<KEY> override any key (e.g. PETREL_LISTENERS_SMTP_PORT).',
      '',
      'Ports below 1024 need root or CAP_NET_BIND_SERVICE (see README, "Going to production").',
    ],
  );
  writeFileSync(configFile, text, { mode: 0o640 });
  // The first domain's DKIM key, as a file the first start imports into the store (no store exists yet), so
  // its record is published with the others from the start. An existing key is kept (init --force keeps signing).
  const key = writeKeyFile(join(dir, 'data', 'dkim'), domain, { algorithm: 'rsa', selector: 'petrel' });
  // What the written config advertises: the production ports, this host name.
  const production = defaults();
  production.server.hostname = hostname;
  const records = formatRecords(
    await domainRecords(domain, hostname, [
      dkimRecordSource(async (d) => (d === domain ? [key] : [])),
      clientSetupRecords(clientSetup(production)),
      mtaStsRecords(production),
    ]),
  );
  const dnsFile = join(dir, 'dns-records.txt');
  writeFileSync(dnsFile, `; DNS records for ${domain} (zone-file syntax)\n${records}`);
  cli.out(`wrote ${configFile}`);
  cli.out(`wrote ${dnsFile}; publish these records:`);
  cli.out('');
  cli.out(records);
  cli.out(`once they are published, check them with: petrel domain check ${domain} --config ${configFile}`);
  cli.out(`start with: petrel serve --config ${configFile}`);
}
