// Builds the certificate set every TLS listener and STARTTLS serves from config and files: the default
// certificate ([tls] cert/key or self-signed), [[tls.certificates]] by SNI, and what ACME stored in
// <data_dir>/acme. reload() reads everything again (SIGHUP); a failed reload keeps what was served.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAcmeCertificates } from '../acme/storage.ts';
import type { Config } from '../config/schema.ts';
import { type CertificateEntry, CertificateSet, certificateNames } from '../net/certificates.ts';
import { loadTlsMaterial } from '../net/tls.ts';

export interface Certificates {
  set: CertificateSet;
  /** Re-reads every certificate file; new handshakes use the result, open connections keep theirs. */
  reload(): Promise<void>;
}

export async function openCertificates(config: Config, dataDir: string): Promise<Certificates> {
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
    const acme = readAcmeCertificates(join(dataDir, 'acme'));
    set.setDefault(material);
    set.replace('files', files);
    set.replace('acme', acme);
  };
  await reload();
  return { set, reload };
}
