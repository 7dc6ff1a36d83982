// Files the ACME client keeps under <data_dir>/acme: the account key and one directory per certificate
// (named after its first domain) holding cert.pem (the chain) and key.pem. Keys are written 0600.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { syncDir, writeFileAtomic as writeAtomic } from '../core/durable-file.ts';
import { type CertificateEntry, certificateNames } from '../net/certificates.ts';

export function accountKeyPath(dir: string): string {
  return join(dir, 'account.key');
}

function certDir(dir: string, primary: string): string {
  if (!/^[a-z0-9.*-]+$/i.test(primary)) throw new Error(`not a domain name: ${primary}`);
  return join(dir, 'certs', primary.replace('*', '_wildcard'));
}

export function readAccountKey(dir: string): Buffer | null {
  const p = accountKeyPath(dir);
  return existsSync(p) ? readFileSync(p) : null;
}

export function writeAccountKey(dir: string, key: Buffer): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(accountKeyPath(dir), key, 0o600);
}

/** The account's URL at a CA (RFC 8555 section 7.3), remembered after the first registration. */
export function readAccountUrl(dir: string, directoryUrl: string): string | null {
  try {
    const j = JSON.parse(readFileSync(join(dir, 'account.json'), 'utf8')) as {
      directoryUrl?: string;
      accountUrl?: string;
    };
    return j.directoryUrl === directoryUrl && j.accountUrl ? j.accountUrl : null;
  } catch {
    return null;
  }
}

export function writeAccountUrl(dir: string, directoryUrl: string, accountUrl: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeAtomic(join(dir, 'account.json'), JSON.stringify({ directoryUrl, accountUrl }), 0o600);
}

/** The private key of a stored certificate, or null (first issuance, or unreadable). */
export function readCertificateKey(dir: string, primary: string): string | null {
  try {
    return readFileSync(join(certDir(dir, primary), 'key.pem'), 'utf8');
  } catch {
    return null;
  }
}

/** Stores an issued certificate; the key is written first, so a cert.pem never lacks its key. */
export function writeCertificate(dir: string, primary: string, cert: string, key: string): void {
  const d = certDir(dir, primary);
  mkdirSync(d, { recursive: true, mode: 0o700 });
  writeAtomic(join(d, 'key.pem.next'), key, 0o600);
  writeAtomic(join(d, 'cert.pem.next'), cert, 0o644);
  renameSync(join(d, 'key.pem.next'), join(d, 'key.pem'));
  renameSync(join(d, 'cert.pem.next'), join(d, 'cert.pem'));
  syncDir(d);
}

/**
 * Every stored certificate with the names it covers. Entries that are unreadable or whose key does not parse
 * or match the certificate (a crash between the two renames of writeCertificate, a file cut short) are
 * skipped: they are not served, they do not stop the start or a reload, and the manager issues them again.
 */
export function readAcmeCertificates(dir: string): CertificateEntry[] {
  const root = join(dir, 'certs');
  if (!existsSync(root)) return [];
  const out: CertificateEntry[] = [];
  for (const name of readdirSync(root)) {
    try {
      const cert = readFileSync(join(root, name, 'cert.pem'), 'utf8');
      const key = readFileSync(join(root, name, 'key.pem'), 'utf8');
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) continue;
      out.push({ cert, key, names: certificateNames(cert) });
    } catch {
      // A directory without both files (first issuance in progress) is not served.
    }
  }
  return out;
}
