// One POP3 connection: greeting, the AUTHORIZATION -> TRANSACTION -> UPDATE states of RFC 1939, reading one
// command at a time (pipelined commands wait in the connection's buffer, RFC 2449 section 6.6), dispatch
// through the command table, error counting, idle timeout and the shutdown goodbye.

import type { Socket } from 'node:net';
import type { Span } from '@opentelemetry/api';
import type { SaslSuccess } from '../auth/sasl/types.ts';
import type { AuthService } from '../auth/service.ts';
import { type SignedOut, SignInWatch } from '../auth/sign-in-watch.ts';
import type { Config } from '../config/schema.ts';
import { isStorageFull } from '../core/errors.ts';
import type { Account } from '../core/model.ts';
import type { DirectoryService } from '../directory/service.ts';
import type { MailService } from '../mailbox/service.ts';
import { Connection, IdleTimeoutError, isLoopback, LineTooLongError } from '../net/connection.ts';
import type { LiveSession } from '../net/listener.ts';
import type { ServerTls } from '../net/tls.ts';
import { Turns, yieldTurn } from '../net/turns.ts';
import { isParseError, type Pop3Command, parseCommand } from '../protocol/pop3/command.ts';
import { err, ok, type RespCode } from '../protocol/pop3/response.ts';
import { type Logger, sessionId } from '../telemetry/log.ts';
import { connectionSpan, instrumentCommand, instruments } from '../telemetry/metrics.ts';
import { MAX_RESPONSE } from './commands/auth.ts';
import { WHOLE_MAX } from './commands/send-message.ts';
import { COMMANDS } from './commands.ts';
import { errorReply } from './errors.ts';
import type { MaildropLocks } from './locks.ts';
import { Maildrop } from './maildrop.ts';
import { ReadAhead } from './read-ahead.ts';

/** What every POP3 session needs from the server; built once per server by the composition root. */
export interface Pop3Deps {
  mail: MailService;
  directory: DirectoryService;
  /** Sign-in decisions (src/auth/service.ts). */
  auth: AuthService;
  log: Logger;
  config: Config['pop3'];
  /** For STLS; implicit TLS (995) happens in the listener. */
  tls: ServerTls;
  locks: MaildropLocks;
  /** security.connection_rate_per_ip. */
  connectionRatePerIp?: number;
}

export type Pop3State = 'authorization' | 'transaction' | 'update' | 'closed';

/**
 * Command lines may be 255 octets (RFC 2449 section 4); we accept up to 1000 so long user names and
 * passwords pass, and answer longer lines with -ERR (an AUTH line may be as long as a SASL response).
 */
const MAX_LINE = 1000;
/** Whether a command line is an AUTH command (any case), whose initial response may be long. */
function isAuthLine(line: Buffer): boolean {
  return line.subarray(0, 5).toString('latin1').toUpperCase() === 'AUTH ';
}
/** Replies are gathered and written together once this much is waiting (or no command is). */
const FLUSH_AT = 64 * 1024;

export class Pop3Session implements LiveSession {
  readonly id = sessionId();
  readonly conn: Connection;
  readonly deps: Pop3Deps;
  readonly log: Logger;
  state: Pop3State = 'authorization';
  /** The name of a successful USER, good for the PASS that immediately follows it. */
  pendingUser: string | null = null;
  account: Account | null = null;
  maildrop: Maildrop | null = null;
  readAhead: ReadAhead | null = null;
  private releaseLock: (() => void) | null = null;
  /** Hears the account's changes (DirectoryService.accountChanged) while signed in. */
  private watch: SignInWatch | null = null;
  private errors = 0;
  private busy = false;
  private stopping = false;
  /** Why the session is being ended for its account's sake (removed, disabled, credential gone). */
  private revoked: string | null = null;
  /** Set while a multi-line response is on the wire: an error then cannot be answered, only end the session. */
  midResponse = false;
  /** Replies not yet written: pipelined commands get their answers in few writes (RFC 2449 section 6.6). */
  private out: Buffer[] = [];
  private outBytes = 0;
  /** Outcome of the running command for metrics ('ok' or 'err'). */
  private outcome = 'ok';
  private readonly span: Span;

  constructor(socket: Socket, deps: Pop3Deps, listener: string) {
    this.deps = deps;
    this.conn = new Connection(socket, { idleTimeoutMs: deps.config.idle_timeout_ms });
    // The field names SMTP and IMAP sessions and the sign-in failure lines use: one query finds a client.
    this.log = deps.log.child({ session: this.id, protocol: 'pop3', ip: this.conn.remoteAddress, listener });
    this.span = connectionSpan('pop3', { 'petrel.session': this.id, 'net.peer.ip': this.conn.remoteAddress });
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Whether USER/PASS and AUTH PLAIN may be used now (RFC 2595 section 2.3, RFC 5034 section 4). */
  get plaintextAllowed(): boolean {
    return this.conn.secure || (this.deps.config.allow_plaintext_loopback && isLoopback(this.conn.remoteAddress));
  }

  async run(): Promise<void> {
    this.log.debug({ secure: this.conn.secure }, 'connected');
    try {
      await this.send(ok('Petrel POP3 server ready'));
      const turns = new Turns();
      while (!this.closed && !this.conn.closed) {
        // Replies go out when the client may be waiting for them: no further command is already here.
        if (!this.conn.hasLine) await this.flush();
        if (turns.due(this.conn.hasLine)) {
          // A pipeline already buffered is answered without waiting for input: every other connection (of
          // every protocol, one event loop) gets its turn between slices of it.
          await this.flush();
          await yieldTurn();
          continue;
        }
        let bytes: Buffer;
        try {
          bytes = (await this.conn.readLine(MAX_RESPONSE)).bytes;
          // RFC 5034 section 4 asks clients to keep an AUTH line with its initial response to 255 octets, but
          // bearer tokens are sent inline (XOAUTH2 with a JWT: a few KB): that line may be as long as a response.
          if (bytes.length > MAX_LINE && !isAuthLine(bytes)) throw new LineTooLongError(MAX_LINE);
        } catch (e) {
          if (e instanceof LineTooLongError) {
            await this.reject('Line too long');
            continue;
          }
          // RFC 1939 section 3: the autologout timer closes the connection without a response or UPDATE.
          if (e instanceof IdleTimeoutError) this.log.info('idle timeout');
          break;
        }
        if (this.stopping) break;
        await this.dispatch(bytes);
        if (this.stopping && !this.closed) this.goodbye();
      }
    } catch (e) {
      this.log.error({ err: e }, 'session failed');
    } finally {
      // Idle timeout, too many errors, the client's FIN, a failure: our side ends too (after flushing what
      // was written); a half-closed socket must not linger.
      void this.flush();
      this.conn.end();
      this.close();
    }
  }

  private async dispatch(line: Buffer): Promise<void> {
    const cmd = parseCommand(line);
    if (isParseError(cmd)) {
      this.log.debug({ command: cmd.keyword, error: cmd.error }, 'bad command');
      await this.reject(cmd.message);
      return;
    }
    if (cmd.verb !== 'PASS' && cmd.verb !== 'USER') this.pendingUser = null;
    const spec = COMMANDS[cmd.verb];
    if (!spec.states.includes(this.state)) {
      await this.reject(`${cmd.verb} is not valid in the ${this.state.toUpperCase()} state`);
      return;
    }
    this.busy = true;
    this.outcome = 'ok';
    try {
      // The table pairs each verb with the handler of its own command type.
      const run = spec.run as (s: Pop3Session, c: Pop3Command) => Promise<void>;
      await instrumentCommand(
        'pop3',
        cmd.verb,
        this.span,
        () => run(this, cmd),
        () => this.outcome,
      );
    } catch (e) {
      await this.fail(e);
    } finally {
      this.busy = false;
    }
  }

  /** An error thrown by a command: mapped through the one table, or logged and answered generically. */
  private async fail(e: unknown): Promise<void> {
    if (this.conn.closed || e instanceof IdleTimeoutError) {
      this.close();
      return;
    }
    if (this.midResponse) {
      // Part of a message is already sent: no -ERR can follow it, so the client must see the session end.
      this.log.error({ err: e }, 'failed in the middle of a response');
      this.conn.destroy();
      this.close();
      return;
    }
    const r = errorReply(e, this.id);
    if (r.internal) this.log.error({ err: e }, 'command failed');
    else if (isStorageFull(e)) this.log.warn({ reason: (e as Error).message }, 'storage full');
    this.outcome = 'err';
    await this.send(r.line);
  }

  /** Queues reply bytes; they are written at the next flush, or now when enough are waiting. */
  send(data: string | Buffer): Promise<void> {
    const b = typeof data === 'string' ? Buffer.from(data) : data;
    this.out.push(b);
    this.outBytes += b.length;
    return this.outBytes >= FLUSH_AT ? this.flush() : Promise.resolve();
  }

  /** Writes the queued replies; resolves when the socket can take more (backpressure). */
  flush(): Promise<void> {
    const out = this.out;
    if (out.length === 0) return Promise.resolve();
    this.out = [];
    this.outBytes = 0;
    if (out.length === 1) return this.conn.write(out[0]);
    // Corked, the pieces leave in one writev: no copy, one system call.
    const socket = this.conn.socket;
    socket.cork();
    let done: Promise<void> = Promise.resolve();
    for (const b of out) done = this.conn.write(b);
    socket.uncork();
    return done;
  }

  ok(text = ''): Promise<void> {
    return this.send(ok(text));
  }

  /** A negative reply that is not the client's fault (no such message, maildrop in use). */
  err(text: string, code?: RespCode): Promise<void> {
    this.outcome = 'err';
    return this.send(err(text, code));
  }

  /**
   * A negative reply to a client mistake or a failed login: counted, and once the session has made
   * pop3.max_errors of them the reply says so and the connection closes.
   */
  async reject(text: string, code?: RespCode): Promise<void> {
    this.outcome = 'err';
    if (++this.errors >= this.deps.config.max_errors) {
      this.log.info({ errors: this.errors }, 'too many errors');
      await this.send(err('Too many errors, closing connection'));
      this.end();
      return;
    }
    await this.send(err(text, code));
  }

  /** After a successful authentication: lock the maildrop, list it, enter TRANSACTION (RFC 1939 section 4). */
  async login(signIn: SaslSuccess, how: string): Promise<void> {
    const account = signIn.account;
    instruments.authAttempts.add(1, { protocol: 'pop3', outcome: 'success' });
    const release = await this.deps.locks.tryAcquire(account.id);
    if (!release) {
      this.log.info({ account: account.address }, 'maildrop in use');
      await this.err('Maildrop is in use by another POP3 session', 'IN-USE');
      return;
    }
    let drop: Maildrop;
    try {
      drop = await Maildrop.open(this.deps.mail, account.id);
    } catch (e) {
      release();
      throw e;
    }
    this.releaseLock = release;
    this.account = account;
    this.watch = new SignInWatch(
      { auth: this.deps.auth, log: this.log, events: this.deps.mail.events },
      signIn,
      (why) => this.signedOut(why),
    );
    this.maildrop = drop;
    this.readAhead = new ReadAhead(this.deps.mail, drop, WHOLE_MAX);
    this.state = 'transaction';
    const { count, size } = drop.totals();
    this.log.info({ account: account.address, how, messages: count }, 'logged in');
    await this.ok(`Logged in, ${count} message${count === 1 ? '' : 's'} (${size} octets)`);
  }

  /** A failed authentication: counted like any client error, with [AUTH] (RFC 3206). */
  async loginFailed(text = 'Authentication failed'): Promise<void> {
    instruments.authAttempts.add(1, { protocol: 'pop3', outcome: 'failure' });
    this.log.info('authentication failed');
    await this.reject(text, 'AUTH');
  }

  /** QUIT: the last reply is sent, the connection ends after it is flushed. */
  end(): void {
    void this.flush();
    this.conn.end();
    this.close();
  }

  /**
   * Graceful shutdown: the goodbye is -ERR [SYS/TEMP] (RFC 3206), sent between commands; marked deletions
   * are NOT committed, since only QUIT enters the UPDATE state (RFC 1939 section 6).
   */
  shutdown(_reason: string): void {
    if (this.closed || this.stopping) return;
    this.stopping = true;
    if (!this.busy) this.goodbye();
  }

  /**
   * Past the grace period, a command still running. Inside a multi-line response (a RETR streaming to a
   * slow client) nothing can be said: an -ERR would be read as message text, and a "." would pass the part
   * sent off as the whole message; the connection just ends and the client, with no terminating line, knows
   * the RETR failed. Before any of its response, -ERR [SYS/TEMP] (RFC 3206) answers the command. QUIT's
   * UPDATE being committed is let finish: its reply says whether the deletions were made.
   */
  hangUp(): void {
    if (this.closed || this.state === 'update') return;
    this.stopping = true;
    const words = this.midResponse
      ? undefined
      : Buffer.concat([...this.out, Buffer.from(err('Server shutting down, try again later', 'SYS/TEMP'))]);
    this.out = [];
    this.outBytes = 0;
    this.conn.hangUp(words);
  }

  private goodbye(): void {
    if (this.revoked) void this.send(err(this.revoked, 'AUTH'));
    else void this.send(err('Server shutting down, try again later', 'SYS/TEMP'));
    this.end();
  }

  /**
   * The account changed (SignInWatch). Removed or disabled, or the credential this session signed in with
   * changed or was revoked: it ends as a shutdown does, with -ERR [AUTH] (RFC 3206) between commands, and
   * without UPDATE, so its DELE marks are not applied (RFC 1939 section 6).
   */
  private signedOut(why: SignedOut): void {
    if (this.closed || this.stopping) return;
    this.revoked =
      why === 'gone'
        ? 'Account removed or disabled'
        : 'The credential this session signed in with was changed or revoked';
    this.stopping = true;
    if (!this.busy) this.goodbye();
  }

  private close(): void {
    if (this.closed) return;
    this.state = 'closed';
    this.watch?.stop();
    this.watch = null;
    this.releaseLock?.();
    this.releaseLock = null;
    this.maildrop = null;
    this.readAhead = null;
    this.span.end();
    this.log.debug('closed');
  }
}
