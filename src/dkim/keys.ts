// DKIM signing keys per domain, as files under <data_dir>/dkim/<domain>/<selector>.pem (0600, directories
// 0700): generated here, read by the signer, published as TXT records. Private keys never reach a log.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PetrelError } from '../core/errors.ts';
import { normaliseDomain } from '../directory/address.ts';

export type DkimAlgorithm = 'rsa' | 'ed25519';

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** PEM (PKCS#8). */
  privateKey: string;
  /** The TXT record value to publish at <selector>._domainkey.<domain> (RFC 6376 section 3.6.1). */
  record: string;
  createdAt: number;
}

/** RFC 6376 section 3.1: selector = sub-domain *( "." sub-domain ). */
const SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** The public key record for a private key: SPKI for RSA, the raw 32 octets for Ed25519 (RFC 8463 section 4.2). */
export function publicRecord(key: KeyObject): { algorithm: DkimAlgorithm; record: string } {
  const pub = createPublicKey(key);
  const spki = pub.export({ type: 'spki', format: 'der' });
  if (key.asymmetricKeyType === 'ed25519')
    return {
      algorithm: 'ed25519',
      record: `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`,
    };
  if (key.asymmetricKeyType === 'rsa')
    return { algorithm: 'rsa', record: `v=DKIM1; k=rsa; p=${spki.toString('base64')}` };
  throw new PetrelError('INVALID_ARGUMENT', `unsupported DKIM key type ${key.asymmetricKeyType}`);
}

export class DkimKeyring {
  readonly dir: string;
  private cache = new Map<string, { at: number; keys: DkimKey[] }>();
  /** How long a domain's key list is reused before the directory is read again (keys added by the CLI). */
  private readonly ttlMs: number;

  constructor(dir: string, opts: { ttlMs?: number } = {}) {
    this.dir = dir;
    this.ttlMs = opts.ttlMs ?? 60_000;
  }

  private domainDir(domain: string): string {
    return join(this.dir, normaliseDomain(domain));
  }

  /** Makes a new key; refuses to replace an existing selector unless `replace`. */
  generate(domain: string, opts: { algorithm: DkimAlgorithm; selector: string; replace?: boolean }): DkimKey {
    const d = normaliseDomain(domain);
    const selector = opts.selector.toLowerCase();
    if (!SELECTOR.test(selector)) throw new PetrelError('INVALID_ARGUMENT', `not a valid DKIM selector: ${selector}`);
    const dir = this.domainDir(d);
    const file = join(dir, `${selector}.pem`);
    if (existsSync(file) && !opts.replace)
      throw new PetrelError('ALREADY_EXISTS', `${d} already has a DKIM key with selector ${selector}`);
    // RSA 2048 bits: RFC 8301 section 3.2 wants at least 1024 and recommends 2048.
    const { privateKey } =
      opts.algorithm === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(file, pem, { mode: 0o600 });
    chmodSync(file, 0o600);
    this.cache.delete(d);
    return this.read(d, selector, file);
  }

  /** Makes the domain's first key when it has none (domain add, init, first start); returns whether it did. */
  ensure(domain: string, opts: { algorithm: DkimAlgorithm; selector: string }): boolean {
    if (this.list(domain).length > 0) return false;
    this.generate(domain, opts);
    return true;
  }

  private read(domain: string, selector: string, file: string): DkimKey {
    const privateKey = readFileSync(file, 'utf8');
    const { algorithm, record } = publicRecord(createPrivateKey(privateKey));
    return { domain, selector, algorithm, privateKey, record, createdAt: statSync(file).mtimeMs };
  }

  /** Every key of a domain, oldest first ([] when it has none). */
  list(domain: string): DkimKey[] {
    const d = normaliseDomain(domain);
    const dir = this.domainDir(d);
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
      .filter((f) => f.endsWith('.pem'))
      .map((f) => this.read(d, f.slice(0, -4), join(dir, f)))
      .sort((a, b) => a.createdAt - b.createdAt || a.selector.localeCompare(b.selector));
  }

  /** Keys to sign with for a domain, cached for a short while (the signer asks for every message). */
  signingKeys(domain: string, now = Date.now()): DkimKey[] {
    let d: string;
    try {
      d = normaliseDomain(domain);
    } catch {
      return [];
    }
    const hit = this.cache.get(d);
    if (hit && now - hit.at < this.ttlMs) return hit.keys;
    const keys = this.list(d);
    this.cache.set(d, { at: now, keys });
    return keys;
  }

  remove(domain: string, selector: string): void {
    const d = normaliseDomain(domain);
    const file = join(this.domainDir(d), `${selector.toLowerCase()}.pem`);
    if (!existsSync(file)) throw new PetrelError('NOT_FOUND', `${d} has no DKIM key with selector ${selector}`);
    rmSync(file);
    this.cache.delete(d);
  }
}
