// The auth sub-store's port: app passwords, SCRAM secrets, TOTP second factor, recovery codes.
// Everything here is a secret or derived from one: never log these values.

/** A per-device password: named, revocable, optionally limited to some protocols. */
export interface AppPassword {
  id: number;
  accountId: number;
  name: string;
  /** e.g. ['imap', 'smtp']; null means every mail protocol. */
  protocols: string[] | null;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AccountSecrets {
  /** SCRAM-SHA-256 verifier "iterations:salt:storedKey:serverKey" (base64 parts; RFC 5802, RFC 7677). */
  scramSha256: string | null;
  /** TOTP shared secret (base32, RFC 6238), set at enrolment; `totpEnabled` once the first code verified. */
  totpSecret: string | null;
  totpEnabled: boolean;
  /** SHA-256 (hex) of each unused recovery code. */
  recoveryCodes: string[];
}

export interface AuthStore {
  /** `hash` is the SHA-256 (hex) of the generated password (high-entropy random, so no slow hash needed). */
  createAppPassword(p: {
    accountId: number;
    name: string;
    hash: string;
    protocols: string[] | null;
  }): Promise<AppPassword>;
  listAppPasswords(accountId: number): Promise<AppPassword[]>;
  /** The app password with this hash, if any. */
  findAppPassword(hash: string): Promise<AppPassword | undefined>;
  deleteAppPassword(accountId: number, id: number): Promise<boolean>;
  touchAppPassword(id: number, at: number): Promise<void>;
  getSecrets(accountId: number): Promise<AccountSecrets>;
  setScram(accountId: number, verifier: string | null): Promise<void>;
  /** Sets (or with secret null, removes) the second factor and replaces the recovery codes. */
  setTotp(accountId: number, t: { secret: string | null; enabled: boolean; recoveryCodes: string[] }): Promise<void>;
  /** Consumes one recovery code (by hash); false when it is not (or no longer) valid. */
  useRecoveryCode(accountId: number, codeHash: string): Promise<boolean>;
}

/**
 * Verifies an OAuth 2.0 bearer token (Petrel's own or a configured external IdP's): whose it is, or null.
 * `grantId`: the grant a token of our own provider was issued under (the session ends once it is revoked).
 */
export type BearerVerifier = (token: string) => Promise<{ accountId: number; scope?: string; grantId?: string } | null>;
