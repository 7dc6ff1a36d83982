// One IMAP connection: the state machine (RFC 9051 section 3), command loop, error mapping, output
// batching with backpressure, and the sync points where other sessions' changes are announced.

import { randomBytes } from 'node:crypto';
import type { Span } from '@opentelemetry/api';
import type { SaslSuccess } from '../auth/sasl/types.ts';
import type { AuthService } from '../auth/service.ts';
import { type SignedOut, SignInWatch } from '../auth/sign-in-watch.ts';
import { petrelErrorOf } from '../core/errors.ts';
import type { Account } from '../core/model.ts';
import type { MailEvent } from '../core/ports.ts';
import type { MailService } from '../mailbox/service.ts';
import {
  type Connection,
  ConnectionClosedError,
  IdleTimeoutError,
  isLoopback,
  LineTooLongError,
} from '../net/connection.ts';
import type { LiveSession } from '../net/listener.ts';
import { Turns, yieldTurn } from '../net/turns.ts';
import { type CommandSource, type ReaderLimits, readCommand } from '../protocol/imap/reader.ts';
import type { ImapCommand } from '../protocol/imap/types.ts';
import type { Logger } from '../telemetry/log.ts';
import { connectionSpan, instrumentCommand } from '../telemetry/metrics.ts';
import { ArgError } from './args.ts';
import { capabilities } from './capabilities.ts';
import { COMMANDS, type Reply, type State } from './commands.ts';
import { IMAP_CODES } from './errors.ts';
import type { AccountHub, HubMember } from './hub.ts';
import type { SearchEngine } from './search/api.ts';
import type { Selected } from './selected.ts';

export interface ImapContext {
  mail: MailService;
  /** Sign-in decisions (src/auth/service.ts). */
  auth: AuthService;
  hub: AccountHub;
  search: SearchEngine;
  log: Logger;
  /** TLS context for STARTTLS; null disables it. */
  tls: (() => Promise<import('../net/tls.ts').ServerTls>) | null;
  allowPlaintextLoopback: boolean;
  limits: ReaderLimits;
  /** Largest message APPEND takes (APPENDLIMIT, RFC 7889). */
  appendLimit: number;
  hostname: string;
  /** Inactivity limits: logged in (at least 30 minutes, RFC 9051 section 5.4) and before login. */
  idleTimeoutMs: number;
  preauthTimeoutMs: number;
}

/**
 * The goodbye when the selected mailbox was deleted by another session (or process): RFC 2180 section 3.3
 * lets a server end the other sessions with an untagged BYE, and Dovecot does so; NONEXISTENT (RFC 9051
 * section 7.1) names why.
 */
export const MAILBOX_GONE = '[NONEXISTENT] The selected mailbox was deleted';

/** Output is flushed when this much is batched. */
const FLUSH_AT = 64 * 1024;

export class ImapSession implements LiveSession, HubMember {
  readonly id = randomBytes(6).toString('base64url');
  readonly ctx: ImapContext;
  conn: Connection;
  log: Logger;
  state: State = 'notauth';
  account: Account | null = null;
  /** Checks the sign-in against each account change (the hub hands it the account's events). */
  private watch: SignInWatch | null = null;
  selected: Selected | null = null;
  /** ENABLEd extensions (RFC 5161): CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4REV2. */
  enabled = new Set<string>();
  /** CONDSTORE turned on by ENABLE or by a command that uses it (RFC 7162 section 3.1). */
  condstore = false;
  /** SEARCHRES `$` (RFC 5182): UIDs saved by the last SEARCH RETURN (SAVE). */
  saved: number[] = [];
  compressed = false;
  authFailures = 0;
  /** The client's ID (RFC 2971) was logged: once a session, however often it is sent. */
  idLogged = false;
  /** In IDLE: changes are pushed as they happen. */
  idling = false;
  private out: (string | Buffer)[] = [];
  private outBytes = 0;
  /** Counts flushes: a response begun before the last one was (partly) sent. */
  private flushes = 0;
  /** An untagged response was left unfinished on the wire: nothing more can be said on this connection. */
  private broken = false;
  /**
   * A response is being pushed (a FETCH of one message, renderMessage): a flush now leaves it unfinished
   * on the wire until the next one.
   */
  responseOpen = false;
  /** What was written last ends inside a response (a literal streaming): no BYE can be put in there. */
  private wireOpen = false;
  /** Shutdown began while a command ran: the goodbye to say once it is answered. */
  private stopping: string | null = null;
  private closing = false;
  /** The connection's trace span; every command's span is its child. */
  private readonly span: Span;
  private syncing: Promise<void> = Promise.resolve();
  /** An IDLE push is being written; changes meanwhile make one more push once it has drained. */
  private idlePushing = false;
  private idleAgain = false;
  /** A command is running (IDLE aside): a goodbye waits for its reply. */
  private inCommand = false;
  /**
   * The account was removed or disabled, or the credential used went: the goodbye to say (a deleted selected
   * mailbox, Selected.gone, has its own: MAILBOX_GONE).
   */
  private revoked: string | null = null;

  constructor(conn: Connection, ctx: ImapContext) {
    this.conn = conn;
    this.ctx = ctx;
    this.log = ctx.log.child({ session: this.id, protocol: 'imap', ip: conn.remoteAddress });
    this.span = connectionSpan('imap', { 'petrel.session': this.id, 'client.address': conn.remoteAddress });
  }

  get accountId(): number {
    return this.account?.id ?? 0;
  }
  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT');
  }
  get qresync(): boolean {
    return this.enabled.has('QRESYNC');
  }
  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }
  /** LOGIN and AUTHENTICATE are allowed: under TLS, or from loopback when configured (RFC 9051 section 11.1). */
  get loginAllowed(): boolean {
    return this.conn.secure || (this.ctx.allowPlaintextLoopback && isLoopback(this.conn.remoteAddress));
  }
  get mail(): MailService {
    return this.ctx.mail;
  }

  // ---- output ----

  /** Queues text (or bytes) for the client; flushed after the command or when the batch is large. */
  push(data: string | Buffer): void {
    this.out.push(data);
    this.outBytes += data.length;
  }

  /** Flushes when the batch is large: producers of long answers call this between messages. */
  async maybeFlush(): Promise<void> {
    // Hung up (or ended otherwise): a long answer stops here instead of being made for nobody.
    if (this.closing) throw new ConnectionClosedError();
    if (this.outBytes >= FLUSH_AT) await this.flush();
  }

  /** Where a response about to be pushed starts (see abandon). */
  mark(): { flushes: number; at: number; bytes: number } {
    return { flushes: this.flushes, at: this.out.length, bytes: this.outBytes };
  }

  /**
   * A response begun at `m` cannot be finished (a message's content failed to read): drops it when none of
   * it was sent yet, so the tagged reply can follow on a line of its own; otherwise the client holds part
   * of a line (or of a literal) that nothing can end well, and the connection is closed after the command.
   */
  abandon(m: { flushes: number; at: number; bytes: number }): void {
    if (m.flushes !== this.flushes) {
      this.broken = true;
      return;
    }
    this.out.length = m.at;
    this.outBytes = m.bytes;
  }

  async flush(): Promise<void> {
    if (this.out.length === 0) return;
    this.flushes++;
    const parts = this.out;
    this.out = [];
    this.outBytes = 0;
    this.wireOpen = this.responseOpen;
    const data =
      parts.length === 1
        ? parts[0]
        : parts.every((p) => typeof p === 'string')
          ? parts.join('')
          : Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    await this.conn.write(data);
  }

  /**
   * A CONDSTORE enabling command ran (RFC 7162 section 3.1). The first one with a mailbox selected "MUST
   * cause the server to return HIGHESTMODSEQ" for it.
   */
  enableCondstore(): void {
    if (this.condstore) return;
    this.condstore = true;
    if (this.selected) this.push(`* OK [HIGHESTMODSEQ ${this.selected.knownModseq()}] Highest\r\n`);
  }

  capabilityList(): string {
    return capabilities(this);
  }

  // ---- the loop ----

  async run(greeting = true): Promise<void> {
    this.conn.setIdleTimeout(this.ctx.preauthTimeoutMs);
    if (greeting) {
      this.push(`* OK [CAPABILITY ${this.capabilityList()}] Petrel IMAP ready\r\n`);
      await this.flush();
    }
    const src: CommandSource = {
      readLine: async (max) => (await this.conn.readLine(max)).bytes,
      readChunk: (max) => this.conn.readChunk(max),
      continuation: async () => {
        await this.flush();
        await this.conn.write('+ Ready for literal data\r\n');
      },
    };
    const turns = new Turns();
    try {
      while (this.state !== 'logout' && !this.conn.closed) {
        // A buffered pipeline is answered in slices: other connections (one event loop) run in between.
        if (turns.due(this.conn.buffered > 0)) {
          await this.flush();
          await yieldTurn();
        }
        let r: Awaited<ReturnType<typeof readCommand>>;
        try {
          r = await readCommand(src, this.ctx.limits);
        } catch (e) {
          if (e instanceof LineTooLongError) {
            this.push(`* BAD [TOOBIG] Command line too long\r\n`);
            await this.flush();
            continue;
          }
          throw e;
        }
        if (r.kind === 'fatal') {
          this.push(`* BYE [TOOBIG] ${r.error}\r\n`);
          await this.flush();
          break;
        }
        if (r.kind === 'bad') {
          const code = r.code ? `[${r.code}] ` : '';
          const word = r.code === 'TOOBIG' && r.append ? 'NO' : 'BAD';
          this.push(`${r.tag ?? '*'} ${word} ${code}${r.error}\r\n`);
          await this.flush();
          continue;
        }
        // Ended meanwhile (the account's sessions were ended, a shutdown): a command already read is not run.
        if (this.closing) break;
        await this.dispatch(r.command);
        const bye = this.revoked ?? this.stopping ?? (this.selected?.gone ? MAILBOX_GONE : null);
        if (bye && (this.state as State) !== 'logout') {
          this.push(`* BYE ${bye}\r\n`);
          await this.flush();
          break;
        }
      }
    } catch (e) {
      if (e instanceof IdleTimeoutError) {
        this.push('* BYE Autologout; idle for too long\r\n');
        await this.flush().catch(() => {});
      } else if (!(e instanceof ConnectionClosedError)) this.log.warn({ err: e }, 'imap session ended by error');
    } finally {
      this.close();
    }
  }

  private close(): void {
    if (this.closing) return;
    this.closing = true;
    this.span.end();
    if (this.account) this.ctx.hub.leave(this);
    this.watch?.stop();
    this.conn.end();
  }

  async dispatch(cmd: ImapCommand): Promise<void> {
    const spec = COMMANDS[cmd.name];
    if (!spec) {
      this.push(`${cmd.tag} BAD Unknown command ${cmd.name.slice(0, 30)}\r\n`);
      return this.flush();
    }
    if (!spec.states.includes(this.state)) {
      const why =
        this.state === 'notauth'
          ? 'Log in first'
          : this.state === 'auth'
            ? 'Select a mailbox first'
            : 'Not allowed now';
      this.push(`${cmd.tag} BAD ${why}\r\n`);
      return this.flush();
    }
    // A command that works in the selected mailbox (CLOSE and UNSELECT only leave it) is not run once the
    // mailbox was deleted: the loop says BYE instead of a tagged reply (RFC 2180 section 3.3, as Dovecot).
    const current = this.selected;
    if (
      current &&
      !spec.states.includes('auth') &&
      cmd.name !== 'CLOSE' &&
      cmd.name !== 'UNSELECT' &&
      !(await current.stillExists(this.mail))
    )
      return;
    let reply: Reply;
    this.inCommand = true;
    try {
      reply = await instrumentCommand(
        'imap',
        cmd.name,
        this.span,
        async () => (await spec.run(this, cmd)) ?? { status: 'OK', text: `${cmd.name} completed` },
        (r) => r.status.toLowerCase(),
      );
    } catch (e) {
      reply = this.replyForError(e, cmd);
    } finally {
      this.inCommand = false;
    }
    if (this.broken) {
      // RFC 9051 has no way to end a response line or literal cut short: any reply would be read as its rest.
      this.log.warn({ command: cmd.name }, 'imap: a response could not be finished; closing the connection');
      this.out = [];
      this.outBytes = 0;
      this.close();
      return;
    }
    if (reply.status === 'BYE') return; // the handler said goodbye itself (LOGOUT)
    if (this.selected && this.state === 'selected' && !reply.noSync) {
      await this.syncNow(spec.expunges(cmd));
      // RFC 7162 section 3.2: MODSEQs sent while another session's expunge is held back (FETCH, STORE,
      // SEARCH) are followed by a HIGHESTMODSEQ below that expunge's, or a client that lost the connection
      // now would resynchronise from past it and keep the message.
      const sel = this.selected;
      if (this.condstore && sel?.expungesPending)
        this.push(`* OK [HIGHESTMODSEQ ${sel.knownModseq()}] Expunges pending\r\n`);
    }
    const code = reply.code ? `[${reply.code}] ` : '';
    this.push(`${cmd.tag} ${reply.status} ${code}${reply.text}\r\n`);
    await this.flush();
    if (reply.after) await reply.after();
  }

  replyForError(e: unknown, cmd: ImapCommand): Reply {
    if (e instanceof ConnectionClosedError || e instanceof IdleTimeoutError) throw e;
    if (e instanceof ArgError) return { status: 'BAD', text: e.message };
    // A continuation line past its bound (IDLE's DONE, a SASL response): the client's error, and the
    // connection has already skipped the rest of the line.
    if (e instanceof LineTooLongError) return { status: 'BAD', text: `Line too long (over ${e.limit} octets)` };
    const p = petrelErrorOf(e);
    if (p) {
      if (p !== e) this.log.warn({ command: cmd.name, reason: (e as Error).message }, 'storage full');
      const code = IMAP_CODES[p.code] ?? undefined;
      return { status: 'NO', code: code ?? undefined, text: p.message };
    }
    this.log.error({ err: e, command: cmd.name }, 'imap command failed');
    return { status: 'NO', code: 'SERVERBUG', text: `Internal error (session ${this.id})` };
  }

  /** Announces what changed in the selected mailbox (new messages, flags, and expunges when allowed). */
  syncNow(expunges: boolean): Promise<void> {
    const run = async () => {
      const sel = this.selected;
      if (!sel) return;
      const text = await sel.sync(this.mail, {
        expunges,
        condstore: this.condstore,
        qresync: this.qresync,
        rev1: !this.rev2,
      });
      if (text) this.push(text);
    };
    this.syncing = this.syncing.then(run, run);
    return this.syncing;
  }

  // ---- events ----

  onMailEvent(e: MailEvent): void {
    if (e.kind === 'account') {
      this.watch?.recheck();
      return;
    }
    const sel = this.selected;
    if (!sel || (e.mailboxId !== undefined && e.mailboxId !== sel.mailbox.id && e.kind !== 'mailbox')) return;
    if (e.kind === 'mailbox' && e.mailboxId !== sel.mailbox.id) return;
    if (sel.events.length < 64) sel.events.push({ modseq: e.modseq, kind: e.kind });
    else sel.dirty = true;
    // IDLE: tell the client now (RFC 2177); expunges are allowed while idling.
    if (this.idling) this.idlePush();
  }

  recheck(): void {
    if (!this.idling || !this.selected) return;
    this.selected.dirty = true;
    this.idlePush();
  }

  /**
   * One IDLE push at a time: while one waits for a client that does not read, later changes only ask for
   * one more sync after it drains (the sync announces everything since), so output cannot pile up.
   */
  private idlePush(): void {
    if (this.idlePushing) {
      this.idleAgain = true;
      return;
    }
    this.idlePushing = true;
    const run = async () => {
      try {
        do {
          this.idleAgain = false;
          await this.syncNow(true);
          await this.flush();
        } while (this.idleAgain && this.idling);
        // The mailbox was deleted while the client idles: tell it now (RFC 2180 section 3.3).
        if (this.idling && this.selected?.gone) this.shutdown(MAILBOX_GONE);
      } finally {
        this.idlePushing = false;
      }
    };
    run().catch((err) => this.log.debug({ err }, 'idle push failed'));
  }

  /**
   * The account changed (SignInWatch): removed or disabled, or the credential this session signed in with is
   * no longer good. Then the session ends with an untagged BYE (RFC 9051 section 7.1.5), at once between
   * commands and in IDLE, else right after the running command's reply.
   */
  private signedOut(why: SignedOut): void {
    if (this.closing || this.revoked) return;
    this.revoked =
      why === 'gone'
        ? '[CONTACTADMIN] Account removed or disabled'
        : '[EXPIRED] The credential this session signed in with was changed or revoked';
    if (!this.inCommand || this.idling) this.shutdown(this.revoked);
  }

  /** Marks the session logged in. */
  loggedIn(signIn: SaslSuccess): void {
    const account = signIn.account;
    this.account = account;
    this.state = 'auth';
    this.conn.setIdleTimeout(this.ctx.idleTimeoutMs);
    this.ctx.hub.join(this);
    this.log = this.log.child({ account: account.address });
    // Made after the child logger, so its lines name the account.
    this.watch = new SignInWatch({ auth: this.ctx.auth, log: this.log }, signIn, (why) => this.signedOut(why));
  }

  /**
   * Shutdown begins: an untagged BYE (RFC 9051 section 7.1.5) at once between commands and in IDLE; a
   * running command is answered first (within the grace period), then the loop says BYE.
   */
  shutdown(reason: string): void {
    if (this.closing) return;
    if (this.inCommand && !this.idling) {
      this.stopping ??= reason;
      return;
    }
    this.conn
      .write(`* BYE ${reason}\r\n`)
      .catch(() => {})
      .finally(() => this.close());
  }

  /**
   * Past the grace period, a command still running (a long FETCH to a slow client): BYE, which RFC 9051
   * section 7.1.5 allows at any time, but not inside a response already partly written (a literal being
   * streamed), where the client would read it as message content; there the connection just ends, as
   * Dovecot ends it (no BYE while a command holds the output). What is batched and not yet written is
   * dropped: the BYE ends the session and the client resynchronises when it comes back.
   */
  hangUp(): void {
    if (this.closing) return;
    this.out = [];
    this.outBytes = 0;
    this.conn.hangUp(this.wireOpen ? undefined : `* BYE ${this.stopping ?? 'Server shutting down'}\r\n`);
    this.close();
  }
}

export type { Reply, State };
