// DKIM signing keys per domain and selector, kept in the store (table dkim_keys) so every node of a cluster
// signs with the same keys: generated here, read by the signer, published as TXT records. Key files that
// earlier versions (and `petrel init`, which runs before any store exists) left under
// <data_dir>/dkim/<domain>/<selector>.pem are imported at open. Private keys never reach a log.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { isPetrelError, PetrelError } from '../core/errors.ts';
import type { KeyStore, StoredDkimKey } from '../core/key-port.ts';
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

/** Makes a private key (PEM, PKCS#8). RSA 2048 bits: RFC 8301 section 3.2 wants at least 1024 and recommends 2048. */
function newPrivateKey(algorithm: DkimAlgorithm): string {
  const { privateKey } =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

function checkSelector(selector: string): string {
  const s = selector.toLowerCase();
  if (!SELECTOR.test(s)) throw new PetrelError('INVALID_ARGUMENT', `not a valid DKIM selector: ${s}`);
  return s;
}

function fromStored(k: StoredDkimKey): DkimKey {
  const { algorithm, record } = publicRecord(createPrivateKey(k.privateKey));
  return {
    domain: k.domain,
    selector: k.selector,
    algorithm,
    privateKey: k.privateKey,
    record,
    createdAt: k.createdAt,
  };
}

/**
 * A key file as `petrel init` writes it, where it looks for the domain's first key before a store exists
 * (`<dir>/<domain>/<selector>.pem`); `serve` imports it into the store at its first start.
 */
export function writeKeyFile(
  dir: string,
  domain: string,
  opts: { algorithm: DkimAlgorithm; selector: string },
): DkimKey {
  const d = normaliseDomain(domain);
  const selector = checkSelector(opts.selector);
  const file = join(dir, d, `${selector}.pem`);
  if (!existsSync(file)) {
    mkdirSync(join(dir, d), { recursive: true, mode: 0o700 });
    writeFileSync(file, newPrivateKey(opts.algorithm), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return fromStored({ domain: d, selector, privateKey: readFileSync(file, 'utf8'), createdAt: statSync(file).mtimeMs });
}

export interface ImportReport {
  imported: string[];
  /**
   * Files whose selector the store already holds with another key (the store's is kept), as they are now:
   * renamed `.pem.unused`, or where they were when they cannot be renamed.
   */
  conflicting: string[];
}

export class DkimKeyring {
  /** <data_dir>/dkim: where key files of earlier versions and of `petrel init` are imported from. */
  readonly dir: string;
  private readonly store: KeyStore;
  private cache = new Map<string, { at: number; keys: DkimKey[] }>();
  /** How long a domain's key list is reused before the store is read again (keys added by the CLI or another node). */
  private readonly ttlMs: number;

  constructor(store: KeyStore, dir: string, opts: { ttlMs?: number } = {}) {
    this.store = store;
    this.dir = dir;
    this.ttlMs = opts.ttlMs ?? 60_000;
  }

  /**
   * Moves key files into the store: each `<domain>/<selector>.pem` the store lacks is stored, and every file
   * the store now holds is renamed `.pem.imported` (kept as a copy, no longer read), so a key removed later
   * does not come back at the next start; one whose selector the store holds with another key is renamed
   * `.pem.unused`, for the same reason. A file that cannot be renamed (a read-only mount) is offered again
   * at each start and stored only while its selector is free.
   */
  async importFiles(now = Date.now()): Promise<ImportReport> {
    const report: ImportReport = { imported: [], conflicting: [] };
    if (!existsSync(this.dir)) return report;
    for (const name of readdirSync(this.dir)) {
      let domain: string;
      try {
        domain = normaliseDomain(name);
      } catch {
        continue;
      }
      const sub = join(this.dir, name);
      if (!statSync(sub).isDirectory()) continue;
      for (const f of readdirSync(sub).filter((x) => x.endsWith('.pem'))) {
        const file = join(sub, f);
        const selector = f.slice(0, -4).toLowerCase();
        if (!SELECTOR.test(selector)) continue;
        let privateKey: string;
        try {
          privateKey = readFileSync(file, 'utf8');
          createPrivateKey(privateKey);
        } catch {
          continue; // Not a key this server could sign with; left where it is.
        }
        const createdAt = Math.floor(Math.min(statSync(file).mtimeMs, now));
        const stored = await this.store.putDkimKey({ domain, selector, privateKey, createdAt }, false);
        if (stored) report.imported.push(`${domain}/${selector}`);
        // Another key holding the selector (each node ran its own `petrel init`): this file is set aside
        // too, or it would take the selector, unannounced, the day that key is removed.
        const held = stored ? null : (await this.store.dkimKeys(domain)).find((k) => k.selector === selector);
        const conflicting = !!held && held.privateKey.trim() !== privateKey.trim();
        const aside = `${file}.${conflicting ? 'unused' : 'imported'}`;
        let renamed = true;
        try {
          renameSync(file, aside);
        } catch {
          renamed = false; // Read-only (a mounted Secret): stays where it is, harmlessly offered again.
        }
        if (conflicting) report.conflicting.push(renamed ? aside : file);
      }
    }
    if (report.imported.length) this.cache.clear();
    return report;
  }

  /** Makes a new key; refuses to replace an existing selector unless `replace`. */
  async generate(
    domain: string,
    opts: { algorithm: DkimAlgorithm; selector: string; replace?: boolean },
  ): Promise<DkimKey> {
    const d = normaliseDomain(domain);
    const selector = checkSelector(opts.selector);
    const stored = { domain: d, selector, privateKey: newPrivateKey(opts.algorithm), createdAt: Date.now() };
    if (!(await this.store.putDkimKey(stored, !!opts.replace)))
      throw new PetrelError('ALREADY_EXISTS', `${d} already has a DKIM key with selector ${selector}`);
    this.cache.delete(d);
    return fromStored(stored);
  }

  /** Makes the domain's first key when it has none (domain add, first start); returns whether it did. */
  async ensure(domain: string, opts: { algorithm: DkimAlgorithm; selector: string }): Promise<boolean> {
    if ((await this.list(domain)).length > 0) return false;
    try {
      await this.generate(domain, opts);
    } catch (e) {
      // Another node made it at the same moment: the domain has its key.
      if (isPetrelError(e, 'ALREADY_EXISTS')) return false;
      throw e;
    }
    return true;
  }

  /** Every key of a domain, oldest first ([] when it has none). */
  async list(domain: string): Promise<DkimKey[]> {
    return (await this.store.dkimKeys(normaliseDomain(domain))).map(fromStored);
  }

  /** Keys to sign with for a domain, cached for a short while (the signer asks for every message). */
  async signingKeys(domain: string, now = Date.now()): Promise<DkimKey[]> {
    let d: string;
    try {
      d = normaliseDomain(domain);
    } catch {
      return [];
    }
    const hit = this.cache.get(d);
    if (hit && now - hit.at < this.ttlMs) return hit.keys;
    const keys = await this.list(d);
    this.cache.set(d, { at: now, keys });
    return keys;
  }

  async remove(domain: string, selector: string): Promise<void> {
    const d = normaliseDomain(domain);
    if (!(await this.store.removeDkimKey(d, selector.toLowerCase())))
      throw new PetrelError('NOT_FOUND', `${d} has no DKIM key with selector ${selector}`);
    this.cache.delete(d);
  }
}
