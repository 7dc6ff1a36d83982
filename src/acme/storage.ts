// ACME state in the store (the keys sub-store's `acme_state`, names in core/key-port.ts), shared by every
// node of a cluster: the account key and URL, each certificate with its key, and the challenge answers
// while the CA validates (it may reach any node). Files an earlier version kept under <data_dir>/acme
// (account.key, account.json, certs/<name>/{cert,key}.pem) are imported by importFiles.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyStore } from '../core/key-port.ts';
import { type CertificateEntry, certificateNames } from '../net/certificates.ts';

const ACCOUNT_KEY = 'account-key';
const ACCOUNT_URL = 'account-url';
const CERT = 'cert:';
const HTTP = 'http-01:';
const ALPN = 'tls-alpn-01:';
/** Challenge answers older than this are left-overs of a crash during an order (an order lasts minutes). */
const CHALLENGE_MAX_AGE_MS = 86_400_000;

export interface KeyPair {
  cert: string;
  key: string;
}

/** A certificate whose key parses and matches it, with the names it covers; null for anything else. */
function entryOf(pair: KeyPair): CertificateEntry | null {
  try {
    if (!new X509Certificate(pair.cert).checkPrivateKey(createPrivateKey(pair.key))) return null;
    return { cert: pair.cert, key: pair.key, names: certificateNames(pair.cert) };
  } catch {
    return null;
  }
}

function pairOf(value: string): KeyPair | null {
  try {
    const p = JSON.parse(value) as Partial<KeyPair>;
    return typeof p.cert === 'string' && typeof p.key === 'string' ? { cert: p.cert, key: p.key } : null;
  } catch {
    return null;
  }
}

const expiry = (cert: string) => Date.parse(new X509Certificate(cert).validTo);

export class AcmeStore {
  private readonly keys: KeyStore;
  private readonly now: () => number;

  constructor(keys: KeyStore, now: () => number = Date.now) {
    this.keys = keys;
    this.now = now;
  }

  async accountKey(): Promise<Buffer | null> {
    const e = await this.keys.getAcme(ACCOUNT_KEY);
    return e ? Buffer.from(e.value) : null;
  }

  async setAccountKey(key: Buffer): Promise<void> {
    await this.keys.putAcme(ACCOUNT_KEY, key.toString(), this.now());
  }

  /** The account's URL at a CA (RFC 8555 section 7.3), remembered after the first registration. */
  async accountUrl(directoryUrl: string): Promise<string | null> {
    const e = await this.keys.getAcme(ACCOUNT_URL);
    if (!e) return null;
    try {
      const j = JSON.parse(e.value) as { directoryUrl?: string; accountUrl?: string };
      return j.directoryUrl === directoryUrl && j.accountUrl ? j.accountUrl : null;
    } catch {
      return null;
    }
  }

  async setAccountUrl(directoryUrl: string, accountUrl: string): Promise<void> {
    await this.keys.putAcme(ACCOUNT_URL, JSON.stringify({ directoryUrl, accountUrl }), this.now());
  }

  /** The private key of the stored certificate named after `primary`, or null (first issuance). */
  async certificateKey(primary: string): Promise<string | null> {
    const e = await this.keys.getAcme(CERT + primary.toLowerCase());
    return e ? (pairOf(e.value)?.key ?? null) : null;
  }

  /** Stores an issued certificate and its key in one row: a certificate never lacks its key. */
  async putCertificate(primary: string, cert: string, key: string): Promise<void> {
    await this.keys.putAcme(CERT + primary.toLowerCase(), JSON.stringify({ cert, key }), this.now());
  }

  /**
   * Every stored certificate with the names it covers. Entries that do not parse or whose key does not
   * match are skipped: not served, never stopping a start or a reload, and the manager issues them again.
   */
  async certificates(): Promise<CertificateEntry[]> {
    const out: CertificateEntry[] = [];
    for (const e of await this.keys.listAcme(CERT)) {
      const pair = pairOf(e.value);
      const entry = pair && entryOf(pair);
      if (entry) out.push(entry);
    }
    return out;
  }

  /** The answer to an HTTP-01 challenge (RFC 8555 section 8.3) while the CA validates; null removes it. */
  async setHttpToken(token: string, keyAuthorization: string | null): Promise<void> {
    if (keyAuthorization === null) await this.keys.deleteAcme(HTTP + token);
    else await this.keys.putAcme(HTTP + token, keyAuthorization, this.now());
  }

  async httpToken(token: string): Promise<string | null> {
    return (await this.keys.getAcme(HTTP + token))?.value ?? null;
  }

  /** The validation certificate of a TLS-ALPN-01 challenge (RFC 8737 section 3) for a name; null removes it. */
  async setAlpnChallenge(name: string, pair: KeyPair | null): Promise<void> {
    if (pair === null) await this.keys.deleteAcme(ALPN + name.toLowerCase());
    else await this.keys.putAcme(ALPN + name.toLowerCase(), JSON.stringify(pair), this.now());
  }

  async alpnChallenge(name: string): Promise<KeyPair | null> {
    const e = await this.keys.getAcme(ALPN + name.toLowerCase());
    return e ? pairOf(e.value) : null;
  }

  /** Removes challenge answers an order that crashed left behind. */
  async pruneChallenges(): Promise<void> {
    const before = this.now() - CHALLENGE_MAX_AGE_MS;
    await this.keys.deleteAcme(HTTP, before);
    await this.keys.deleteAcme(ALPN, before);
  }

  /**
   * Takes in what an earlier version kept under `dir` (<data_dir>/acme): the account key and URL when the
   * store has none, and each certificate the store lacks or holds with an earlier expiry. The files are
   * left as they are (never read again once the store holds something newer). Returns what was taken.
   */
  async importFiles(dir: string): Promise<string[]> {
    const taken: string[] = [];
    if (!existsSync(dir)) return taken;
    const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : null);
    const key = read(join(dir, 'account.key'));
    if (key && !(await this.keys.getAcme(ACCOUNT_KEY))) {
      await this.keys.putAcme(ACCOUNT_KEY, key, this.now());
      taken.push('account key');
      try {
        const j = JSON.parse(read(join(dir, 'account.json')) ?? '') as { directoryUrl?: string; accountUrl?: string };
        if (j.directoryUrl && j.accountUrl) await this.setAccountUrl(j.directoryUrl, j.accountUrl);
      } catch {
        // No URL: the next order registers (finds) the account again by its key.
      }
    }
    const certs = join(dir, 'certs');
    if (!existsSync(certs)) return taken;
    for (const name of readdirSync(certs)) {
      let pair: KeyPair;
      try {
        pair = {
          cert: readFileSync(join(certs, name, 'cert.pem'), 'utf8'),
          key: readFileSync(join(certs, name, 'key.pem'), 'utf8'),
        };
      } catch {
        continue;
      }
      const entry = entryOf(pair);
      if (!entry) continue;
      // The directory was named after the certificate's first name (a wildcard's '*' written '_wildcard').
      const primary = name.replace('_wildcard', '*').toLowerCase();
      const held = await this.keys.getAcme(CERT + primary);
      const heldPair = held && pairOf(held.value);
      if (heldPair && entryOf(heldPair) && expiry(heldPair.cert) >= expiry(pair.cert)) continue;
      await this.putCertificate(primary, pair.cert, pair.key);
      taken.push(`certificate ${primary}`);
    }
    return taken;
  }
}
