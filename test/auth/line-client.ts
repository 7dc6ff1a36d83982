// A raw line client for sign-in tests: connect from a chosen loopback address, send a line, read lines.
import { connect, type Socket } from 'node:net';

export class LineClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  closed = false;
  private readonly sock: Socket;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('error', () => {});
  }

  static open(port: number, localAddress = '127.0.0.1'): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, localAddress }, () => resolve(new LineClient(s)));
      s.once('error', reject);
    });
  }

  /** The next line without its CRLF; null when the server closed the connection. */
  async line(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf('\r\n');
      if (i >= 0) {
        const l = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        return l;
      }
      if (this.closed) return null;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** Reads lines until one matches (returned), or the connection closes (null). */
  async until(re: RegExp): Promise<string | null> {
    for (;;) {
      const l = await this.line();
      if (l === null || re.test(l)) return l;
    }
  }

  send(line: string): void {
    this.sock.write(`${line}\r\n`);
  }

  close(): void {
    this.sock.destroy();
  }
}
