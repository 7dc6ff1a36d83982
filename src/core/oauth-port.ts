// The oauth sub-store's port: the OpenID Provider's persisted models, its generated secrets, TOTP replay marks.
// Payloads hold tokens and grants; secrets hold signing and cookie keys: never log these values.

/** One stored model of the OpenID Provider (session, grant, code, token, interaction...), JSON payload. */
export interface OAuthModel {
  /** The model's kind as oidc-provider names it (e.g. "AccessToken", "Session"). */
  kind: string;
  id: string;
  /** JSON text of the model's payload. */
  payload: string;
  grantId: string | null;
  userCode: string | null;
  uid: string | null;
  /** Epoch milliseconds; null never expires. */
  expiresAt: number | null;
  /** Epoch milliseconds at which a one-time model (code, refresh token) was used; null if unused. */
  consumedAt: number | null;
}

export interface OAuthStore {
  /** Inserts or replaces the model (kind, id). */
  upsertModel(m: Omit<OAuthModel, 'consumedAt'>): Promise<void>;
  /** The model, unless absent or expired at `now` (epoch ms). */
  findModel(kind: string, id: string, now: number): Promise<OAuthModel | undefined>;
  findModelByUserCode(kind: string, userCode: string, now: number): Promise<OAuthModel | undefined>;
  findModelByUid(kind: string, uid: string, now: number): Promise<OAuthModel | undefined>;
  /**
   * Marks a one-time model (code, refresh token) used at `at`; false when it was already used (or is absent):
   * of concurrent calls for one model, exactly one gets true.
   */
  consumeModel(kind: string, id: string, at: number): Promise<boolean>;
  destroyModel(kind: string, id: string): Promise<void>;
  /** Removes every model issued under this grant (tokens, codes); returns how many. */
  revokeGrant(grantId: string): Promise<number>;
  /**
   * Removes every model of this account (sessions, grants, codes, tokens, our own /account sessions and
   * pending logins: those whose payload names it as `accountId`), but `keep` (the session asking); returns
   * how many.
   */
  revokeAccount(accountId: number, keep?: { kind: string; id: string }): Promise<number>;
  /** Removes models expired before `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
  /**
   * The secret stored under `name`, storing `candidate` first when there is none. Several nodes starting
   * together all get the one value that won. Also holds keys other parts share between nodes ("srs").
   */
  ensureSecret(name: string, candidate: string): Promise<string>;
  /**
   * Records that the account's TOTP code of time step `step` was accepted; false when this step or a later
   * one already was (RFC 6238 section 5.2: a code is accepted once).
   */
  claimTotpStep(accountId: number, step: number): Promise<boolean>;
}
