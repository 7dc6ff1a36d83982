// Whether a signed-in mail session (IMAP, POP3, SMTP submission) may go on: asked of AuthService.stillSignedIn
// each time its account changes (an `account` event: DirectoryService.accountChanged), never per command.
import type { EventBus } from '../core/ports.ts';
import type { Logger } from '../telemetry/log.ts';
import type { SaslSuccess } from './sasl/types.ts';

/** Why a session may not go on: its account removed or disabled, or the credential it used no longer good. */
export type SignedOut = 'gone' | 'expired';

export interface SignInWatchDeps {
  auth: { stillSignedIn(login: SaslSuccess): Promise<'ok' | SignedOut> };
  log: Logger;
  /** Where the account's events are heard; absent: the session calls recheck() itself (IMAP's AccountHub). */
  events?: EventBus;
}

export class SignInWatch {
  /** Set by the first check that said no; onEnded was called then, once. */
  ended: SignedOut | null = null;
  private readonly deps: SignInWatchDeps;
  private readonly signIn: SaslSuccess;
  private readonly onEnded: (why: SignedOut) => void;
  /** The checks asked for so far, one after the other (an event during a check is checked after it). */
  private checks: Promise<void> = Promise.resolve();
  private unsubscribe: (() => void) | null = null;
  private stopped = false;

  constructor(deps: SignInWatchDeps, signIn: SaslSuccess, onEnded: (why: SignedOut) => void) {
    this.deps = deps;
    this.signIn = signIn;
    this.onEnded = onEnded;
    this.unsubscribe =
      deps.events?.subscribe(signIn.account.id, (e) => {
        if (e.kind === 'account') this.recheck();
      }) ?? null;
  }

  /** The account changed: ask again (the store is read here, and only here). */
  recheck(): void {
    if (this.stopped || this.ended) return;
    this.checks = this.checks.then(() => this.ask());
  }

  /**
   * Resolves once every check asked for so far has answered: SMTP accepts a message only then, so one whose
   * content was coming when the event came is not accepted for a credential already gone.
   */
  settled(): Promise<void> {
    return this.checks;
  }

  /** The session ended or signed out: no more checks, no more calls. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private async ask(): Promise<void> {
    if (this.stopped || this.ended) return;
    let state: 'ok' | SignedOut;
    try {
      state = await this.deps.auth.stillSignedIn(this.signIn);
    } catch (err) {
      // The store did not answer: the session goes on (the next event asks again).
      this.deps.log.warn({ err: (err as Error).message }, 'could not check the account after a change');
      return;
    }
    if (state === 'ok' || this.stopped || this.ended) return;
    this.ended = state;
    this.deps.log.warn(
      { event: 'auth_revoked', reason: state, via: this.signIn.via, user: this.signIn.account.address },
      'signed out: account changed',
    );
    this.onEnded(state);
  }
}
