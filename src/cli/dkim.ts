// `petrel dkim generate|show|remove`: per-domain DKIM signing keys and the TXT records to publish.
import { PetrelError } from '../core/errors.ts';
import { normaliseDomain } from '../directory/address.ts';
import { formatRecords } from '../directory/dns-records.ts';
import type { DkimAlgorithm, DkimKeyring } from '../dkim/keys.ts';
import { dkimRecordSource } from '../dkim/records.ts';
import { type Cli, flag, requireArg, UsageError } from './context.ts';

function algorithmOf(v: string | undefined, fallback: DkimAlgorithm): DkimAlgorithm {
  if (v === undefined) return fallback;
  if (v === 'rsa' || v === 'ed25519') return v;
  throw new UsageError(`--algorithm is rsa or ed25519, not ${v}`);
}

/** The DKIM records of a domain as zone-file lines, or '' when it has no key. */
export async function dkimRecordsText(keyring: DkimKeyring, domain: string): Promise<string> {
  const recs = await dkimRecordSource((d) => keyring.list(d))(domain);
  return recs.length ? formatRecords(recs) : '';
}

export async function dkimCommand(cli: Cli): Promise<void> {
  const sub = requireArg(cli, 1, 'dkim subcommand (generate|show|remove)');
  const app = await cli.open();
  try {
    const domain = normaliseDomain(requireArg(cli, 2, 'domain'));
    if (!(await app.store.getDomain(domain)))
      throw new PetrelError('NOT_FOUND', `domain ${domain} is not hosted here (add it first)`);
    if (sub === 'generate') {
      const key = await app.dkim
        .generate(domain, {
          algorithm: algorithmOf(flag(cli, 'algorithm'), app.config.dkim.algorithm),
          selector: flag(cli, 'selector') ?? app.config.dkim.selector,
          replace: cli.flags.has('force'),
        })
        .catch((e) => {
          // A rollover's second key is the usual reason: it takes a selector of its own (RFC 6376 section 3.1).
          if ((e as PetrelError).code !== 'ALREADY_EXISTS') throw e;
          throw new PetrelError('ALREADY_EXISTS', `${(e as Error).message}; a new key needs another: --selector NAME`);
        });
      cli.out(`DKIM key ${key.selector} (${key.algorithm}) made for ${domain}; publish this record:`);
      cli.out(
        formatRecords(
          (await dkimRecordSource((d) => app.dkim.list(d))(domain)).filter((r) =>
            r.name.startsWith(`${key.selector}.`),
          ),
        ),
      );
      cli.out('Mail from the domain is signed with every key it has (within a minute on a running server).');
    } else if (sub === 'show') {
      const text = await dkimRecordsText(app.dkim, domain);
      if (!text) cli.out(`${domain} has no DKIM key (petrel dkim generate ${domain})`);
      else cli.out(text);
    } else if (sub === 'remove') {
      const selector = requireArg(cli, 3, 'selector');
      await app.dkim.remove(domain, selector);
      cli.out(`DKIM key ${selector} of ${domain} removed; its record can go once mail signed with it is delivered`);
    } else throw new UsageError(`unknown dkim subcommand: ${sub}`);
  } finally {
    await app.close();
  }
}
