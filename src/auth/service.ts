// The one place sign-ins are decided for IMAP, SMTP and POP3: account passwords (refused for mail
// protocols once two-factor authentication is on), app passwords (per device, revocable, optionally
// limited to protocols), SCRAM verifiers, bearer tokens, the brute-force limiter and the security log.
import { createHash, randomInt } from 'node:crypto';
import type { BearerVerifier } from '../core/auth-port.ts';
import { PetrelError } from '../core/errors.ts';
import type { Account } from '../core/model.ts';
import type { Store } from '../core/ports.ts';
import type { DirectoryService } from '../directory/service.ts';
import { clientKey } from '../net/connection.ts';
import type { Logger } from '../telemetry/log.ts';
import { type Repeats, repeatedWarning } from '../telemetry/repeats.ts';
import { type AuthLimiter, accountKey } from './limiter.ts';
import { verifyPassword } from './password.ts';
import { scramVerifier } from './sasl/scram.ts';
import { type Authenticator, type MailProtocol, SaslError, type SaslPeer, type SaslSuccess } from './sasl/types.ts';

export const APP_PASSWORD_PROTOCOLS: readonly MailProtocol[] = ['imap', 'smtp', 'pop3'];

const sha256hex = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** 20 symbols of a 32-letter alphabet (100 bits) in groups of four, easy to type on a phone. */
function generateAppPassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789'; // no i, l, o, 0, 1
  let out = '';
  for (let i = 0; i < 20; i++) {
    if (i > 0 && i % 4 === 0) out += '-';
    out += alphabet[randomInt(alphabet.length)];
  }
  return out;
}

export interface AuthServiceDeps {
  store: Store;
  directory: DirectoryService;
  /** Read at each use: the OAuth provider is wired after this service. */
  bearer: () => BearerVerifier;
  limiter: AuthLimiter;
  log: Logger;
  secret: Buffer;
  /** oauth.mail_scope. */
  mailScope: string;
}

export class AuthService implements Authenticator {
  readonly secret: Buffer;
  readonly mailScope: string;
  private readonly d: AuthServiceDeps;
  private readonly lockedOut: Repeats;

  constructor(deps: AuthServiceDeps) {
    this.d = deps;
    this.lockedOut = repeatedWarning(deps.log, 'sign-in refused: locked out');
    this.secret = deps.secret;
    this.mailScope = deps.mailScope;
  }

  /** Logs the refusals still counted (at shutdown). */
  close(): void {
    this.lockedOut.stop();
  }

  private async account(username: string): Promise<Account | undefined> {
    const name = accountKey(username);
    if (!name || name.length > 320) return undefined;
    return this.d.directory.findAccount(name);
  }

  async password(username: string, password: string, peer: SaslPeer): Promise<SaslSuccess | null> {
    const acc = await this.account(username);
    // App passwords first: one indexed lookup, no slow hash (they are 100-bit random strings).
    if (acc && !acc.disabled && /^[a-z0-9]{4}(-[a-z0-9]{4}){4}$/.test(password)) {
      const app = await this.d.store.auth.findAppPassword(sha256hex(password));
      if (app && app.accountId === acc.id && (!app.protocols || app.protocols.includes(peer.protocol))) {
        void this.d.store.auth.touchAppPassword(app.id, Date.now()).catch(() => {});
        await this.record(acc.address, peer, true, 'app-password');
        return { account: acc, via: 'app-password', appPasswordId: app.id };
      }
    }
    // With a second factor, the account password alone no longer opens mail protocols (only app
    // passwords and tokens do). The hash is still checked so the reply takes the same time.
    const secrets = acc ? await this.d.store.auth.getSecrets(acc.id) : null;
    const ok = await verifyPassword(acc?.passwordHash ?? null, password);
    if (!ok || !acc || acc.disabled || secrets?.totpEnabled) {
      await this.record(username, peer, false, secrets?.totpEnabled && ok ? 'password (2FA on)' : 'password');
      return null;
    }
    // Accounts created before SCRAM existed get their verifier at the first password sign-in.
    if (!secrets?.scramSha256) void this.d.store.auth.setScram(acc.id, scramVerifier(password)).catch(() => {});
    await this.record(acc.address, peer, true, 'password');
    return { account: acc, via: 'password' };
  }

  async scramVerifier(username: string, _peer: SaslPeer): Promise<{ account: Account; verifier: string } | null> {
    const acc = await this.account(username);
    if (!acc || acc.disabled) return null;
    const s = await this.d.store.auth.getSecrets(acc.id);
    if (!s.scramSha256 || s.totpEnabled) return null;
    return { account: acc, verifier: s.scramSha256 };
  }

  async bearer(token: string, _peer: SaslPeer): Promise<SaslSuccess | null> {
    if (token.length > 16384) return null;
    const r = await this.d
      .bearer()(token)
      .catch((e) => {
        this.d.log.warn({ err: (e as Error).message }, 'bearer token verification failed');
        return null;
      });
    if (!r) return null;
    const acc = await this.d.store.getAccount(r.accountId);
    return acc && !acc.disabled ? { account: acc, via: 'token', grantId: r.grantId } : null;
  }

  /**
   * Whether a session signed in as `login` may go on (asked when its account changed: see
   * DirectoryService.accountChanged): 'gone' once the account is removed or disabled, 'expired' once the
   * credential it used is no longer good: a new account password ends the sessions made with the old one
   * and those made with tokens (setPassword revokes them), a revoked app password those made with it, a
   * second factor turned on those made with the password alone (which no longer signs in) and with a token
   * of ours whose grant it revoked (TwoFactor.confirm), and those made with a token whose grant was revoked
   * otherwise (oauth/adapter.ts). A token of an external IdP is that IdP's to revoke.
   */
  async stillSignedIn(login: SaslSuccess): Promise<'ok' | 'gone' | 'expired'> {
    const acc = await this.d.store.getAccount(login.account.id);
    if (!acc || acc.disabled) return 'gone';
    if (login.via === 'app-password') {
      const apps = await this.d.store.auth.listAppPasswords(acc.id);
      return apps.some((a) => a.id === login.appPasswordId) ? 'ok' : 'expired';
    }
    if (acc.passwordHash !== login.account.passwordHash) return 'expired';
    if (login.via === 'password') return (await this.d.store.auth.getSecrets(acc.id)).totpEnabled ? 'expired' : 'ok';
    return login.grantId && !(await this.grantLives(login.grantId)) ? 'expired' : 'ok';
  }

  /** Whether our provider's grant is still there (oidc-provider's model "Grant", as OAuthService.verify reads it). */
  private async grantLives(grantId: string): Promise<boolean> {
    return (await this.d.store.oauth.findModel('Grant', grantId, Date.now())) !== undefined;
  }

  async record(username: string, peer: SaslPeer, ok: boolean, mechanism: string): Promise<void> {
    const user = username.slice(0, 320);
    // Checked again now that the secret was: exchanges that passed the gate together (SCRAM client-first
    // messages on many connections, then their proofs) would otherwise each get an answer past the limit.
    this.gate(user || null, peer, mechanism);
    if (ok) {
      this.d.limiter.success(peer.ip, user);
      return;
    }
    this.d.limiter.failure(peer.ip, user || null);
    // A security event: who was tried, from where, how. Never the secret.
    this.d.log.warn(
      { event: 'auth_failure', protocol: peer.protocol, ip: peer.ip, user: user.slice(0, 100), mechanism },
      'authentication failed',
    );
  }

  gate(username: string | null, peer: SaslPeer, mechanism: string): void {
    const tokenBased = mechanism === 'OAUTHBEARER' || mechanism === 'XOAUTH2';
    const why = this.d.limiter.locked(peer.ip, username, !tokenBased);
    if (!why) return;
    // Refused unchecked and at once, so a client can repeat it cheaply: the first is logged, the rest counted.
    const key = `${peer.protocol} ${clientKey(peer.ip)} ${why === 'account' ? accountKey(username ?? '') : ''}`;
    this.lockedOut.hit(key, {
      event: 'auth_locked',
      protocol: peer.protocol,
      ip: peer.ip,
      user: username?.slice(0, 100),
      reason: why,
    });
    throw new SaslError('locked', 'Too many failed sign-ins; try again later');
  }

  async delayAfterFailure(peer: SaslPeer): Promise<void> {
    await new Promise((r) => setTimeout(r, this.d.limiter.delay(peer.ip)));
  }

  /** A user name and password sign-in (IMAP LOGIN, POP3 USER/PASS): throws SaslError when refused. */
  async login(username: string, password: string, peer: SaslPeer): Promise<SaslSuccess> {
    this.gate(username, peer, 'password');
    const ok = await this.password(username, password, peer);
    if (ok) return ok;
    await this.delayAfterFailure(peer);
    throw new SaslError('credentials', 'Authentication failed');
  }

  // App passwords (admin CLI, self-service portal).

  async createAppPassword(
    address: string,
    name: string,
    protocols: string[] | null,
  ): Promise<{ password: string; id: number }> {
    const acc = await this.d.directory.requireAccount(address);
    for (const p of protocols ?? [])
      if (!APP_PASSWORD_PROTOCOLS.includes(p as MailProtocol))
        throw new PetrelError('INVALID_ARGUMENT', `unknown protocol ${p} (use ${APP_PASSWORD_PROTOCOLS.join(', ')})`);
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100)
      throw new PetrelError('INVALID_ARGUMENT', 'an app password needs a name (1-100 characters)');
    const password = generateAppPassword();
    const row = await this.d.store.auth.createAppPassword({
      accountId: acc.id,
      name: trimmed,
      hash: sha256hex(password),
      protocols: protocols?.length ? protocols : null,
    });
    return { password, id: row.id };
  }

  async listAppPasswords(address: string) {
    const acc = await this.d.directory.requireAccount(address);
    return this.d.store.auth.listAppPasswords(acc.id);
  }

  async revokeAppPassword(address: string, id: number): Promise<void> {
    const acc = await this.d.directory.requireAccount(address);
    if (!(await this.d.store.auth.deleteAppPassword(acc.id, id)))
      throw new PetrelError('NOT_FOUND', `no app password ${id} for ${acc.address}`);
    // The sessions signed in with it end (a lost phone's mail client among them).
    this.d.directory.accountChanged(acc.id);
  }
}
