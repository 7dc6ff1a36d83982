// Wires the [acme] config to an AcmeManager over the app's certificate set, with the MTA-STS policy hosts
// of hosted domains (mta-sts.<domain>) as extra certificates once their DNS points at this server.
import { AcmeManager, readCaBundle } from '../acme/manager.ts';
import { AcmeStore } from '../acme/storage.ts';
import { parseDuration } from '../config/duration.ts';
import type { Resolver } from '../core/ports.ts';
import { dnsName } from '../net/certificates.ts';
import { nodeId } from '../queue/node-id.ts';
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

/** Long enough for an order's challenges and finalisation (minutes); a crashed node's lease lapses after it. */
const ORDER_LEASE_MS = 30 * 60_000;

export async function acmeManager(app: App): Promise<AcmeManager> {
  const a = app.config.acme;
  // Identifiers go to the CA as A-labels (RFC 8555 section 7.1.4): "bücher.example" is asked for as xn--bcher-kva.example.
  const domains = (a.domains.length ? a.domains : [app.config.server.hostname]).map(dnsName);
  const wantsMtaSts = a.mta_sts && app.config.smtp.mta_sts_mode !== 'none';
  const store = new AcmeStore(app.store.keys);
  const owner = nodeId(app.config);
  const lease = {
    acquire: () => app.store.leases.acquire('acme-order', owner, ORDER_LEASE_MS, Date.now()),
    release: () => app.store.leases.release('acme-order', owner),
  };
  // Another node stored a certificate: serve it now rather than at the next periodic read.
  let manager: AcmeManager | null = null;
  const issued = app.notifier.topic<number>('acme', () => void manager?.refresh().catch(() => {}));
  issued.listen();
  const certs = await app.tls();
  // A cluster's TLS-ALPN-01: the CA may reach a node that did not order; it finds the answer in the store.
  if (a.challenge === 'tls-alpn-01' && app.config.store.backend === 'postgres')
    certs.setSharedAlpnChallenges((name) => store.alpnChallenge(name));
  manager = new AcmeManager(
    {
      directoryUrl: a.directory_url,
      email: a.email,
      domains,
      challenge: a.challenge,
      caBundle: readCaBundle(a.ca_bundle),
      renewBeforeDays: a.renew_before_days,
      checkIntervalMs: parseDuration(a.check_interval, 'acme.check_interval'),
      store,
      lease,
      announce: () => issued.send(Date.now()),
      reuseKey: a.reuse_key,
      extraNames: wantsMtaSts
        ? mtaStsNames(
            app,
            domains[0],
            domains.map((d) => d.toLowerCase()),
          )
        : undefined,
    },
    certs,
    app.log,
  );
  return manager;
}
