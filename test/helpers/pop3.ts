// A raw POP3 client for transcript tests: exact lines and bytes as the server sent them, STLS, implicit TLS.
import { connect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

export class Pop3Client {
  private socket: Socket | TLSSocket;
  /** Received and not yet read: `buf` is a view of `store`, which grows by doubling (a 20 MB RETR is copied
   * a few times, not once per chunk). */
  private store = Buffer.alloc(0);
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private ended = false;
  greeting = '';

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket;
    this.attach();
  }

  private attach() {
    this.socket.on('data', (c: Buffer) => {
      this.append(c);
      this.wake();
    });
    this.socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  private append(c: Buffer) {
    const used = this.buf.byteOffset - this.store.byteOffset + this.buf.length;
    const inStore = this.buf.buffer === this.store.buffer && used + c.length <= this.store.length;
    if (!inStore) {
      const next = Buffer.allocUnsafe(Math.max(2 * (this.buf.length + c.length), 64 * 1024));
      this.buf.copy(next);
      this.store = next;
      this.buf = next.subarray(0, this.buf.length);
    }
    const at = this.buf.byteOffset - this.store.byteOffset + this.buf.length;
    c.copy(this.store, at);
    this.buf = this.store.subarray(this.buf.byteOffset - this.store.byteOffset, at + c.length);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Connects and reads the greeting. */
  static async open(port: number, opts: { tls?: boolean; host?: string } = {}): Promise<Pop3Client> {
    const host = opts.host ?? '127.0.0.1';
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = opts.tls
        ? tlsConnect({ port, host, rejectUnauthorized: false }, () => resolve(s))
        : connect({ port, host }, () => resolve(s));
      s.once('error', reject);
    });
    const c = new Pop3Client(socket);
    c.greeting = await c.line();
    return c;
  }

  /** Waits until `n` bytes are buffered (or the connection ends). */
  private async need(pred: () => boolean, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (this.ended) throw new Error(`connection closed; buffered: ${JSON.stringify(this.buf.toString('latin1'))}`);
      if (Date.now() > deadline) throw new Error(`timeout; buffered: ${JSON.stringify(this.buf.toString('latin1'))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 50);
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The next line, without its CRLF. */
  async line(): Promise<string> {
    await this.need(() => this.buf.indexOf('\r\n') >= 0);
    const i = this.buf.indexOf('\r\n');
    const l = this.buf.subarray(0, i).toString('utf8');
    this.buf = this.buf.subarray(i + 2);
    return l;
  }

  /** Everything up to and including the next CRLF.CRLF terminator (a multi-line body, still stuffed). */
  async untilTerminator(): Promise<Buffer> {
    // Each look starts where the last one stopped (less the terminator's length): a 20 MB response is
    // scanned once, not once per chunk.
    let from = 0;
    const find = () => {
      if (this.buf.subarray(0, 3).equals(Buffer.from('.\r\n'))) return 0;
      const i = this.buf.indexOf('\r\n.\r\n', from);
      if (i < 0) from = Math.max(0, this.buf.length - 4);
      return i;
    };
    await this.need(() => find() >= 0, 60000);
    const i = find();
    const end = i === 0 ? 3 : i + 5;
    const out = this.buf.subarray(0, end);
    this.buf = this.buf.subarray(end);
    return Buffer.from(out);
  }

  /** A multi-line response's lines after the status line, unstuffed, terminator removed. */
  async lines(): Promise<string[]> {
    const body = (await this.untilTerminator()).toString('utf8');
    const lines = body.split('\r\n');
    lines.splice(-2); // "." and the empty string after the last CRLF
    return lines.map((l) => (l.startsWith('.') ? l.slice(1) : l));
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Writes data, then half-closes (FIN after it, shutdown(SHUT_WR) as `nc -N` does); replies still arrive. */
  end(data: string | Buffer): void {
    this.socket.end(data);
  }

  send(line: string): void {
    this.socket.write(`${line}\r\n`);
  }

  /** Sends a command and returns its status line. */
  async cmd(line: string): Promise<string> {
    this.send(line);
    return this.line();
  }

  /** Upgrades to TLS after a +OK to STLS. */
  async startTls(): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: plain as Socket, rejectUnauthorized: false }, () => resolve(s));
      s.once('error', reject);
    });
    this.attach();
  }

  get secure(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted === true;
  }

  /** Resolves when the server has closed the connection. */
  async closed(timeoutMs = 10000): Promise<void> {
    await this.need(() => false, timeoutMs).catch((e) => {
      if (!this.ended) throw e;
    });
  }

  /** Bytes received and not yet read. */
  get pending(): string {
    return this.buf.toString('latin1');
  }

  destroy(): void {
    this.socket.destroy();
  }
}
