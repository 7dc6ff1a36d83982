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

export class SmtpClient {
  private socket: Socket;
  private buf = '';
  private lines: string[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  private readonly opts: ClientOptions;
  greeting!: Reply;
  caps = new Map<string, string[]>();
  tls: TlsState | null = null;
  /** Whether EHLO worked (else HELO: no extensions at all). */
  esmtp = true;

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
    s.setTimeout(this.opts.commandTimeoutMs, () => {
      this.fail(new SmtpSessionError('io', 'timeout waiting for the server'));
      s.destroy();
    });
  }

  private onData(chunk: string) {
    this.buf += chunk;
    let nl = this.buf.indexOf('\n');
    while (nl >= 0) {
      this.lines.push(this.buf.slice(0, nl).replace(/\r$/, ''));
      this.buf = this.buf.slice(nl + 1);
      nl = this.buf.indexOf('\n');
    }
    if (this.buf.length > MAX_LINE) this.fail(new SmtpSessionError('io', 'reply line too long'));
    this.wake();
  }

  private fail(e: Error) {
    this.failure ??= e;
    this.wake();
  }

  private wake() {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  private async nextLine(): Promise<string> {
    for (;;) {
      const l = this.lines.shift();
      if (l !== undefined) return l;
      if (this.failure) throw this.failure;
      await new Promise<void>((r) => {
        this.waiter = r;
      });
    }
  }

  /** Reads one whole reply (its continuation lines included). */
  async read(stage: SessionStage = 'io'): Promise<Reply> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      lines.push(line);
      if (lines.length > MAX_LINES) throw new SmtpSessionError(stage, 'reply has too many lines');
      const m = /^\d{3}(.?)/.exec(line);
      if (!m) throw new SmtpSessionError(stage, new ReplySyntaxError(line).message);
      if (m[1] !== '-') break;
    }
    try {
      return assembleReply(lines);
    } catch (e) {
      throw new SmtpSessionError(stage, (e as Error).message);
    }
  }

  private write(data: string | Buffer): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.socket.write(data)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        if (this.failure) reject(this.failure);
        else resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /** Sends one command line and reads its reply. */
  async command(line: string, stage: SessionStage = 'io'): Promise<Reply> {
    await this.write(`${line}\r\n`);
    return this.closing(await this.read(stage));
  }

  /** A 421 reply means the server is closing the connection (RFC 5321 section 3.8): nothing more to say. */
  private closing(r: Reply): Reply {
    if (r.code === 421) this.failure ??= new SmtpSessionError('io', `server closing: ${formatReply(r)}`, r);
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
    await this.write(lines.map((l) => `${l}\r\n`).join(''));
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
      return;
    }
    const h = await this.command(`HELO ${this.opts.heloName}`, 'ehlo');
    if (h.code !== 250) throw new SmtpSessionError('ehlo', `HELO: ${formatReply(h)}`, h);
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
    plain.setTimeout(0);
    this.lines = [];
    this.buf = '';
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
    const go = await this.command('DATA');
    if (go.code !== 354) {
      if (go.code >= 400) return go;
      // Only 354 invites the content (RFC 5321 section 4.3.2): a 2xx or other 3xx here did not take the
      // message, whatever it says. Deferred, and the session ends: client and server no longer agree.
      this.failure ??= new SmtpSessionError('io', `unexpected reply to DATA: ${formatReply(go)}`, go);
      return { code: 451, enhanced: '4.5.0', lines: [`unexpected reply to DATA: ${formatReply(go)}`] };
    }
    await this.write(dotStuff(content));
    return this.closing(await this.dataDone());
  }

  /** BDAT (RFC 3030 section 2): the whole message as one LAST chunk, no dot-stuffing. */
  async bdat(content: Buffer): Promise<Reply> {
    await this.write(`BDAT ${content.length} LAST\r\n`);
    await this.write(content);
    return this.closing(await this.dataDone());
  }

  /**
   * Reads the reply to the end of the content with the longer data-done timeout (RFC 5321 section
   * 4.5.3.2.6: the server may be filtering or writing the message; a timeout here duplicates it), then
   * goes back to the command timeout.
   */
  private async dataDone(): Promise<Reply> {
    this.socket.setTimeout(Math.max(this.opts.dataDoneTimeoutMs, this.opts.commandTimeoutMs));
    try {
      return await this.read();
    } finally {
      if (!this.socket.destroyed) this.socket.setTimeout(this.opts.commandTimeoutMs);
    }
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
    this.failure ??= new SmtpSessionError('io', 'closed');
    this.socket.destroy();
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
