// Wires the [acme] config to an AcmeManager over the app's certificate set, with the MTA-STS policy hosts
// of hosted domains (mta-sts.<domain>) as extra certificates once their DNS points at this server.
import { join } from 'node:path';
import { AcmeManager, readCaBundle } from '../acme/manager.ts';
import { parseDuration } from '../config/duration.ts';
import type { Resolver } from '../core/ports.ts';
import { dnsName } from '../net/certificates.ts';
import type { App } from './app.ts';

/** The addresses a name resolves to (A and AAAA), [] when it has none or the lookup fails. */
async function addresses(resolver: Resolver, name: string): Promise<string[]> {
  const safe = (p: Promise<string[]>) => p.catch(() => [] as string[]);
  return [...(await safe(resolver.a(name))), ...(await safe(resolver.aaaa(name)))];
}

/**
 * mta-sts.<domain> of every hosted domain whose address records are some of the certified host name's
 * (the CNAME `petrel domain add` prints, or an A record), and that the main certificate does not name:
 * asking a CA for a name that does not point here would only fail its validation.
 */
export function mtaStsNames(app: App, primary: string, covered: string[]): () => Promise<string[]> {
  return async () => {
    const ours = new Set(await addresses(app.resolver, primary));
    if (ours.size === 0) return [];
    const out: string[] = [];
    for (const d of await app.store.listDomains()) {
      const name = `mta-sts.${d.name}`.toLowerCase();
      if (covered.includes(name) || covered.includes(`*.${d.name}`.toLowerCase())) continue;
      if ((await addresses(app.resolver, name)).some((ip) => ours.has(ip))) out.push(name);
    }
    return out;
  };
}

export async function acmeManager(app: App): Promise<AcmeManager> {
  const a = app.config.acme;
  // Identifiers go to the CA as A-labels (RFC 8555 section 7.1.4): "bücher.example" is asked for as xn--bcher-kva.example.
  const domains = (a.domains.length ? a.domains : [app.config.server.hostname]).map(dnsName);
  const wantsMtaSts = a.mta_sts && app.config.smtp.mta_sts_mode !== 'none';
  return new AcmeManager(
    {
      directoryUrl: a.directory_url,
      email: a.email,
      domains,
      challenge: a.challenge,
      caBundle: readCaBundle(a.ca_bundle),
      renewBeforeDays: a.renew_before_days,
      checkIntervalMs: parseDuration(a.check_interval, 'acme.check_interval'),
      dir: join(app.dataDir, 'acme'),
      reuseKey: a.reuse_key,
      extraNames: wantsMtaSts
        ? mtaStsNames(
            app,
            domains[0],
            domains.map((d) => d.toLowerCase()),
          )
        : undefined,
    },
    await app.tls(),
    app.log,
  );
}
