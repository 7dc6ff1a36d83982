// The second factor of an account: TOTP enrolment (secret, otpauth URI, QR code, first code confirms),
// recovery codes (shown once, stored hashed, each used once), disabling, and checking a code at login.
// Turning it on ends the sign-ins the password alone had made (mail sessions, web sessions, tokens).
import QRCode from 'qrcode';
import {
  hashRecoveryCode,
  looksLikeRecoveryCode,
  newRecoveryCodes,
  newTotpSecret,
  totpStep,
  totpUri,
} from '../auth/totp.ts';
import type { AuthStore } from '../core/auth-port.ts';
import { PetrelError } from '../core/errors.ts';
import type { OAuthStore } from '../core/oauth-port.ts';

export interface TwoFactorStatus {
  enabled: boolean;
  /** A secret was issued and awaits its first code. */
  pending: boolean;
  recoveryCodesLeft: number;
}

export interface Enrolment {
  secret: string;
  uri: string;
  /** The URI as a QR code, an SVG document. */
  qrSvg: string;
}

/** A stored web session (an oauth model) that turning two-factor on leaves alone: the one that asked. */
export interface KeptSession {
  kind: string;
  id: string;
}

export class TwoFactor {
  private readonly auth: AuthStore;
  private readonly oauth: OAuthStore;
  private readonly issuer: string;
  private readonly now: () => number;
  private readonly accountChanged: (accountId: number) => void;

  constructor(deps: {
    auth: AuthStore;
    oauth: OAuthStore;
    issuer: string;
    now?: () => number;
    /** DirectoryService.accountChanged: the account's IMAP, POP3 and SMTP sessions ask whether they may go on. */
    accountChanged?: (accountId: number) => void;
  }) {
    this.auth = deps.auth;
    this.oauth = deps.oauth;
    this.issuer = deps.issuer;
    this.now = deps.now ?? Date.now;
    this.accountChanged = deps.accountChanged ?? (() => {});
  }

  async status(accountId: number): Promise<TwoFactorStatus> {
    const s = await this.auth.getSecrets(accountId);
    return {
      enabled: s.totpEnabled,
      pending: !!s.totpSecret && !s.totpEnabled,
      recoveryCodesLeft: s.totpEnabled ? s.recoveryCodes.length : 0,
    };
  }

  /** Issues a new (not yet active) secret; refused while a second factor is on (disable it first). */
  async begin(accountId: number, label: string): Promise<Enrolment> {
    if ((await this.auth.getSecrets(accountId)).totpEnabled)
      throw new PetrelError('CONFLICT', 'two-factor authentication is already on; disable it first');
    const secret = newTotpSecret();
    await this.auth.setTotp(accountId, { secret, enabled: false, recoveryCodes: [] });
    const uri = totpUri(secret, this.issuer, label);
    return { secret, uri, qrSvg: await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M' }) };
  }

  /**
   * Turns the pending secret on when `code` is its current code; returns the recovery codes, in clear for
   * the only time. Null when the code is wrong (or no enrolment is pending). `keep`: the web session asking.
   */
  async confirm(accountId: number, code: string, keep?: KeptSession): Promise<string[] | null> {
    const s = await this.auth.getSecrets(accountId);
    if (!s.totpSecret || s.totpEnabled) return null;
    const step = totpStep(s.totpSecret, code, this.now());
    if (step === null || !(await this.oauth.claimTotpStep(accountId, step))) return null;
    const codes = newRecoveryCodes();
    await this.auth.setTotp(accountId, {
      secret: s.totpSecret,
      enabled: true,
      recoveryCodes: codes.map(hashRecoveryCode),
    });
    await this.endPasswordOnlySignIns(accountId, keep);
    return codes;
  }

  /** Admin enrolment (CLI): on at once, nothing to confirm; the secret and codes go to the admin. */
  async enableNow(accountId: number, label: string): Promise<Enrolment & { recoveryCodes: string[] }> {
    const e = await this.begin(accountId, label);
    const codes = newRecoveryCodes();
    await this.auth.setTotp(accountId, { secret: e.secret, enabled: true, recoveryCodes: codes.map(hashRecoveryCode) });
    await this.endPasswordOnlySignIns(accountId);
    return { ...e, recoveryCodes: codes };
  }

  /**
   * Once the second factor is on, the password alone signs in nowhere (IMAP, SMTP and POP3 take app passwords
   * and tokens only; the web asks for a code): what it signed in before ends too, or a password thief who
   * got in first would stay in. Every web sign-in session, grant and token of the account was made without
   * a code (it had none), so all go, but `keep`, the session that turned it on and has just proved the code,
   * as a new password revokes them (DirectoryService.setPassword). The mail sessions made with the password
   * or with a revoked token then end (AuthService.stillSignedIn); app-password sessions go on.
   */
  private async endPasswordOnlySignIns(accountId: number, keep?: KeptSession): Promise<void> {
    await this.oauth.revokeAccount(accountId, keep);
    this.accountChanged(accountId);
  }

  /** Nothing signed in ends: every sign-in made with the factor on stays good without it. */
  async disable(accountId: number): Promise<void> {
    await this.auth.setTotp(accountId, { secret: null, enabled: false, recoveryCodes: [] });
  }

  /**
   * New recovery codes replacing the old ones (second factor on). Nothing signed in ends: the factor itself
   * is the same (a session made with an old recovery code was a full sign-in when it was made).
   */
  async regenerateRecoveryCodes(accountId: number): Promise<string[]> {
    const s = await this.auth.getSecrets(accountId);
    if (!s.totpEnabled || !s.totpSecret) throw new PetrelError('CONFLICT', 'two-factor authentication is off');
    const codes = newRecoveryCodes();
    await this.auth.setTotp(accountId, {
      secret: s.totpSecret,
      enabled: true,
      recoveryCodes: codes.map(hashRecoveryCode),
    });
    return codes;
  }

  /**
   * Checks a second-factor answer at login: a current TOTP code not used before (RFC 6238 section 5.2), or
   * an unused recovery code (which is then spent). Says which one worked, or null.
   */
  async verify(accountId: number, code: string): Promise<'totp' | 'recovery' | null> {
    const s = await this.auth.getSecrets(accountId);
    if (!s.totpEnabled || !s.totpSecret) return null;
    if (looksLikeRecoveryCode(code))
      return (await this.auth.useRecoveryCode(accountId, hashRecoveryCode(code))) ? 'recovery' : null;
    const step = totpStep(s.totpSecret, code, this.now());
    if (step === null) return null;
    return (await this.oauth.claimTotpStep(accountId, step)) ? 'totp' : null;
  }
}
