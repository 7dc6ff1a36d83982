// Builds the certificate set every TLS listener and STARTTLS serves from config and files: the default
// certificate ([tls] cert/key or self-signed), [[tls.certificates]] by SNI, and what ACME stored in the
// store (after taking in the files an earlier version kept in <data_dir>/acme). reload() reads everything
// again (SIGHUP); a failed reload keeps what was served.

import { readFileSync, type Stats, unwatchFile, watchFile } from 'node:fs';
import { join } from 'node:path';
import { AcmeStore } from '../acme/storage.ts';
import { parseDuration } from '../config/duration.ts';
import type { Config } from '../config/schema.ts';
import type { KeyStore } from '../core/key-port.ts';
import { type CertificateEntry, CertificateSet, certificateNames } from '../net/certificates.ts';
import { loadTlsMaterial } from '../net/tls.ts';
import type { Logger } from '../telemetry/log.ts';
import type { App } from './app.ts';

export interface Certificates {
  set: CertificateSet;
  /** Re-reads every certificate file; new handshakes use the result, open connections keep theirs. */
  reload(): Promise<void>;
}

export async function openCertificates(
  config: Config,
  dataDir: string,
  keys: KeyStore,
  log: Logger,
): Promise<Certificates> {
  const acmeStore = new AcmeStore(keys);
  for (const what of await acmeStore.importFiles(join(dataDir, 'acme')))
    log.info({ what }, 'ACME: taken into the store from <data_dir>/acme');
  const set = new CertificateSet(
    { minVersion: config.tls.min_version, ciphers: config.tls.ciphers },
    config.server.hostname,
  );
  const reload = async () => {
    // Everything is read and parsed before anything is swapped: a broken file leaves the old set serving.
    const material = await loadTlsMaterial({
      certPath: config.tls.cert,
      keyPath: config.tls.key,
      dir: join(dataDir, 'tls'),
      hostname: config.server.hostname,
    });
    const files: CertificateEntry[] = config.tls.certificates.map((c) => {
      if (!c.cert || !c.key) throw new Error('every [[tls.certificates]] entry needs cert and key');
      const cert = readFileSync(c.cert, 'utf8');
      return {
        cert,
        key: readFileSync(c.key, 'utf8'),
        names: c.domains.length ? c.domains : certificateNames(cert),
      };
    });
    const acme = await acmeStore.certificates();
    set.update(material, { files, acme });
  };
  await reload();
  return { set, reload };
}

/**
 * Polls the configured certificate and key files (stat, so a symlink switched by certbot counts) and
 * reloads once they stop changing for a moment (a cert and its key are written one after the other).
 * Returns the function that stops watching.
 */
export function watchCertificateFiles(app: App, log: Logger): () => void {
  const t = app.config.tls;
  const interval = parseDuration(t.watch_interval, 'tls.watch_interval');
  const paths = [t.cert, t.key, ...t.certificates.flatMap((c) => [c.cert, c.key])].filter(Boolean);
  if (interval === 0 || paths.length === 0) return () => {};
  let timer: NodeJS.Timeout | null = null;
  const reload = () =>
    app.reloadTls().then(
      () => log.info('TLS certificate files changed: reloaded'),
      (e) => log.error({ err: e }, 'TLS reload after a file change failed; still serving the previous certificates'),
    );
  const onStat = (cur: Stats, prev: Stats) => {
    if (cur.mtimeMs === prev.mtimeMs && cur.ino === prev.ino && cur.size === prev.size) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(reload, Math.min(1000, interval));
  };
  for (const p of paths) watchFile(p, { interval, persistent: false }, onStat);
  return () => {
    for (const p of paths) unwatchFile(p, onStat);
    if (timer) clearTimeout(timer);
  };
}
