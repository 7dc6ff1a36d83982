// One client connection as protocol sessions see it: bounded line/byte reads, backpressured writes,
// STARTTLS upgrade that discards anything read before the handshake, and stream replacement (COMPRESS).
import { isIP, type Socket, SocketAddress } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import type { ServerTls } from './tls.ts';
import { surfaceTlsErrors } from './tls-accept.ts';

export class ConnectionClosedError extends Error {
  constructor() {
    // Every connection ends with one of these: a stack trace would cost more than the rest of it.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super('connection closed');
    Error.stackTraceLimit = limit;
    this.name = 'ConnectionClosedError';
  }
}
export class LineTooLongError extends Error {
  readonly limit: number;
  constructor(limit: number) {
    super(`line longer than ${limit} octets`);
    this.name = 'LineTooLongError';
    this.limit = limit;
  }
}
export class IdleTimeoutError extends Error {
  constructor() {
    super('idle timeout');
    this.name = 'IdleTimeoutError';
  }
}

export interface Line {
  /** The line without its terminator. */
  bytes: Buffer;
  /** True for CRLF; false when the line ended in a bare LF (SMTP smuggling checks need to know). */
  crlf: boolean;
}

type Pending =
  | { kind: 'line'; max: number; resolve: (l: Line) => void; reject: (e: Error) => void }
  | { kind: 'bytes'; n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void }
  | { kind: 'chunk'; max: number; resolve: (b: Buffer) => void; reject: (e: Error) => void };

/** Above this many unread octets the socket is paused until the session reads. */
const HIGH_WATER = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class Connection {
  socket: Socket;
  private input: Readable;
  private output: Writable;
  private buf: Buffer = EMPTY;
  private pending: Pending | null = null;
  private failure: Error | null = null;
  /** Skipping the rest of an over-long line, up to its LF. */
  private skipping = false;
  /** Hung up (hangUp): what still arrives is dropped unread. */
  private hungUp = false;
  private paused = false;
  /** The peer half-closed (FIN, TLS close_notify): nothing more is coming, but what is buffered is read. */
  private eof = false;
  private timeoutMs = 0;
  private readonly onData = (c: Buffer) => this.push(c);
  private readonly onEof = () => {
    this.eof = true;
    this.serve();
  };
  private readonly onEnd = () => this.fail(new ConnectionClosedError());
  private readonly onError = (e: Error) => this.fail(e);
  private readonly onTimeout = () => {
    // Nothing moved either way for the idle time while a reply waits to go out: the peer stopped reading.
    // Our write would wait for a drain forever (holding the session and what it holds, e.g. the POP3
    // maildrop lock), whether in a command or between commands: drop it; a peer that does not read hears
    // no goodbye anyway.
    if (this.socket.writableLength > 0 || this.output.writableLength > 0) {
      this.buf = EMPTY; // what it pipelined is not run for a peer we dropped
      this.socket.destroy();
    } else this.fail(new IdleTimeoutError(), false);
  };
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;

  constructor(socket: Socket, opts: { idleTimeoutMs?: number } = {}) {
    this.socket = socket;
    this.input = socket;
    this.output = socket;
    this.remoteAddress = normaliseAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    socket.setNoDelay(true);
    this.attach();
    socket.on('timeout', this.onTimeout);
    if (opts.idleTimeoutMs) this.setIdleTimeout(opts.idleTimeoutMs);
  }

  get secure(): boolean {
    return this.socket instanceof TLSSocket && this.socket.encrypted === true;
  }

  get closed(): boolean {
    return this.failure !== null || this.socket.destroyed;
  }

  /**
   * Inactivity (no bytes either way) after which the pending read fails with IdleTimeoutError, or, when
   * a write is stuck behind a peer that does not read, the connection is destroyed.
   */
  setIdleTimeout(ms: number): void {
    this.timeoutMs = ms;
    this.socket.setTimeout(ms);
  }

  private attach() {
    this.input.on('data', this.onData);
    this.input.on('end', this.onEof);
    this.input.on('error', this.onError);
    if (this.input !== this.socket) {
      this.socket.on('error', this.onError);
      this.socket.on('close', this.onEnd);
    } else this.socket.on('close', this.onEnd);
  }

  private detach() {
    this.input.off('data', this.onData);
    this.input.off('end', this.onEof);
    this.input.off('error', this.onError);
    this.socket.off('error', this.onError);
    this.socket.off('close', this.onEnd);
  }

  private fail(e: Error, permanent = true) {
    if (permanent && !this.failure) this.failure = e;
    const p = this.pending;
    this.pending = null;
    p?.reject(e);
  }

  private push(chunk: Buffer) {
    if (this.hungUp) return;
    if (this.skipping) {
      const lf = chunk.indexOf(10);
      if (lf < 0) return;
      this.skipping = false;
      chunk = chunk.subarray(lf + 1);
    }
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    if (this.buf.length > HIGH_WATER && !this.paused) {
      this.paused = true;
      this.input.pause();
    }
    this.serve();
  }

  private consume(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    if (this.paused && this.buf.length < HIGH_WATER / 2) {
      this.paused = false;
      this.input.resume();
    }
    return out;
  }

  /**
   * Tries to satisfy the pending read from the buffer. After the peer's FIN, a read the buffer cannot
   * satisfy fails: commands pipelined before the FIN are all read and answered (a script that ends with
   * `QUIT` and shutdown(SHUT_WR), as `nc -N` does), then the session ends and closes our side.
   */
  private serve() {
    this.serveBuffered();
    if (this.pending && this.eof) this.fail(new ConnectionClosedError());
  }

  private serveBuffered() {
    const p = this.pending;
    if (!p) return;
    if (p.kind === 'line') {
      const lf = this.buf.indexOf(10);
      if (lf >= 0) {
        const crlf = lf > 0 && this.buf[lf - 1] === 13;
        const len = crlf ? lf - 1 : lf;
        const raw = this.consume(lf + 1);
        this.pending = null;
        if (len > p.max) p.reject(new LineTooLongError(p.max));
        else p.resolve({ bytes: raw.subarray(0, len), crlf });
      } else if (this.buf.length > p.max + 1) {
        // Over-long and still no LF: drop it and skip to the next LF, so the session can answer and go on.
        this.consume(this.buf.length);
        this.skipping = true;
        this.pending = null;
        p.reject(new LineTooLongError(p.max));
      }
    } else if (p.kind === 'bytes') {
      if (this.buf.length < p.n) return;
      this.pending = null;
      p.resolve(Buffer.from(this.consume(p.n)));
    } else {
      if (this.buf.length === 0) return;
      this.pending = null;
      p.resolve(this.consume(Math.min(p.max, this.buf.length)));
    }
  }

  private request<T>(make: (resolve: (v: T) => void, reject: (e: Error) => void) => Pending): Promise<T> {
    if (this.pending) return Promise.reject(new Error('concurrent read on one connection'));
    return new Promise<T>((resolve, reject) => {
      this.pending = make(resolve, reject);
      this.serve();
      if (this.pending && this.failure) this.fail(this.failure);
    });
  }

  /** The next line, at most `max` octets before its terminator. */
  readLine(max: number): Promise<Line> {
    return this.request((resolve, reject) => ({ kind: 'line', max, resolve, reject }));
  }

  /** Exactly n octets (literals, BDAT chunks held in memory). */
  readBytes(n: number): Promise<Buffer> {
    if (n === 0) return Promise.resolve(EMPTY);
    return this.request((resolve, reject) => ({ kind: 'bytes', n, resolve, reject }));
  }

  /** Whatever is available, 1..max octets (streaming large bodies). */
  readChunk(max: number): Promise<Buffer> {
    return this.request((resolve, reject) => ({ kind: 'chunk', max, resolve, reject }));
  }

  /** Whether a whole line is already buffered: the next readLine answers without waiting (pipelining). */
  get hasLine(): boolean {
    return this.buf.indexOf(10) >= 0;
  }

  /**
   * Puts octets back in front of the unread input: a reader that took a chunk reaching past what it
   * needed (SMTP end of DATA followed by pipelined commands) returns the rest.
   */
  unread(b: Buffer): void {
    if (b.length === 0) return;
    this.buf = this.buf.length === 0 ? b : Buffer.concat([b, this.buf]);
  }

  /** Octets received but not yet read: a client pipelining where it may not (e.g. before STARTTLS). */
  get buffered(): number {
    return this.buf.length;
  }

  /**
   * Writes and, when the peer is not reading, waits for the socket to drain: a client that stops
   * reading stalls its own session instead of growing our memory, until the idle timeout drops it.
   */
  write(data: string | Buffer): Promise<void> {
    // A peer that half-closed (sent FIN after its last command, as mbsync does after LOGOUT) still reads:
    // our side stays open (listener allowHalfOpen) until the session ends it.
    if (this.socket.destroyed || this.output.writableEnded) return Promise.resolve();
    if (this.output.write(data)) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        this.output.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.output.on('drain', done);
      this.socket.on('close', done);
    });
  }

  /**
   * STARTTLS (RFC 3207 section 4, RFC 9051 section 6.2.1, RFC 2595): any plaintext that arrived after the
   * command is discarded, never interpreted after the handshake. Resolves when the handshake is done.
   */
  async startTls(tls: ServerTls, handshakeTimeoutMs = 30000): Promise<void> {
    this.detach();
    this.buf = EMPTY;
    this.skipping = false;
    if (this.paused) {
      this.paused = false;
      this.input.resume();
    }
    const plain = this.socket;
    // The peer may be gone already (it sent STARTTLS and closed, or half-closed, before our 220 went
    // out): no 'close' or 'end' is coming to end the wait below.
    if (plain.destroyed || this.eof) throw new Error('connection closed before the TLS handshake');
    // Only the TLS socket carries the idle timer from here: one left on the plaintext socket would go on
    // with its old (pre-login) value and log a signed-in user out early (RFC 9051 section 5.4).
    plain.setTimeout(0);
    plain.off('timeout', this.onTimeout);
    // The same certificate choice as implicit TLS: the default, or by SNI.
    const secure = new TLSSocket(plain, tls.socketOptions());
    // A fatal TLS error after the handshake (a corrupt record) ends the connection.
    secure.on('error', () => secure.destroy());
    surfaceTlsErrors(secure);
    await new Promise<void>((resolve, reject) => {
      const finish = (e?: Error) => {
        clearTimeout(timer);
        secure.off('close', closed);
        secure.off('end', closed);
        plain.off('close', closed);
        if (e) reject(e);
        else resolve();
      };
      const timer = setTimeout(() => {
        secure.destroy();
        finish(new Error('TLS handshake timeout'));
      }, handshakeTimeoutMs);
      // A peer that closes in mid-handshake ends the sockets, not always with an 'error' on the TLS one:
      // without this the timer and the session would wait out the whole timeout.
      const closed = () => finish(new Error('connection closed during the TLS handshake'));
      secure.once('secure', () => finish());
      secure.once('error', (e) => finish(e));
      secure.once('close', closed);
      secure.once('end', closed); // a FIN (half-open sockets are allowed) ends no handshake by itself
      plain.once('close', closed);
    });
    this.socket = secure;
    this.input = secure;
    this.output = secure;
    this.attach();
    secure.on('timeout', this.onTimeout);
    if (this.timeoutMs) secure.setTimeout(this.timeoutMs);
  }

  /** Replaces the byte streams under the reader and writer (IMAP COMPRESS=DEFLATE). */
  replaceStreams(input: Readable, output: Writable): void {
    this.detach();
    const rest = this.buf;
    this.buf = EMPTY;
    this.input = input;
    this.output = output;
    this.attach();
    if (rest.length) this.push(rest);
  }

  /** Ends the connection after flushing what was written; once is enough, and nothing when it is gone. */
  end(): void {
    if (this.socket.destroyed || this.output.writableEnded) return;
    // A replaced output (COMPRESS) is piped into the socket: ending it flushes its last bytes and the
    // pipe then ends the socket. Ending the socket at once would cut those bytes off.
    if (this.output !== this.socket) this.output.end();
    else this.socket.end();
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /**
   * The end past the shutdown grace period: reads fail from now on and input already here or still coming
   * is dropped (nothing the client sends after our goodbye is acted on: a message it goes on sending is not
   * taken), `lastWords` go out behind whatever is still queued, then the connection ends (under TLS the end
   * is close_notify, then FIN). Reading on keeps the client unblocked and spares it a reset for unread data.
   */
  hangUp(lastWords?: string | Buffer): void {
    this.hungUp = true;
    this.buf = EMPTY;
    this.skipping = false;
    if (this.paused) {
      this.paused = false;
      this.input.resume();
    }
    this.fail(new ConnectionClosedError());
    if (lastWords !== undefined) void this.write(lastWords);
    this.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** '::ffff:127.0.0.1' -> '127.0.0.1': one spelling per address for limits, logs and policy. */
export function normaliseAddress(a: string): string {
  return a.startsWith('::ffff:') && a.includes('.') ? a.slice(7) : a;
}

/**
 * One spelling per address as a person may type it: the RFC 5952 form of an IPv6 address ("2001:DB8::0001"
 * and "2001:db8:0:0:0:0:0:1" are "2001:db8::1"), an IPv4-mapped one as its IPv4 address; the text as given
 * (lower case) when it is not an address.
 */
export function canonicalAddress(ip: string): string {
  const family = isIP(ip);
  if (family === 0) return ip.toLowerCase();
  let a: string;
  try {
    a = new SocketAddress({ address: ip, family: family === 6 ? 'ipv6' : 'ipv4' }).address.toLowerCase();
  } catch {
    a = ip.toLowerCase();
  }
  return normaliseAddress(a);
}

/** The /64 an IPv6 address belongs to: its first four groups + "::/64" ("2001:db8:1:2::/64"). */
export function ipv6Network64(a: string): string {
  // Expand "::" to full groups, keep the first 64 bits.
  const [head, tail = ''] = a.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...new Array(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/**
 * The client an address stands for when counting its abuse (failed sign-ins): an IPv4 address itself, an
 * IPv6 address by its /64, which one host or customer holds whole (SLAAC privacy addresses) and could
 * otherwise rotate through for fresh budgets and to flood the tables (Dovecot's auth penalty masks to /48).
 */
export function clientKey(ip: string): string {
  const a = canonicalAddress(ip);
  return isIP(a) === 6 ? ipv6Network64(a) : a;
}

export function isLoopback(a: string): boolean {
  return a.startsWith('127.') || a === '::1';
}
