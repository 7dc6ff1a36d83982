// Wires the [acme] config to an AcmeManager over the app's certificate set.
import { join } from 'node:path';
import { AcmeManager, readCaBundle } from '../acme/manager.ts';
import { parseDuration } from '../config/duration.ts';
import type { App } from './app.ts';

export async function acmeManager(app: App): Promise<AcmeManager> {
  const a = app.config.acme;
  return new AcmeManager(
    {
      directoryUrl: a.directory_url,
      email: a.email,
      domains: a.domains.length ? a.domains : [app.config.server.hostname],
      challenge: a.challenge,
      caBundle: readCaBundle(a.ca_bundle),
      renewBeforeDays: a.renew_before_days,
      checkIntervalMs: parseDuration(a.check_interval, 'acme.check_interval'),
      dir: join(app.dataDir, 'acme'),
      reuseKey: a.reuse_key,
    },
    await app.tls(),
    app.log,
  );
}
