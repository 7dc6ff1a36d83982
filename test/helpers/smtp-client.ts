// A raw SMTP client for transcript-style tests: send exact bytes, read whole replies (multi-line aware).
import { connect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export interface SmtpReply {
  code: number;
  /** Text of each line after "NNN-" / "NNN ". */
  lines: string[];
  /** The whole reply as received. */
  raw: string;
}

export class RawSmtp {
  socket: Socket | TLSSocket;
  private buf = '';
  private closed = false;
  private waiters: (() => void)[] = [];

  constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.attach();
  }

  private attach() {
    this.socket.on('data', (d: Buffer) => {
      this.buf += d.toString('utf8');
      this.wake();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /**
   * `localAddress` (plain connections): connect from another loopback address (127.0.0.x), as another client;
   * "::1" connects to the server's ::1 (a listener bound to it). `host`: the server's address otherwise.
   */
  static async open(
    port: number,
    opts: { tls?: boolean; localAddress?: string; host?: string } = {},
  ): Promise<RawSmtp> {
    const host = opts.host ?? (opts.localAddress === '::1' ? '::1' : '127.0.0.1');
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ port, host, rejectUnauthorized: false }, () => resolve(s))
        : connect({ port, host, localAddress: opts.localAddress }, () => resolve(s));
      s.once('error', reject);
    });
    return new RawSmtp(socket);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads one complete reply; rejects on timeout or when the connection closes first. */
  async read(timeoutMs = 5000): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = /^(?:(\d{3})-[^\n]*\n)*?(\d{3}) [^\n]*\n/.exec(this.buf) ?? /^(\d{3})\r?\n/.exec(this.buf);
      if (m) {
        const raw = m[0];
        this.buf = this.buf.slice(raw.length);
        const lines = raw.split('\r\n').filter((l) => l !== '');
        return { code: Number(lines[lines.length - 1].slice(0, 3)), lines: lines.map((l) => l.slice(4)), raw };
      }
      if (this.closed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buf)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no reply within ${timeoutMs} ms; unread: ${JSON.stringify(this.buf)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Sends a command line (CRLF added) and returns its reply. */
  async cmd(line: string, timeoutMs?: number): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /** Sends a command and asserts the reply code (and optionally a text pattern). */
  async expect(code: number, line?: string, pattern?: RegExp): Promise<SmtpReply> {
    const r = line === undefined ? await this.read() : await this.cmd(line);
    if (r.code !== code || (pattern && !pattern.test(r.raw)))
      throw new Error(
        `expected ${code}${pattern ? ` ${pattern}` : ''} for ${JSON.stringify(line)}, got ${JSON.stringify(r.raw)}`,
      );
    return r;
  }

  /** Waits until the server closes the connection. */
  async closedByServer(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('server did not close the connection');
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Upgrades to TLS in place (after a 220 to STARTTLS). */
  async startTls(): Promise<void> {
    const plain = this.socket as Socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.buf = '';
    this.attach();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * One transaction from `ip` (a 127.0.0.x address, or ::1): EHLO, MAIL FROM, each RCPT TO, DATA, and the reply to
 * the message's end; the message is `data` without the final dot. Any earlier refusal fails the test.
 */
export async function transaction(
  port: number,
  t: { ip: string; helo: string; from: string; to: string[]; data: string },
): Promise<SmtpReply> {
  const c = await RawSmtp.open(port, { localAddress: t.ip });
  try {
    await c.expect(220);
    await c.expect(250, `EHLO ${t.helo}`);
    await c.expect(250, `MAIL FROM:<${t.from}>`);
    for (const r of t.to) await c.expect(250, `RCPT TO:<${r}>`);
    await c.expect(354, 'DATA');
    return await c.cmd(`${t.data.endsWith('\r\n') ? t.data : `${t.data}\r\n`}.`, 15000);
  } finally {
    await c.cmd('QUIT').catch(() => {});
  }
}

/**
 * A session past the greeting and EHLO, or null when the server does not answer (a crash test's gap between
 * a kill and the restart; the half-open client is closed).
 */
export async function greetedOrNull(port: number, helo: string): Promise<RawSmtp | null> {
  let c: RawSmtp | undefined;
  try {
    c = await RawSmtp.open(port);
    await c.expect(220);
    await c.expect(250, `EHLO ${helo}`);
    return c;
  } catch {
    c?.close();
    return null;
  }
}
