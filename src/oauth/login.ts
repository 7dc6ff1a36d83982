// Signing in to the web (the OpenID Provider's login page and the /account pages): the account password,
// then, when the account has two-factor on, a TOTP or recovery code. The state between the two steps is a
// short-lived record in the oauth sub-store, so any node may receive the second step.
import type { Account } from '../core/model.ts';
import type { OAuthStore } from '../core/oauth-port.ts';
import type { DirectoryService } from '../directory/service.ts';
import type { TwoFactor } from './two-factor.ts';

const PENDING = 'PetrelPendingLogin';
const PENDING_TTL_MS = 10 * 60_000;
/** Wrong second-factor answers before the password must be given again. */
const MAX_CODE_TRIES = 5;

export type SecondFactorResult = { accountId: number; method: 'totp' | 'recovery' } | 'wrong' | 'expired' | 'locked';

/** A second-factor check of a known account: the method that passed, a wrong code, or a lockout (not checked). */
export type CodeResult = 'totp' | 'recovery' | 'wrong' | 'locked';

/**
 * The brute-force limiter the mail protocols use (src/auth/limiter.ts), shared so that the web form is no
 * way around a lockout: failures count per IP and per account, replies are delayed, lockouts refuse.
 */
export interface SignInLimiter {
  locked(ip: string, username: string | null, passwordBased: boolean): string | null;
  failure(ip: string, username: string | null): void;
  success(ip: string, username: string): void;
  delay(ip: string): number;
}

export class Login {
  private readonly directory: DirectoryService;
  private readonly twoFactor: TwoFactor;
  private readonly store: OAuthStore;
  private readonly now: () => number;
  private readonly limiter: () => SignInLimiter | undefined;

  constructor(deps: {
    directory: DirectoryService;
    twoFactor: TwoFactor;
    store: OAuthStore;
    limiter?: () => SignInLimiter | undefined;
    now?: () => number;
  }) {
    this.limiter = deps.limiter ?? (() => undefined);
    this.directory = deps.directory;
    this.twoFactor = deps.twoFactor;
    this.store = deps.store;
    this.now = deps.now ?? Date.now;
  }

  /**
   * Step one: the password. Null when wrong (or the account is disabled), 'locked' during a lockout. With
   * two-factor on, the sign-in has not succeeded yet: the IP becomes known-good for the account (past its
   * lockout) only once the second factor passes (code, secondFactor).
   */
  async password(
    username: string,
    password: string,
    ip: string,
  ): Promise<{ account: Account; needsSecondFactor: boolean } | null | 'locked'> {
    const user = username.trim().toLowerCase().slice(0, 320);
    const limiter = this.limiter();
    if (limiter?.locked(ip, user || null, true)) return 'locked';
    const account =
      user && password && password.length <= 1024 ? await this.directory.authenticate(user, password) : null;
    if (!account) {
      await this.failed(ip, user || null);
      return null;
    }
    const needsSecondFactor = (await this.twoFactor.status(account.id)).enabled;
    if (!needsSecondFactor) limiter?.success(ip, account.address);
    return { account, needsSecondFactor };
  }

  /**
   * A TOTP or recovery code of this account, given at sign-in after the password or by a signed-in session
   * re-proving the factor (/account/2fa/disable, /recovery-codes). A wrong code is a failed sign-in like a
   * wrong password: counted for the IP and for the account, so guesses from many IPs lock the account as
   * password guesses do; during a lockout the code is not even checked.
   */
  async code(account: { id: number; address: string }, code: string, ip: string): Promise<CodeResult> {
    const limiter = this.limiter();
    if (limiter?.locked(ip, account.address, true)) return 'locked';
    const method = code.trim() ? await this.twoFactor.verify(account.id, code.trim()) : null;
    if (!method) {
      await this.failed(ip, account.address);
      return 'wrong';
    }
    limiter?.success(ip, account.address);
    return method;
  }

  /** Counts a failure and waits the limiter's delay before the reply. */
  async failed(ip: string, username: string | null): Promise<void> {
    const limiter = this.limiter();
    if (!limiter) return;
    limiter.failure(ip, username);
    await new Promise((r) => setTimeout(r, limiter.delay(ip)));
  }

  /** Remembers, under `key` (an interaction id), that this account passed step one. */
  async awaitSecondFactor(key: string, account: { id: number; address: string }): Promise<void> {
    await this.store.upsertModel({
      kind: PENDING,
      id: key,
      payload: JSON.stringify({ accountId: account.id, address: account.address, tries: 0 }),
      grantId: null,
      userCode: null,
      uid: null,
      expiresAt: this.now() + PENDING_TTL_MS,
    });
  }

  /** Step two for the login waiting under `key`. */
  async secondFactor(key: string, code: string, ip: string): Promise<SecondFactorResult> {
    const m = await this.store.findModel(PENDING, key, this.now());
    if (!m) return 'expired';
    // `address` is absent from a record an older node wrote (then the failure counts for the IP only).
    const p = JSON.parse(m.payload) as { accountId: number; address?: string; tries: number };
    const r = await this.code({ id: p.accountId, address: p.address ?? '' }, code, ip);
    if (r === 'locked') return 'locked';
    if (r !== 'wrong') {
      await this.store.destroyModel(PENDING, key);
      return { accountId: p.accountId, method: r };
    }
    if (p.tries + 1 >= MAX_CODE_TRIES) {
      await this.store.destroyModel(PENDING, key);
      return 'expired';
    }
    await this.store.upsertModel({ ...m, payload: JSON.stringify({ ...p, tries: p.tries + 1 }) });
    return 'wrong';
  }
}
