// The keys sub-store's contract: key material every node of a cluster must share, kept in the store rather
// than in one node's data directory. DKIM signing keys (a node without the domain's key would send its mail
// unsigned, or signed with a key no DNS record names) and ACME state (one account, one certificate for all
// nodes instead of one issuance per node against the CA's duplicate-certificate limits, and challenge answers
// that whichever node the CA reaches can give).

export interface StoredDkimKey {
  domain: string;
  selector: string;
  /** PEM (PKCS#8). */
  privateKey: string;
  createdAt: number;
}

export interface AcmeEntry {
  name: string;
  value: string;
  updatedAt: number;
}

export interface KeyStore {
  /** A domain's DKIM keys, oldest first. */
  dkimKeys(domain: string): Promise<StoredDkimKey[]>;
  /** Stores a key; false (nothing written) when the selector exists and `replace` is not set. */
  putDkimKey(key: StoredDkimKey, replace: boolean): Promise<boolean>;
  /** False when there was no such key. */
  removeDkimKey(domain: string, selector: string): Promise<boolean>;
  /**
   * ACME state by name: `account-key`, `account-url`, `cert:<primary name>` (JSON {cert, key}),
   * `http-01:<token>`, `tls-alpn-01:<identifier>` (JSON {cert, key}).
   */
  getAcme(name: string): Promise<AcmeEntry | null>;
  listAcme(prefix: string): Promise<AcmeEntry[]>;
  putAcme(name: string, value: string, updatedAt: number): Promise<void>;
  /** Removes one entry, or with `olderThan` every entry under the prefix `name` not updated since then. */
  deleteAcme(name: string, olderThan?: number): Promise<number>;
}
