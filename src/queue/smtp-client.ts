// A small SMTP client for outbound delivery: connect, greeting, EHLO (HELO fallback), opportunistic
// STARTTLS with certificate verification recorded, pipelined commands, DATA or BDAT, RSET, QUIT.
import { connect as netConnect, type Socket } from 'node:net';
import {
  checkServerIdentity,
  type DetailedPeerCertificate,
  rootCertificates,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import {
  assembleReply,
  dotStuff,
  formatReply,
  parseEhlo,
  type Reply,
  ReplySyntaxError,
} from '../protocol/smtp-client/reply.ts';

export interface ClientOptions {
  /** IP address to connect to. */
  address: string;
  port: number;
  /** The MX host name: sent as SNI and what the certificate must name (RFC 7817, RFC 8689 section 4.2.1). */
  hostname: string;
  /** SNI instead of `hostname`: a DANE host's TLSA base domain when CNAME expansion moved it (RFC 7672 8.1). */
  servername?: string;
  heloName: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /**
   * Wait for the reply to the end of the content (final dot, last BDAT chunk): RFC 5321 section
   * 4.5.3.2.6 asks at least 10 minutes, since giving up after the server took the message sends it twice.
   */
  dataDoneTimeoutMs: number;
  /** Negotiate STARTTLS when the server offers it (RFC 3207). */
  startTls: boolean;
  /** Extra trust anchors (PEM) besides the system's, for verifying server certificates. */
  ca?: string[];
  localAddress?: string;
  /** Aborting destroys the connection, whatever it is waiting for (shutdown). */
  signal?: AbortSignal;
}

/** Where a session failed before any transaction: the caller tries the next address or MX host. */
export type SessionStage = 'connect' | 'greeting' | 'ehlo' | 'tls' | 'io';

export class SmtpSessionError extends Error {
  readonly stage: SessionStage;
  readonly reply: Reply | null;
  constructor(stage: SessionStage, message: string, reply: Reply | null = null) {
    super(message);
    this.name = 'SmtpSessionError';
    this.stage = stage;
    this.reply = reply;
  }
}

export interface TlsState {
  protocol: string;
  cipher: string;
  /** Chain trusted and the certificate names the MX host. */
  verified: boolean;
  verifyError: string | null;
  /** The certificates the server presented (DER), its own first: what DANE matches TLSA records against. */
  chain: Buffer[];
  /** Authenticated by DANE TLSA records (RFC 7672) rather than by the CA roots: by which usage. */
  dane?: 'DANE-EE' | 'DANE-TA';
}

const MAX_LINE = 4096;
const MAX_LINES = 200;
/** Reply text received and not yet read, beyond the replies asked for: more is a server talking on its own. */
const MAX_UNREAD_LINES = 1000;
const MAX_UNREAD_OCTETS = 64 * 1024;
/** Content goes out in blocks of this size, each with its own timeout (RFC 5321 section 4.5.3.2.5). */
const WRITE_BLOCK = 64 * 1024;

export class SmtpClient {
  private socket: Socket;
  private buf = '';
  private lines: string[] = [];
  /** Octets in `lines`. */
  private unread = 0;
  /** Replies asked for (commands sent, the greeting) and not read yet. */
  private outstanding = 1;
  private waiter: (() => void) | null = null;
  /** A write waiting for the socket to drain. */
  private writer: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly opts: ClientOptions;
  greeting!: Reply;
  caps = new Map<string, string[]>();
  tls: TlsState | null = null;
  /** Whether EHLO worked (else HELO: no extensions at all). */
  esmtp = true;
  /** The name the server gave in its first reply to EHLO/HELO (lower case), what loop detection compares. */
  serverName = '';

  private constructor(socket: Socket, opts: ClientOptions) {
    this.socket = socket;
    this.opts = opts;
    this.attach(socket);
  }

  /** Connects, reads the greeting, says EHLO, and upgrades to TLS when offered and wanted. */
  static async open(opts: ClientOptions): Promise<SmtpClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = netConnect({ host: opts.address, port: opts.port, localAddress: opts.localAddress });
      if (opts.signal) {
        const abort = () => s.destroy(new Error('aborted'));
        if (opts.signal.aborted) abort();
        else opts.signal.addEventListener('abort', abort, { once: true });
        s.once('close', () => opts.signal?.removeEventListener('abort', abort));
      }
      const timer = setTimeout(() => {
        s.destroy();
        reject(new SmtpSessionError('connect', `connect to ${opts.address}:${opts.port} timed out`));
      }, opts.connectTimeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(new SmtpSessionError('connect', `connect to ${opts.address}:${opts.port}: ${e.message}`));
      });
    });
    const c = new SmtpClient(socket, opts);
    try {
      c.greeting = await c.read('greeting');
      // RFC 5321 section 3.1: 554 (or anything but 220) means this server will not take mail now.
      if (c.greeting.code !== 220)
        throw new SmtpSessionError('greeting', `greeting: ${formatReply(c.greeting)}`, c.greeting);
      await c.hello();
      if (opts.startTls && c.caps.has('STARTTLS')) await c.upgrade();
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  private attach(s: Socket) {
    s.setEncoding('latin1');
    s.on('data', (chunk: string) => this.onData(chunk));
    s.on('error', (e) => this.fail(new SmtpSessionError('io', e.message)));
    s.on('close', () => this.fail(new SmtpSessionError('io', 'connection closed by the server')));
  }

  private onData(chunk: string) {
    this.buf += chunk;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      // The bound holds for ended lines too, however many arrive in one chunk (RFC 5321 4.5.3.1.5).
      if (line.length > MAX_LINE) {
        this.fail(new SmtpSessionError('io', 'reply line too long'));
        return;
      }
      this.lines.push(line);
      this.unread += line.length;
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
    if (this.buf.length > MAX_LINE) this.fail(new SmtpSessionError('io', 'reply line too long'));
    // A server sending lines nobody asked for (while we send the content, say) must not fill our memory.
    else if (
      this.lines.length > MAX_UNREAD_LINES + this.outstanding ||
      this.unread > MAX_UNREAD_OCTETS + this.outstanding * 512
    )
      this.fail(new SmtpSessionError('io', 'the server sent more reply lines than were asked for'));
    this.wake();
  }

  /** Ends the session: the socket goes, and a pending read or write learns why at once. */
  private fail(e: Error) {
    this.failure ??= e;
    this.socket.destroy();
    this.wake();
    this.writer?.();
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async nextLine(): Promise<string> {
    for (;;) {
      const l = this.lines.shift();
      if (l !== undefined) {
        this.unread -= l.length;
        return l;
      }
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }

  /**
   * Reads one whole reply (its continuation lines included) within timeoutMs in all: a limit on the reply,
   * not on silence, so a server trickling an octet at a time cannot hold the session (RFC 5321 4.5.3.2).
   */
  async read(stage: SessionStage = 'io', timeoutMs = this.opts.commandTimeoutMs): Promise<Reply> {
    const timer = setTimeout(
      () => this.fail(new SmtpSessionError(stage, `no reply from the server within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const lines: string[] = [];
    try {
      for (;;) {
        const line = await this.nextLine();
        lines.push(line);
        if (lines.length > MAX_LINES) throw new SmtpSessionError(stage, 'reply has too many lines');
        const m = /^\d{3}(.?)/.exec(line);
        if (!m) throw new SmtpSessionError(stage, new ReplySyntaxError(line).message);
        if (m[1] !== '-') break;
      }
    } finally {
      clearTimeout(timer);
      this.outstanding = Math.max(0, this.outstanding - 1);
    }
    try {
      return assembleReply(lines);
    } catch (e) {
      throw new SmtpSessionError(stage, (e as Error).message);
    }
  }

  /**
   * Sends in blocks, each of which must be taken by the server within the command timeout (RFC 5321
   * section 4.5.3.2.5, DATA block): a server that stops reading fails the session instead of holding it.
   */
  private async write(data: string | Buffer, replies = 0): Promise<void> {
    if (this.failure) throw this.failure;
    // A reply waiting before a command is sent answers nothing we asked (RFC 2920 section 3.1: one reply
    // per command, in order): read later, it would pass for the reply to the next command.
    if (this.outstanding === 0 && this.lines.length > 0)
      this.fail(new SmtpSessionError('io', 'the server sent a reply nobody asked for'));
    if (this.failure) throw this.failure;
    this.outstanding += replies;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let at = 0; at < bytes.length; at += WRITE_BLOCK) {
      if (!this.socket.write(bytes.subarray(at, at + WRITE_BLOCK))) await this.drained();
      if (this.failure) throw this.failure;
    }
  }

  private drained(): Promise<void> {
    const ms = this.opts.commandTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new SmtpSessionError('io', `the server took no data for ${ms} ms`)), ms);
      const done = () => {
        clearTimeout(timer);
        this.socket.off('drain', done);
        this.writer = null;
        if (this.failure) reject(this.failure);
        else resolve();
      };
      this.socket.on('drain', done);
      this.writer = done;
    });
  }

  /** Sends one command line and reads its reply. */
  async command(line: string, stage: SessionStage = 'io', intermediate = false): Promise<Reply> {
    await this.write(`${line}\r\n`, 1);
    return this.closing(await this.read(stage), intermediate);
  }

  /**
   * A 421 reply means the server is closing the connection (RFC 5321 section 3.8): nothing more to say. A
   * 3xx to anything but DATA (`intermediate`) means it waits for what we never send: the session ends too.
   */
  private closing(r: Reply, intermediate = false): Reply {
    if (r.code === 421) this.failure ??= new SmtpSessionError('io', `server closing: ${formatReply(r)}`, r);
    else if (r.code < 400 && r.code >= 300 && !intermediate)
      this.failure ??= new SmtpSessionError('io', `unexpected reply: ${formatReply(r)}`, r);
    return r;
  }

  /**
   * Sends several commands at once and reads their replies in order (RFC 2920 section 3.1); without
   * PIPELINING, one at a time. A 421 ends the list early: the server is going away.
   */
  async pipeline(lines: string[]): Promise<Reply[]> {
    if (!this.caps.has('PIPELINING')) {
      const out: Reply[] = [];
      for (const l of lines) {
        const r = await this.command(l);
        out.push(r);
        if (r.code === 421) break;
      }
      return out;
    }
    await this.write(lines.map((l) => `${l}\r\n`).join(''), lines.length);
    const out: Reply[] = [];
    for (let i = 0; i < lines.length; i++) {
      const r = this.closing(await this.read());
      out.push(r);
      if (r.code === 421) break;
    }
    return out;
  }

  /** EHLO, falling back to HELO when EHLO is refused (RFC 5321 section 3.2). */
  private async hello(): Promise<void> {
    const r = await this.command(`EHLO ${this.opts.heloName}`, 'ehlo');
    if (r.code === 250) {
      this.caps = parseEhlo(r);
      this.serverName ||= firstWord(r);
      return;
    }
    const h = await this.command(`HELO ${this.opts.heloName}`, 'ehlo');
    if (h.code !== 250) throw new SmtpSessionError('ehlo', `HELO: ${formatReply(h)}`, h);
    this.serverName ||= firstWord(h);
    this.esmtp = false;
    this.caps = new Map();
  }

  /** STARTTLS (RFC 3207 section 4): handshake, record whether the certificate verifies, EHLO again. */
  private async upgrade(): Promise<void> {
    const r = await this.command('STARTTLS', 'tls');
    if (r.code !== 220) throw new SmtpSessionError('tls', `STARTTLS: ${formatReply(r)}`, r);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    this.lines = [];
    this.buf = '';
    this.unread = 0;
    const sni = this.opts.servername ?? this.opts.hostname;
    const servername = /^[\d.]+$|:/.test(sni) ? undefined : sni;
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const t = tlsConnect({
        socket: plain,
        servername,
        // Opportunistic TLS (RFC 7435): an unverified certificate still encrypts; whether it verified is
        // recorded and decides REQUIRETLS messages.
        rejectUnauthorized: false,
        ca: this.opts.ca?.length ? [...rootCertificates, ...this.opts.ca] : undefined,
        minVersion: 'TLSv1.2',
      });
      const timer = setTimeout(() => {
        t.destroy();
        reject(new SmtpSessionError('tls', 'TLS handshake timed out'));
      }, this.opts.commandTimeoutMs);
      t.once('secureConnect', () => {
        clearTimeout(timer);
        resolve(t);
      });
      t.once('error', (e) => {
        clearTimeout(timer);
        reject(new SmtpSessionError('tls', `TLS handshake: ${e.message}`));
      });
    });
    const cert = tls.getPeerCertificate();
    const identity = cert?.subject ? checkServerIdentity(this.opts.hostname, cert) : new Error('no certificate');
    const verifyError = !tls.authorized ? String(tls.authorizationError) : identity ? identity.message : null;
    this.tls = {
      protocol: tls.getProtocol() ?? '',
      cipher: tls.getCipher()?.name ?? '',
      verified: verifyError === null,
      verifyError,
      chain: presentedChain(tls),
    };
    this.socket = tls;
    this.attach(tls);
    await this.hello();
  }

  /** DATA with dot-stuffing (RFC 5321 section 4.1.1.4): the 354 then the content and its reply. */
  async data(content: Buffer): Promise<Reply> {
    const go = await this.command('DATA', 'io', true);
    if (go.code !== 354) {
      if (go.code >= 400) return go;
      // Only 354 invites the content (RFC 5321 section 4.3.2): a 2xx or other 3xx here did not take the
      // message, whatever it says. Deferred, and the session ends: client and server no longer agree.
      this.failure ??= new SmtpSessionError('io', `unexpected reply to DATA: ${formatReply(go)}`, go);
      return { code: 451, enhanced: '4.5.0', lines: [`unexpected reply to DATA: ${formatReply(go)}`] };
    }
    await this.write(dotStuff(content), 1);
    return this.closing(await this.dataDone());
  }

  /** BDAT (RFC 3030 section 2): the whole message as one LAST chunk, no dot-stuffing. */
  async bdat(content: Buffer): Promise<Reply> {
    await this.write(`BDAT ${content.length} LAST\r\n`, 1);
    await this.write(content);
    return this.closing(await this.dataDone());
  }

  /**
   * Reads the reply to the end of the content with the longer data-done timeout (RFC 5321 section
   * 4.5.3.2.6: the server may be filtering or writing the message; a timeout here duplicates it).
   */
  private dataDone(): Promise<Reply> {
    return this.read('io', Math.max(this.opts.dataDoneTimeoutMs, this.opts.commandTimeoutMs));
  }

  /** Our address on this session (TLS reports name it as the sending MTA). */
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get usable(): boolean {
    return !this.failure && !this.socket.destroyed;
  }

  async quit(): Promise<void> {
    if (!this.usable) return this.close();
    try {
      await this.command('QUIT');
    } catch {}
    this.close();
  }

  close(): void {
    this.fail(new SmtpSessionError('io', 'closed'));
  }
}

/** The peer's certificates as DER, leaf first, following issuers until one repeats (a self-signed root). */
function presentedChain(tls: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let c = tls.getPeerCertificate(true) as DetailedPeerCertificate | undefined;
  while (c?.raw && !seen.has(c.fingerprint256) && out.length < 10) {
    seen.add(c.fingerprint256);
    out.push(c.raw);
    c = c.issuerCertificate;
  }
  return out;
}

/** The first word of a reply's first line: the server's name in a reply to EHLO/HELO. */
function firstWord(r: Reply): string {
  return (r.lines[0] ?? '').trim().split(/[ \t]/)[0].toLowerCase();
}
