// One SMTP, submission or LMTP connection: greeting, the command loop with pipelining (RFC 2920), replies,
// limits (line length, errors, timeouts), STARTTLS state reset, and goodbye on shutdown or once the account or
// the credential an AUTH used is gone.
import type { Socket } from 'node:net';
import type { Span } from '@opentelemetry/api';
import type { SaslSuccess } from '../auth/sasl/types.ts';
import { type SignedOut, SignInWatch } from '../auth/sign-in-watch.ts';
import { isStorageFull } from '../core/errors.ts';
import type { Account } from '../core/model.ts';
import {
  Connection,
  ConnectionClosedError,
  IdleTimeoutError,
  isLoopback,
  type Line,
  LineTooLongError,
} from '../net/connection.ts';
import type { LiveSession } from '../net/listener.ts';
import { Turns, yieldTurn } from '../net/turns.ts';
import { parseCommandLine } from '../protocol/smtp/command.ts';
import { formatReply, type Reply, reply } from '../protocol/smtp/reply.ts';
import { type Logger, sessionId } from '../telemetry/log.ts';
import { connectionSpan, instrumentCommand } from '../telemetry/metrics.ts';
import { AUTH_LINE_MAX } from './commands/auth.ts';
import { COMMANDS, wrongState } from './commands.ts';
import { internalError, replyForError } from './errors.ts';
import type { SmtpDeps, SmtpKind, SmtpState, Transaction } from './types.ts';

export class SessionTimeoutError extends Error {
  constructor() {
    super('session timeout');
    this.name = 'SessionTimeoutError';
  }
}

/**
 * Whether a reply counts towards smtp.max_errors. Not 421 (the session ends anyway), nor 452 4.5.3 "too many
 * recipients": that is our limit, not the client's mistake, and the client is to send those recipients in a
 * later transaction (RFC 5321 section 4.5.3.1.10). A pipelining client has sent them all before it reads a
 * reply; counted, they cut the session and the recipients already accepted were lost with it, on every retry.
 */
function countsAsError(r: Reply): boolean {
  return r.code >= 400 && r.code !== 421 && !(r.code === 452 && r.enhanced === '4.5.3');
}

/** Replies are flushed at the latest when this much is waiting (a client pipelining without reading). */
const MAX_PENDING_OUTPUT = 16 * 1024;

export class SmtpSession implements LiveSession {
  readonly id = sessionId();
  readonly conn: Connection;
  readonly deps: SmtpDeps;
  readonly kind: SmtpKind;
  readonly log: Logger;
  state: SmtpState = 'start';
  /** The HELO/EHLO/LHLO argument. */
  helo = '';
  /** EHLO or LHLO was used: extensions apply. */
  esmtp = false;
  account: Account | null = null;
  tx: Transaction | null = null;
  /** Transactions started in this session (Received id). */
  txCount = 0;
  private errors = 0;
  private out = '';
  private lastCode = 0;
  private done = false;
  private waitingForCommand = false;
  private shuttingDown = false;
  /** Hears the account's changes while signed in with AUTH (SignInWatch); null otherwise. */
  private watch: SignInWatch | null = null;
  /** Why the session ends for its account's sake (removed, disabled, credential gone), once a check said so. */
  private signedOutReply: Reply | null = null;
  /** The grace period ran out (hangUp): no message is taken from here on. */
  private hungUp = false;
  /** A message being judged and stored, from its end to its reply: a hang-up waits for that reply. */
  private delivering: Promise<void> | null = null;
  private readonly span: Span;
  private idleMs: number;

  constructor(socket: Socket, deps: SmtpDeps, kind: SmtpKind) {
    this.deps = deps;
    this.kind = kind;
    this.conn = new Connection(socket, { idleTimeoutMs: deps.limits.command_timeout_ms });
    this.idleMs = deps.limits.command_timeout_ms;
    this.log = deps.log.child({ session: this.id, protocol: kind, ip: this.conn.remoteAddress });
    this.span = connectionSpan(kind === 'lmtp' ? 'lmtp' : 'smtp', { 'client.address': this.conn.remoteAddress });
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  /** May this client relay to other domains without authenticating (smtp.trusted_networks only)? */
  get trustedNetwork(): boolean {
    return this.deps.trusted(this.conn.remoteAddress);
  }

  /** RFC 4954 section 4 and RFC 8314: no AUTH over plaintext, except to loopback when configured. */
  get authAllowedHere(): boolean {
    if (this.kind !== 'submission') return false;
    return this.secure || (this.deps.limits.allow_plaintext_loopback && isLoopback(this.conn.remoteAddress));
  }

  /** Queues a reply (sent before the next blocking read, or when much is waiting). */
  reply(r: Reply): void {
    this.lastCode = r.code;
    if (countsAsError(r)) this.errors++;
    this.out += formatReply(r);
  }

  async flush(): Promise<void> {
    if (!this.out) return;
    const data = this.out;
    this.out = '';
    await this.conn.write(data);
  }

  /**
   * The silence allowed before the pending read fails: command_timeout_ms between commands (RFC 5321
   * section 4.5.3.2.7, 5 minutes), idle_timeout_ms inside message content (section 4.5.3.2.5, 3 minutes).
   */
  setSilence(which: 'command' | 'data'): void {
    const ms = which === 'command' ? this.deps.limits.command_timeout_ms : this.deps.limits.idle_timeout_ms;
    if (ms === this.idleMs) return;
    this.idleMs = ms;
    this.conn.setIdleTimeout(ms);
  }

  /** A read that fails with SessionTimeoutError at the deadline (and IdleTimeoutError on silence). */
  within<T>(p: Promise<T>, deadline: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SessionTimeoutError()), Math.max(0, deadline - Date.now()));
    });
    return Promise.race([p, t]).finally(() => clearTimeout(timer));
  }

  /** One line of a multi-step exchange (AUTH), flushed first. */
  async readLine(max: number): Promise<Line> {
    await this.flush();
    return this.within(this.conn.readLine(max), Date.now() + this.deps.limits.command_timeout_ms);
  }

  resetTransaction(): void {
    this.tx = null;
    if (this.state !== 'start') this.state = 'hello';
  }

  /** After STARTTLS (RFC 3207 section 4.2): forget everything learnt before, as if newly connected. */
  resetAll(): void {
    this.tx = null;
    this.helo = '';
    this.esmtp = false;
    this.signOut();
    this.state = 'start';
  }

  /**
   * A successful AUTH: the session now hears its account's changes (DirectoryService.accountChanged, on every
   * node), as IMAP and POP3 sessions do, and ends once the account or this credential is gone: a stolen
   * password stops sending when the owner changes it. The store is read on those events only.
   */
  signedIn(signIn: SaslSuccess): void {
    this.account = signIn.account;
    this.watch = new SignInWatch(
      { auth: this.deps.auth, log: this.log, events: this.deps.mail.events },
      signIn,
      (why) => this.endSignedOut(why),
    );
  }

  /** Treated as never authenticated from now on (STARTTLS, or the account found disabled at MAIL). */
  signOut(): void {
    this.account = null;
    this.watch?.stop();
    this.watch = null;
  }

  /**
   * Whether the AUTH still holds once every check under way has answered (an account event heard while the
   * content came). No store read of its own: without an event this is at once true.
   */
  async signInHolds(): Promise<boolean> {
    await this.watch?.settled();
    return !this.signedOutReply;
  }

  /**
   * Ends the session with 421 (RFC 5321 section 3.8: the server closes, the client treats it as a temporary
   * failure and keeps its mail): at once between commands, else once the running command is answered
   * (a message whose content is coming is not accepted then: see finishMessage).
   */
  private endSignedOut(why: SignedOut): void {
    const text =
      why === 'gone'
        ? 'Account removed or disabled, closing connection'
        : 'The credential this session signed in with was changed or revoked; sign in again';
    this.signedOutReply = reply(421, '4.7.0', `${this.deps.hostname} ${text}`);
    if (this.waitingForCommand && !this.done) {
      this.reply(this.signedOutReply);
      void this.close();
    }
  }

  /** The reply that ends a signed-out session, or null while the AUTH holds. */
  get signedOut(): Reply | null {
    return this.signedOutReply;
  }

  /** Sends what is queued and closes. */
  async close(): Promise<void> {
    this.done = true;
    this.watch?.stop();
    await this.flush().catch(() => {});
    this.conn.end();
  }

  shutdown(_reason: string): void {
    this.shuttingDown = true;
    if (this.waitingForCommand && !this.done) {
      this.reply(reply(421, '4.3.2', `${this.deps.hostname} Service shutting down`));
      void this.close();
    }
  }

  /**
   * Past the grace period. RFC 5321 section 3.8: a server being shut down sends 421 and closes, "if
   * necessary, asynchronously from command receipt", so also while the client is still sending message
   * content: 421 now, and the content it goes on sending is never read (the message is not taken). A
   * message already in (being judged and stored) is answered first, since a 250 for what is committed
   * spares the client a retry and us a duplicate; the loop then says 421.
   */
  async hangUp(): Promise<void> {
    if (this.done || this.hungUp || this.conn.closed) return;
    if (this.delivering) {
      await this.delivering.catch(() => {});
      return;
    }
    this.hungUp = true;
    this.done = true;
    // Replies queued for pipelined commands go first: they are true (a delivery's 250 is only queued once
    // the store committed it).
    const words = this.out + formatReply(reply(421, '4.3.2', `${this.deps.hostname} Service shutting down`));
    this.out = '';
    this.conn.hangUp(words);
  }

  /** Runs a delivery (end of DATA or of BDAT LAST, to its reply); none starts once the session hung up. */
  async delivery(run: () => Promise<void>): Promise<void> {
    if (this.hungUp) throw new ConnectionClosedError();
    const p = run();
    this.delivering = p;
    try {
      await p;
    } finally {
      this.delivering = null;
    }
  }

  async run(): Promise<void> {
    const { limits, hostname } = this.deps;
    const name = this.kind === 'lmtp' ? 'LMTP' : 'ESMTP';
    this.reply(reply(220, '', `${hostname} ${name} Petrel ready`));
    const turns = new Turns();
    try {
      while (!this.done) {
        if (this.shuttingDown) {
          this.reply(reply(421, '4.3.2', `${hostname} Service shutting down`));
          break;
        }
        if (this.signedOutReply) {
          this.reply(this.signedOutReply);
          break;
        }
        if (this.conn.buffered === 0 || this.out.length > MAX_PENDING_OUTPUT) await this.flush();
        // A buffered pipeline (RFC 2920) is answered in slices: other connections run in between.
        if (turns.due(this.conn.buffered > 0)) {
          await this.flush();
          await yieldTurn();
          continue;
        }
        let line: Line;
        this.setSilence('command');
        this.waitingForCommand = true;
        // RFC 4954 section 4: an AUTH initial response (a token) may be longer than other commands.
        const authLine = this.kind === 'submission' && !this.account;
        try {
          line = await this.within(
            this.conn.readLine(authLine ? Math.max(limits.max_line_length, AUTH_LINE_MAX) : limits.max_line_length),
            Date.now() + limits.command_timeout_ms,
          );
        } catch (e) {
          if (!(e instanceof LineTooLongError)) throw e;
          this.reply(reply(500, '5.5.2', 'Line too long'));
          if (this.tooManyErrors()) break;
          continue;
        } finally {
          this.waitingForCommand = false;
        }
        if (
          line.bytes.length > limits.max_line_length &&
          !/^AUTH /i.test(line.bytes.subarray(0, 5).toString('latin1'))
        ) {
          this.reply(reply(500, '5.5.2', 'Line too long'));
          if (this.tooManyErrors()) break;
          continue;
        }
        if (this.done) break;
        // A check an account event started answers before the command runs (no store read of its own):
        // signed out meanwhile, the command gets the 421.
        if (this.watch && !(await this.signInHolds())) {
          this.reply(this.signedOutReply!);
          break;
        }
        await this.command(line);
        if (this.tooManyErrors()) break;
      }
    } catch (e) {
      if (e instanceof SessionTimeoutError || e instanceof IdleTimeoutError)
        this.reply(reply(421, '4.4.2', `${hostname} Timeout, closing connection`));
      else if (!(e instanceof ConnectionClosedError) && !this.conn.closed)
        this.log.warn({ err: e }, 'session ended by error');
    } finally {
      await this.close();
      this.span.end();
    }
  }

  private tooManyErrors(): boolean {
    if (this.errors < this.deps.limits.max_errors) return false;
    this.reply(reply(421, '4.7.0', `${this.deps.hostname} Too many errors, closing connection`));
    return true;
  }

  private async command(line: Line): Promise<void> {
    const parsed = parseCommandLine(line.bytes);
    if (!parsed.ok) {
      this.reply(reply(500, '5.5.2', 'Syntax error, command unrecognised'));
      return;
    }
    const { verb, arg } = parsed.value;
    const cmd = COMMANDS[verb];
    if (!cmd?.kinds.includes(this.kind)) {
      this.reply(reply(500, '5.5.2', 'Command unrecognised'));
      return;
    }
    if (!cmd.states.includes(this.state)) {
      this.reply(wrongState(this, verb));
      return;
    }
    await instrumentCommand(
      this.kind === 'lmtp' ? 'lmtp' : 'smtp',
      verb,
      this.span,
      async () => {
        try {
          await cmd.handler(this, arg);
        } catch (e) {
          if (
            e instanceof ConnectionClosedError ||
            e instanceof SessionTimeoutError ||
            e instanceof IdleTimeoutError ||
            this.conn.closed
          )
            throw e;
          if (e instanceof LineTooLongError) {
            this.reply(reply(500, '5.5.2', 'Line too long'));
            return;
          }
          const r = replyForError(e);
          if (!r) this.log.error({ err: e, command: verb }, 'command failed');
          else if (isStorageFull(e)) this.log.warn({ command: verb, reason: (e as Error).message }, 'storage full');
          this.reply(r ?? internalError());
        }
      },
      () => (this.lastCode >= 500 ? 'bad' : this.lastCode >= 400 ? 'no' : 'ok'),
    );
  }
}
