// Signing in to the web (the OpenID Provider's login page and the /account pages): the account password,
// then, when the account has two-factor on, a TOTP or recovery code. The state between the two steps is a
// short-lived record in the oauth sub-store, so any node may receive the second step.
import { randomBytes } from 'node:crypto';
import { accountKey } from '../auth/limiter.ts';
import type { Account } from '../core/model.ts';
import type { OAuthStore } from '../core/oauth-port.ts';
import type { DirectoryService } from '../directory/service.ts';
import { clientKey } from '../net/connection.ts';
import type { Logger } from '../telemetry/log.ts';
import { type Repeats, repeatedWarning } from '../telemetry/repeats.ts';
import type { TwoFactor } from './two-factor.ts';

const PENDING = 'PetrelPendingLogin';
/** One second-factor answer a pending login may still take: a one-time record, claimed before a code is judged. */
const TRY = 'PetrelPendingTry';
const PENDING_TTL_MS = 10 * 60_000;
/** Second-factor answers a pending login takes; after as many wrong ones the password must be given again. */
const MAX_CODE_TRIES = 5;

export type SecondFactorResult = { accountId: number; method: 'totp' | 'recovery' } | 'wrong' | 'expired' | 'locked';

/** A second-factor check of a known account: the method that passed, a wrong code, or a lockout (not checked). */
export type CodeResult = 'totp' | 'recovery' | 'wrong' | 'locked';

/** Where a sign-in attempt comes from: the client's address, and which page (named in the security log). */
export interface Attempt {
  ip: string;
  via: string;
}

/**
 * The brute-force limiter the mail protocols use (src/auth/limiter.ts), shared so that the web form is no
 * way around a lockout: failures count per IP and per account, replies are delayed, lockouts refuse.
 */
export interface SignInLimiter {
  locked(ip: string, username: string | null, passwordBased: boolean): 'ip' | 'account' | null;
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
  private readonly log: Logger;
  /** Refusals during a lockout cost a client nothing to repeat: the first is logged, the rest counted. */
  private readonly lockedOut: Repeats;

  constructor(deps: {
    directory: DirectoryService;
    twoFactor: TwoFactor;
    store: OAuthStore;
    log: Logger;
    limiter?: () => SignInLimiter | undefined;
    now?: () => number;
  }) {
    this.limiter = deps.limiter ?? (() => undefined);
    this.log = deps.log;
    this.lockedOut = repeatedWarning(deps.log, 'web sign-in refused: locked out');
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
    from: Attempt,
  ): Promise<{ account: Account; needsSecondFactor: boolean } | null | 'locked'> {
    const user = username.trim().toLowerCase().slice(0, 320);
    if (this.isLocked(from, user)) return 'locked';
    const account =
      user && password && password.length <= 1024 ? await this.directory.authenticate(user, password) : null;
    // Checked again now that the password was: requests sent together all passed the first check before any
    // was counted, and those answered past the limit must not tell a right guess from a wrong one.
    if (this.isLocked(from, user)) return 'locked';
    if (!account) {
      await this.failed(from, user, 'password');
      return null;
    }
    const needsSecondFactor = (await this.twoFactor.status(account.id)).enabled;
    if (!needsSecondFactor) this.limiter()?.success(from.ip, account.address);
    return { account, needsSecondFactor };
  }

  /**
   * A TOTP or recovery code of this account, given at sign-in after the password or by a signed-in session
   * re-proving the factor (/account/2fa/disable, /recovery-codes). A wrong code is a failed sign-in like a
   * wrong password: counted for the IP and for the account, so guesses from many IPs lock the account as
   * password guesses do; during a lockout the code is not even checked.
   */
  async code(account: { id: number; address: string }, code: string, from: Attempt): Promise<CodeResult> {
    if (this.isLocked(from, account.address)) return 'locked';
    const method = code.trim() ? await this.twoFactor.verify(account.id, code.trim()) : null;
    // As for passwords: codes sent together are answered by the lockout they caused, right or wrong.
    if (this.isLocked(from, account.address)) return 'locked';
    if (!method) {
      await this.failed(from, account.address, 'second-factor');
      return 'wrong';
    }
    this.limiter()?.success(from.ip, account.address);
    return method;
  }

  /**
   * Whether the limiter refuses this attempt unchecked; a refusal is a security event, logged as the mail
   * protocols log theirs (auth/service.ts): "auth_locked" with IP, user name and reason.
   */
  private isLocked(from: Attempt, user: string): boolean {
    const reason = this.limiter()?.locked(from.ip, user || null, true);
    if (!reason) return false;
    this.lockedOut.hit(`${from.via} ${clientKey(from.ip)} ${reason === 'account' ? accountKey(user) : ''}`, {
      event: 'auth_locked',
      via: from.via,
      ip: from.ip,
      user: user.slice(0, 100),
      reason,
    });
    return true;
  }

  /** Logs the refusals still counted (at shutdown). */
  close(): void {
    this.lockedOut.stop();
  }

  /**
   * A failed sign-in: logged ("auth_failure" with IP, user name and what was wrong; never the secret),
   * counted, and answered after the limiter's delay.
   */
  private async failed(from: Attempt, user: string, mechanism: 'password' | 'second-factor'): Promise<void> {
    this.log.warn(
      { event: 'auth_failure', via: from.via, ip: from.ip, user: user.slice(0, 100), mechanism },
      'web sign-in refused',
    );
    const limiter = this.limiter();
    if (!limiter) return;
    limiter.failure(from.ip, user || null);
    await new Promise((r) => setTimeout(r, limiter.delay(from.ip)));
  }

  /**
   * Remembers, under `key` (an interaction id), that this account passed step one, with its tries: one
   * record each, named after this round (`round`), so a password given again on the same interaction starts
   * with fresh ones (the old round's expire with it).
   */
  async awaitSecondFactor(key: string, account: { id: number; address: string }): Promise<void> {
    const round = randomBytes(9).toString('base64url');
    const model = { grantId: null, userCode: null, uid: null, expiresAt: this.now() + PENDING_TTL_MS };
    for (let i = 0; i < MAX_CODE_TRIES; i++)
      await this.store.upsertModel({ ...model, kind: TRY, id: tryId(key, round, i), payload: '{}' });
    await this.store.upsertModel({
      ...model,
      kind: PENDING,
      id: key,
      payload: JSON.stringify({ accountId: account.id, address: account.address, round }),
    });
  }

  /**
   * Step two for the login waiting under `key`. Each answer first claims one of the login's tries in the
   * store (a one-time record, used by a conditional update): answers sent together, to one node or several,
   * cannot all be judged against one count read before any was written. The answer that claims the last try
   * ends the login, right or wrong; one that finds none left is not judged. A lockout answer spends its try.
   */
  async secondFactor(key: string, code: string, from: Attempt): Promise<SecondFactorResult> {
    const m = await this.store.findModel(PENDING, key, this.now());
    if (!m) return 'expired';
    // `address` is absent from a record an older node wrote (then the failure counts for the IP only); so is
    // `round`: such a login has no tries recorded here and must be signed in again.
    const p = JSON.parse(m.payload) as { accountId: number; address?: string; round?: string };
    const tries = p.round ? await this.claimTry(key, p.round) : null;
    if (tries === null) {
      await this.store.destroyModel(PENDING, key);
      return 'expired';
    }
    const r = await this.code({ id: p.accountId, address: p.address ?? '' }, code, from);
    if (r === 'locked') return 'locked';
    if (r !== 'wrong') {
      await this.store.destroyModel(PENDING, key);
      return { accountId: p.accountId, method: r };
    }
    if (tries === MAX_CODE_TRIES) {
      await this.store.destroyModel(PENDING, key);
      return 'expired';
    }
    return 'wrong';
  }

  /** Claims the next unused try of this round: how many are used with it (1 to MAX_CODE_TRIES), or null. */
  private async claimTry(key: string, round: string): Promise<number | null> {
    for (let i = 0; i < MAX_CODE_TRIES; i++)
      if (await this.store.consumeModel(TRY, tryId(key, round, i), this.now())) return i + 1;
    return null;
  }
}

const tryId = (key: string, round: string, i: number) => `${key}.${round}.${i}`;
